"""Discount codes at checkout (issue 13, item 5): each evaluation rule, the exact sharing of
a fixed amount, the stacking rule, and warnings that point at the code they are about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.domain.allocation import allocate
from buybutton_server.domain.checkout_model import CartLine, CartProduct, Message, Severity
from buybutton_server.domain.discount_codes import CodeSpec, create_code
from buybutton_server.domain.discounts import evaluate
from buybutton_server.errors import Conflict, InvalidInput
from tests.conftest import add_product

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def line(sku: str, unit: int, quantity: int = 1, collection: str | None = None) -> CartLine:
    item = CartProduct(
        product_id=hash(sku) % 1000, sku=sku, title=sku, unit_amount=unit, currency="EUR"
    )
    return CartLine(replace(item, collection=collection), quantity)


CART = (line("MUG-01", 2499, 2), line("TEE-M", 1999, 1, "tees"), line("CAP", 1001, 1))


def make(sessions: sessionmaker[Session], **fields: object) -> None:
    spec = CodeSpec(**{"code": "SAVE", "kind": "percent", "percent_bp": 1000, **fields})  # type: ignore[arg-type]
    with write_session(sessions) as session:
        create_code(session, spec)


def run(
    sessions: sessionmaker[Session],
    codes: list[str],
    lines: tuple[CartLine, ...] = CART,
    *,
    currency: str = "EUR",
    email: str | None = None,
    now: datetime = NOW,
) -> tuple[list[tuple[str, tuple[int, ...], bool]], list[Message]]:
    with sessions() as session:
        grants, messages = evaluate(session, codes, lines, currency=currency, email=email, now=now)
    return [(g.code, g.line_amounts, g.free_shipping) for g in grants], list(messages)


def test_percent_is_rounded_half_up_per_line(sessions: sessionmaker[Session]) -> None:
    make(sessions, percent_bp=1250)  # 12.5 %
    grants, messages = run(sessions, ["save"])
    # 4998 * 0.125 = 624.75 -> 625; 1999 * 0.125 = 249.875 -> 250; 1001 * .125 = 125.125 -> 125
    assert grants == [("SAVE", (625, 250, 125), False)] and messages == []


def test_fixed_is_shared_exactly_and_never_more_than_the_lines(
    sessions: sessionmaker[Session],
) -> None:
    make(sessions, code="TENOFF", kind="fixed", percent_bp=None, amount=1000, currency="EUR")
    make(sessions, code="HUGE", kind="fixed", percent_bp=None, amount=10**6, currency="EUR")
    [(_, amounts, _)], _ = run(sessions, ["tenoff"])
    assert sum(amounts) == 1000 and amounts == (625, 250, 125)
    [(_, amounts, _)], _ = run(sessions, ["huge"])
    assert amounts == tuple(item.subtotal for item in CART)  # every line to zero, not below


@given(
    amount=st.integers(0, 10**7),
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=20),
)
def test_allocation_adds_up_and_stays_within_each_weight(amount: int, weights: list[int]) -> None:
    amount = min(amount, sum(weights))
    shares = allocate(amount, weights)
    assert sum(shares) == (amount if sum(weights) else 0)
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


def test_free_shipping_sets_the_flag_and_takes_nothing_off_lines(
    sessions: sessionmaker[Session],
) -> None:
    make(sessions, code="SHIPFREE", kind="free_shipping", percent_bp=None)
    assert run(sessions, ["shipfree"]) == ([("SHIPFREE", (0, 0, 0), True)], [])


def test_minimum_order_counts_the_lines_in_scope(sessions: sessionmaker[Session]) -> None:
    make(sessions, min_subtotal=9000, currency="EUR")
    grants, [message] = run(sessions, ["SAVE"])
    assert grants == [] and message.code == "discount_code_invalid"
    assert "at least €90.00" in message.content and message.path == "$.discounts.codes[0]"
    grants, messages = run(sessions, ["SAVE"], (*CART, line("BIG", 5000)))
    assert len(grants) == 1 and messages == []


def test_a_code_with_a_currency_works_in_that_currency_only(
    sessions: sessionmaker[Session],
) -> None:
    make(sessions, kind="fixed", percent_bp=None, amount=500, currency="EUR")
    _, [message] = run(sessions, ["SAVE"], currency="USD")
    assert "in EUR only" in message.content


def test_start_and_end(sessions: sessionmaker[Session]) -> None:
    make(sessions, starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=10))
    _, [early] = run(sessions, ["SAVE"])
    assert early.code == "discount_code_invalid" and "valid from 2 December 2026" in early.content
    assert len(run(sessions, ["SAVE"], now=NOW + timedelta(days=2))[0]) == 1
    _, [late] = run(sessions, ["SAVE"], now=NOW + timedelta(days=10))
    assert late.code == "discount_code_expired" and "expired on 11 December 2026" in late.content


def test_product_scope_discounts_only_those_lines(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, sku="CAP", variant_group="hats")
    make(sessions, scope="products", skus=("CAP",))
    assert run(sessions, ["SAVE"])[0] == [("SAVE", (0, 0, 100), False)]
    _, [message] = run(sessions, ["SAVE"], CART[:2])
    assert "does not apply to the items in your cart" in message.content


def test_collection_scope_uses_the_variant_group(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, sku="TEE-M", variant_group="tees")
    make(sessions, kind="fixed", percent_bp=None, amount=5000, currency="EUR",
         scope="collection", collection="tees")  # fmt: skip
    assert run(sessions, ["SAVE"])[0] == [("SAVE", (0, 1999, 0), False)]


def test_codes_are_case_insensitive_and_trimmed(sessions: sessionmaker[Session]) -> None:
    make(sessions, code="Summer-10")
    assert [g[0] for g in run(sessions, ["  summer-10 "])[0]] == ["SUMMER-10"]


def test_unknown_and_malformed_codes_warn_at_their_index(sessions: sessionmaker[Session]) -> None:
    make(sessions)
    grants, messages = run(sessions, ["SAVE", "NOPE", "<script>", ""])
    assert [g[0] for g in grants] == ["SAVE"]
    assert [(m.severity, m.code, m.path) for m in messages] == [
        (Severity.WARNING, "discount_code_invalid", "$.discounts.codes[1]"),
        (Severity.WARNING, "discount_code_invalid", "$.discounts.codes[2]"),
    ]
    assert messages[0].content == "NOPE is not a code we know."
    assert "<script>" not in messages[1].content


def test_stacking_one_order_discount_plus_one_free_shipping(
    sessions: sessionmaker[Session],
) -> None:
    make(sessions)
    make(sessions, code="FIVE", kind="fixed", percent_bp=None, amount=500, currency="EUR")
    make(sessions, code="SHIP", kind="free_shipping", percent_bp=None)
    make(sessions, code="SHIP2", kind="free_shipping", percent_bp=None)
    grants, messages = run(sessions, ["save", "ship", "five", "Save", "ship2"])
    assert [g[0] for g in grants] == ["SAVE", "SHIP"]
    assert [(m.code, m.path) for m in messages] == [
        ("discount_code_combination_disallowed", "$.discounts.codes[2]"),
        ("discount_code_already_applied", "$.discounts.codes[3]"),
        ("discount_code_combination_disallowed", "$.discounts.codes[4]"),
    ]


def test_a_disabled_code_warns(sessions: sessionmaker[Session]) -> None:
    from buybutton_server.domain.discount_codes import set_active

    make(sessions, usage_limit=1)
    with write_session(sessions) as session:
        set_active(session, "save", False)
    assert "no longer valid" in run(sessions, ["SAVE"])[1][0].content


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": "ab"}, "code may use only"),
        ({"percent_bp": 0}, "percentage from 0.01 to 100"),
        ({"percent_bp": 10001}, "percentage from 0.01 to 100"),
        ({"kind": "fixed", "percent_bp": None, "amount": 500}, "needs a currency"),
        ({"kind": "fixed", "percent_bp": None, "currency": "EUR"}, "needs an amount"),
        ({"min_subtotal": 100}, "needs a currency"),
        ({"currency": "XXX", "min_subtotal": 1}, "not an ISO 4217 code"),
        ({"starts_at": NOW, "ends_at": NOW}, "ends_at must be after starts_at"),
        ({"usage_limit": 0}, "usage_limit must be a whole number"),
        ({"scope": "products", "skus": ("NOPE",)}, "no product with sku 'NOPE'"),
        ({"scope": "collection", "collection": "none"}, "no product is in the collection"),
        ({"kind": "bogus", "percent_bp": None}, "kind must be one of"),
    ],
)
def test_bad_codes_are_refused_with_a_message(
    sessions: sessionmaker[Session], fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        make(sessions, **fields)


def test_a_code_exists_once_whatever_its_case(sessions: sessionmaker[Session]) -> None:
    make(sessions, code="save")
    with pytest.raises(Conflict, match="already exists"):
        make(sessions, code="SaVe")
