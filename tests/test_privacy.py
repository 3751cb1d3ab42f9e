"""Issue 14 item 6: the shopper's data. Export every piece held about an email (API and
command), erase it everywhere in one transaction (then no text column of any table, found by
reflecting the database, holds the address: on SQLite and PostgreSQL), nothing held for an
unknown address, and logs that never print it."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, String, Text, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.commands.privacy import PRIVACY
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    Base,
    Erasure,
    MailMessage,
    Order,
    RateLimitWindow,
    ShortLink,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain import mail
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.mail.transports import FolderTransport
from tests.conftest import (
    BASE_URL,
    DECLINED_CARD,
    GOOD_CARD,
    SECRET,
    SHOPPER,
    add_product,
    attempt_key,
    path_of,
)

EMAIL = SHOPPER["email"]  # ana@example.com
OTHER = {**SHOPPER, "email": "bo@example.com", "name": "Bo Berg", "line1": "9 Quay Road"}


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail-folder"


@pytest.fixture
def settings(database_url: str, mail_dir: Path) -> Settings:
    return Settings(
        secret_keys=(SECRET,),
        database_url=database_url,
        base_url=BASE_URL,
        webhook_seconds=3600,
        mail_dir=str(mail_dir),
    )


@pytest.fixture
def client(settings: Settings) -> Any:
    with TestClient(create_app(settings), base_url=BASE_URL) as test_client:
        yield test_client


def key(sessions: sessionmaker[Session], scope: str) -> dict[str, str]:
    with write_session(sessions) as session:
        return {"Authorization": f"Bearer {create_key(session, scope, 'privacy')[1]}"}


def buy(client: TestClient, bb: BuyButton, shopper: dict[str, str], card: dict[str, str]) -> None:
    path = path_of(bb.checkout_link("MUG-01", source="newsletter"))
    client.cookies.delete("bb_bought")
    page = client.get(path)
    client.post(
        path,
        data={"attempt": attempt_key(page.text), **shopper, **card},
        follow_redirects=False,
    )


def order_of(sessions: sessionmaker[Session], email: str, status: str) -> Order:
    with sessions() as session:
        found = session.scalar(
            select(Order).where(func.lower(Order.email) == email, Order.status == status)
        )
        assert found is not None, (email, status)
        session.expunge(found)
        return found


def hold_the_shopper_everywhere(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    writer: dict[str, str],
) -> Order:
    """Ana's data in every place the shop keeps personal data; Bo's beside it."""
    add_product(sessions, stock=50)
    buy(client, bb, SHOPPER, GOOD_CARD)
    buy(client, bb, SHOPPER, DECLINED_CARD)
    buy(client, bb, OTHER, GOOD_CARD)
    paid = order_of(sessions, EMAIL, "paid")
    # An idempotent API write whose stored answer is the order, email and address included.
    fulfilled = client.post(
        f"/api/v1/orders/{paid.number}/fulfill",
        json={"carrier": "DHL", "tracking_number": "JD0001"},
        headers={**writer, "Idempotency-Key": "ship-ana-1"},
    )
    assert fulfilled.status_code == 200, fulfilled.text
    short = client.post(
        "/api/v1/links",
        json={"sku": "MUG-01", "short": True, "email": EMAIL.upper(), "name": "Ana Lima"},
        headers=writer,
    )
    assert short.status_code == 201, short.text
    mail.send_due(sessions, FolderTransport(Path(settings.mail_dir)), settings)
    with write_session(sessions) as session:
        # The address where no feature puts it yet, upper case: the last sweep finds it.
        session.add(RateLimitWindow(key=f"find:{EMAIL.upper()}", window_start=1, hits=1))
        returns = Base.metadata.tables.get("returns")
        if returns is not None and "note" in returns.c:
            session.execute(
                insert(returns).values(
                    order_id=paid.id,
                    status="requested",
                    reason="damaged",
                    note=f"Broken handle. Ana Lima, {EMAIL}",
                    request_key="r-1",
                    created_at=utcnow(),
                )
            )
        ucp = Base.metadata.tables.get("ucp_checkout_sessions")
        if ucp is not None:
            session.execute(
                insert(ucp).values(
                    public_id="cs_1",
                    status="incomplete",
                    currency="EUR",
                    line_items="[]",
                    buyer=json.dumps({"email": EMAIL, "first_name": "Ana", "last_name": "Lima"}),
                    destination=json.dumps({"street_address": "12 Harbour Street"}),
                    codes="[]",
                    answer=json.dumps({"buyer": {"email": EMAIL, "full_name": "Ana Lima"}}),
                    created_at=utcnow(),
                    updated_at=utcnow(),
                    expires_at=utcnow(),
                )
            )
    return paid


def holding(database_url: str, *needles: str) -> list[str]:
    """``table.column`` of every text column, found by reflecting the database itself, that
    holds any of ``needles`` (case-insensitive)."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    found = []
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for column in table.columns:
                    if not isinstance(column.type, String | Text):
                        continue
                    hit = connection.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(
                            or_(
                                *(
                                    func.lower(column).contains(n.lower(), autoescape=True)
                                    for n in needles
                                )
                            )
                        )
                    )
                    if hit:
                        found.append(f"{table.name}.{column.name}")
    finally:
        engine.dispose()
    return found


