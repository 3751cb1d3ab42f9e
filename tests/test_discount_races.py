"""Counting a code's uses (issue 13, item 5): shoppers racing for the last use of a code get
it exactly once, on SQLite and on PostgreSQL; a per-customer limit holds under the same race;
a failed or canceled order gives its use back, once."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import engine_of, write_session
from buybutton_server.db.models import DiscountCode, DiscountRedemption, Order
from buybutton_server.domain.checkout_model import DiscountGrant
from buybutton_server.domain.discount_codes import CodeSpec, create_code
from buybutton_server.domain.discounts import email_hash, evaluate, redeem, release
from buybutton_server.errors import Conflict
from tests.test_discounts import CART

GRANT = DiscountGrant("LAST", "Last one", (100, 0, 0))


def make(sessions: sessionmaker[Session], **fields: object) -> None:
    spec = CodeSpec(**{"code": "LAST", "kind": "percent", "percent_bp": 1000, **fields})  # type: ignore[arg-type]
    with write_session(sessions) as session:
        create_code(session, spec)


def new_order(session: Session, email: str) -> int:
    order = Order(
        public_id=secrets.token_hex(8),
        number="BB-" + secrets.token_hex(4).upper(),
        attempt_key=secrets.token_hex(16),
        status="pending",
        currency="EUR",
        total_amount=900,
        subtotal_amount=1000,
        discount_amount=100,
        email=email,
        name="Shopper",
        payment_provider="test",
    )
    session.add(order)
    session.flush()
    return order.id


def place(sessions: sessionmaker[Session], email: str, start: threading.Barrier) -> str:
    """One shopper's order-placing transaction: the order, then the code's use. With
    PostgreSQL both transactions are open when the codes are counted."""
    inside = engine_of(sessions).dialect.name != "sqlite"  # SQLite queues writers
    if not inside:
        start.wait()
    try:
        with write_session(sessions) as session:
            order_id = new_order(session, email)
            if inside:
                start.wait()
            redeem(session, [GRANT], order_id=order_id, email=email)
        return "redeemed"
    except Conflict as refused:
        return refused.message


def race(sessions: sessionmaker[Session], emails: list[str]) -> list[str]:
    start = threading.Barrier(len(emails))
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=lambda e=e: outcomes.append(place(sessions, e, start)))
        for e in emails
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def state(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        code = session.scalars(select(DiscountCode)).one()
        held = session.scalars(select(DiscountRedemption)).all()
        return code.times_used, len(held), sum(1 for r in held if r.released_at is None)


def test_two_shoppers_race_for_the_last_use(sessions: sessionmaker[Session]) -> None:
    make(sessions, usage_limit=3)
    assert race(sessions, ["a@example.com", "b@example.com"]) == ["redeemed"] * 2
    outcomes = race(sessions, ["c@example.com", "d@example.com"])
    assert sorted(outcomes) == ["This code (LAST) has just been used up.", "redeemed"]
    assert state(sessions) == (3, 3, 3)  # the loser's order was rolled back with it


def test_many_shoppers_exactly_the_limit_redeem(sessions: sessionmaker[Session]) -> None:
    make(sessions, usage_limit=4)
    outcomes = race(sessions, [f"s{n}@example.com" for n in range(10)])
    assert outcomes.count("redeemed") == 4
    assert state(sessions) == (4, 4, 4)
    with sessions() as session:  # the others' orders were rolled back with their code
        assert len(session.scalars(select(Order.id)).all()) == 4


def test_one_customer_racing_with_itself_gets_its_one_use(
    sessions: sessionmaker[Session],
) -> None:
    make(sessions, per_customer_limit=1)
    outcomes = race(sessions, ["Same@Example.com", " same@example.com"])
    assert sorted(outcomes) == ["You have already used code LAST.", "redeemed"]
    assert state(sessions) == (1, 1, 1)
    assert race(sessions, ["other@example.com"]) == ["redeemed"]
    # The next checkout is told before paying, not after.
    with sessions() as session:
        _, [warning] = evaluate(
            session, ["last"], CART, currency="EUR", email="SAME@example.com",
            now=datetime.now(UTC),
        )  # fmt: skip
    assert warning.code == "discount_code_user_ineligible"


def test_no_raw_email_is_kept(sessions: sessionmaker[Session]) -> None:
    make(sessions)
    race(sessions, ["Private@Example.com"])
    with sessions() as session:
        [row] = session.scalars(select(DiscountRedemption)).all()
    assert row.email_hash == email_hash("private@example.com") and len(row.email_hash or "") == 64


def test_release_gives_the_use_back_once(sessions: sessionmaker[Session]) -> None:
    make(sessions, usage_limit=1, per_customer_limit=1)
    assert race(sessions, ["a@example.com"]) == ["redeemed"]
    assert race(sessions, ["a@example.com"]) == ["This code (LAST) has just been used up."]
    with sessions() as session:
        order_id = session.scalars(select(DiscountRedemption.order_id)).one()
    for expected in (1, 0):  # the second release finds nothing to give back
        with write_session(sessions) as session:
            assert release(session, order_id) == expected
    assert state(sessions) == (0, 1, 0)
    assert race(sessions, ["a@example.com"]) == ["redeemed"]  # the same customer, again
    assert state(sessions) == (1, 2, 1)


def test_a_code_disabled_after_pricing_is_refused_when_placing(
    sessions: sessionmaker[Session],
) -> None:
    from buybutton_server.domain.discount_codes import set_active

    make(sessions)
    with write_session(sessions) as session:
        set_active(session, "last", False)
    assert race(sessions, ["a@example.com"]) == ["This code (LAST) is no longer valid."]
    assert state(sessions) == (0, 0, 0)


@pytest.mark.parametrize("limit", [None, 2])
def test_concurrent_releases_give_back_once(
    sessions: sessionmaker[Session], limit: int | None
) -> None:
    make(sessions, usage_limit=limit)
    race(sessions, ["a@example.com", "b@example.com"])
    with sessions() as session:
        order_ids = list(session.scalars(select(DiscountRedemption.order_id)))
    start = threading.Barrier(4)

    def give_back(order_id: int) -> None:
        start.wait()
        with write_session(sessions) as session:
            release(session, order_id)

    threads = [threading.Thread(target=give_back, args=(o,)) for o in order_ids * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state(sessions) == (0, 2, 0)