def test_export_lists_every_piece_of_data_and_erase_leaves_the_email_nowhere(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    database_url: str,
    mail_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer, reader = key(sessions, "write"), key(sessions, "read")
    paid = hold_the_shopper_everywhere(client, bb, sessions, settings, writer)
    assert "orders.email" in holding(database_url, EMAIL)
    eml_files = list(mail_dir.glob("*.eml"))
    assert eml_files, "the receipts were written to the development folder"

    exported = client.get(
        "/api/v1/privacy/export", params={"email": " Ana@Example.com "}, headers=reader
    )
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert data["held"] is True and data["email"] == EMAIL
    assert sorted(o["status"] for o in data["orders"]) == ["failed", "paid"]
    shown = next(o for o in data["orders"] if o["status"] == "paid")
    assert shown["shipping"]["line1"] == SHOPPER["line1"] and "hold" in shown
    assert shown["attribution"]["source"] == "newsletter"
    assert [link["name"] for link in data["short_links"]] == ["Ana Lima"]
    assert any(e["kind"] == "receipt" and e["to"] == EMAIL for e in data["emails"])
    assert {e["type"] for e in data["webhook_events"]} >= {"order.paid"}
    assert [r["key"] for r in data["idempotency_records"]] == ["ship-ana-1"]
    assert any(r["table"] == "rate_limit_windows" for r in data["other_records"])
    if data["returns"] is not None:
        assert data["returns"][0]["reason"] == "damaged"
    assert "bo@example.com" not in exported.text and "Bo Berg" not in exported.text

    caplog.set_level(logging.INFO, logger="buybutton")
    erased = client.post("/api/v1/privacy/erase", json={"email": EMAIL}, headers=writer)
    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert answer["erased"] is True and answer["counts"]["orders"] == 2
    assert answer["placeholder"].startswith("erased-") and answer["placeholder"].endswith(
        "@invalid"
    )
    assert EMAIL not in erased.text and EMAIL not in caplog.text

    # Found nowhere: every text column of every table, reflected from the database.
    assert holding(database_url, EMAIL) == []
    assert holding(database_url, "12 Harbour Street", "Ana Lima") == []
    left = [path.read_bytes().decode(errors="replace") for path in mail_dir.glob("*.eml")]
    assert len(left) < len(eml_files) and left, "Ana's copies went, Bo's stayed"
    assert not any(EMAIL in text for text in left)

    with sessions() as session:
        kept = session.get(Order, paid.id)
        assert kept is not None
        assert (kept.number, kept.total_amount, kept.status, kept.currency) == (
            paid.number,
            paid.total_amount,
            "paid",
            paid.currency,
        )
        assert (kept.email, kept.name) == (answer["placeholder"], "Erased")
        assert kept.ship_line1 == "[erased]" and kept.ship_country == paid.ship_country
        assert kept.hold_client is None and len(kept.lines) == 1
        assert kept.created_at is not None and kept.paid_at is not None
        bo = session.scalar(select(Order).where(Order.email == "bo@example.com"))
        assert bo is not None and (bo.name, bo.ship_line1) == ("Bo Berg", "9 Quay Road")
        link = session.scalar(select(ShortLink).where(ShortLink.name.is_(None)))
        assert link is not None and (link.email, link.sku) == (None, "MUG-01")
        payloads = " ".join(session.scalars(select(WebhookEvent.payload)))
        assert "bo@example.com" in payloads and answer["placeholder"] in payloads
        receipt = session.scalar(select(MailMessage).where(MailMessage.order_id == paid.id))
        assert receipt is not None and receipt.to_address == answer["placeholder"]
        assert receipt.text_body is None and receipt.status == "sent"
        assert session.scalar(select(func.count()).select_from(Erasure)) == 1
    again = client.get("/api/v1/privacy/export", params={"email": EMAIL}, headers=reader).json()
    assert again["held"] is False and again["orders"] == [] and len(again["erasures"]) == 1


def test_erasing_needs_a_write_key_and_refuses_what_is_not_an_address(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    reader = key(sessions, "read")
    assert (
        client.post("/api/v1/privacy/erase", json={"email": EMAIL}, headers=reader).status_code
        == 403
    )
    assert client.get("/api/v1/privacy/export", params={"email": EMAIL}).status_code == 401
    writer = key(sessions, "write")
    bad = client.post("/api/v1/privacy/erase", json={"email": "not an address"}, headers=writer)
    assert bad.status_code == 422 and "email" in bad.json()["error"]["message"]
    missing = client.get("/api/v1/privacy/export", headers=reader)
    assert missing.status_code == 422


def test_an_unknown_address_has_nothing_held(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    writer = key(sessions, "write")
    answer = client.post(
        "/api/v1/privacy/erase", json={"email": "nobody@example.com"}, headers=writer
    )
    assert answer.status_code == 200
    assert answer.json()["erased"] is False and answer.json()["counts"] == {}
    assert "nothing held" in answer.json()["message"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Erasure)) == 0


def run_privacy(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="buybutton privacy")
    PRIVACY.define(parser)
    return PRIVACY.run(parser.parse_args(list(argv)))


def test_the_command_exports_and_erases(
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in settings.as_environment().items():
        monkeypatch.setenv(name, value)
    add_product(sessions)
    buy(client, bb, SHOPPER, GOOD_CARD)
    capsys.readouterr()
    assert run_privacy("export", EMAIL) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["held"] and exported["orders"][0]["email"] == EMAIL
    assert run_privacy("erase", EMAIL) == 0
    out = capsys.readouterr().out
    assert out.startswith("erased: 1 orders") and EMAIL not in out
    assert holding(database_url, EMAIL) == []
    assert run_privacy("erase", "nobody@example.com") == 0
    assert capsys.readouterr().out.strip() == "nothing held about that address"
    assert run_privacy("erase", "not-an-address") == 2


def test_unpaid_orders_lose_their_personal_data_after_the_retention_period(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], settings: Settings
) -> None:
    from buybutton_server.domain import retention
    from buybutton_server.settings_rules import Retention

    add_product(sessions, stock=50)
    for card in (GOOD_CARD, DECLINED_CARD, DECLINED_CARD, GOOD_CARD):
        buy(client, bb, SHOPPER, card)
    now = utcnow()
    with sessions() as session:
        rows = list(session.scalars(select(Order).order_by(Order.id)))
        paid_old, failed_old, failed_new, pending_old = rows
    with write_session(sessions) as session:
        old = now - timedelta(days=31)
        session.execute(
            update(Order).where(Order.id.in_([paid_old.id, failed_old.id])).values(created_at=old)
        )
        session.execute(
            update(Order)
            .where(Order.id == pending_old.id)
            .values(
                status="pending",
                paid_at=None,
                created_at=old,
                reserved_until=old + timedelta(minutes=15),
            )
        )
        session.execute(
            update(Order)
            .where(Order.id == failed_new.id)
            .values(created_at=now - timedelta(days=29))
        )
    done = retention.prune(sessions, Retention(), now=now)
    assert done.counts["unpaid orders erased"] == 2
    with sessions() as session:
        by_id = {o.id: o for o in session.scalars(select(Order))}
        assert by_id[paid_old.id].email == EMAIL, "paid orders keep their data"
        assert by_id[failed_new.id].email == EMAIL, "not past its period yet"
        for erased in (failed_old.id, pending_old.id):
            assert by_id[erased].email.endswith("@invalid") and by_id[erased].name == "Erased"
            assert by_id[erased].total_amount == by_id[paid_old.id].total_amount
        # The webhook payloads about the erased orders lose the data, the paid one's keep it.
        for event in session.scalars(select(WebhookEvent)):
            order = json.loads(event.payload)["data"]["order"]
            erased = order["number"] in (by_id[failed_old.id].number, by_id[pending_old.id].number)
            assert (order["email"] == EMAIL) is not erased, order["number"]
    assert retention.prune(sessions, Retention(), now=now).counts["unpaid orders erased"] == 0


def test_an_export_address_in_a_query_string_never_reaches_a_log_line() -> None:
    from buybutton_server.logs import redact_path, redact_text

    assert EMAIL not in redact_path(f"/api/v1/privacy/export?email={EMAIL}")
    assert EMAIL not in redact_text(f'GET /api/v1/privacy/export?email={EMAIL} "email": "{EMAIL}"')
