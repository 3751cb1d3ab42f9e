"""Issue 15, screenshot finding 2c: the counter shows times in the store's time zone, else
the shop's (MAIN's), else UTC labelled "UTC"; and the "ready" email of a reservation says
how long the store holds it (finding 2b)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.testclient import TestClient

from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage
from buybutton_server.domain import locations
from tests import test_counter
from tests.test_counter import Sessions, Stores, act, pickup_of, place

# The counter's fixtures: the shop with two stores and logins, and store B's clerk.
cheap_scrypt, shop, clerk_b = test_counter.cheap_scrypt, test_counter.shop, test_counter.clerk_b


def ready_since(clerk: TestClient, sessions: Sessions, stores: Stores) -> tuple[str, datetime]:
    order = place(sessions, stores["B"])
    assert act(clerk, "STORE-B", order.number, "ready").status_code == 303
    pickup = pickup_of(sessions, order.id)
    assert pickup is not None and pickup.ready_at is not None
    ready = pickup.ready_at if pickup.ready_at.tzinfo else pickup.ready_at.replace(tzinfo=UTC)
    return clerk.get("/store/STORE-B").text, ready


def set_zone(sessions: Sessions, code: str, zone: str) -> None:
    with write_session(sessions) as session:
        locations.update_location(session, code, {"time_zone": zone})


def test_no_zone_anywhere_shows_utc_labelled(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    page, ready = ready_since(clerk_b, sessions, shop)
    assert f"Ready since {ready:%Y-%m-%d %H:%M} UTC" in page


def test_the_store_zone_then_the_shop_zone(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    set_zone(sessions, "MAIN", "Asia/Tokyo")  # the shop's
    page, ready = ready_since(clerk_b, sessions, shop)
    tokyo = ready.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"Ready since {tokyo:%Y-%m-%d %H:%M}<" in page.replace("</p>", "<")
    set_zone(sessions, "STORE-B", "America/New_York")  # the store's own wins
    page = clerk_b.get("/store/STORE-B").text
    york = ready.astimezone(ZoneInfo("America/New_York"))
    assert f"Ready since {york:%Y-%m-%d %H:%M}" in page and " UTC" not in page


def test_the_ready_email_of_a_reservation_says_how_long_it_is_held(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    set_zone(sessions, "STORE-B", "Europe/Lisbon")
    order = place(sessions, shop["B"], method="reserve")
    assert act(clerk_b, "STORE-B", order.number, "ready").status_code == 303
    with sessions() as session:
        data = json.loads(
            session.scalars(
                select(MailMessage.data).where(MailMessage.kind == "pickup_ready")
            ).one()
        )
    assert order.reserved_until is not None
    until = order.reserved_until.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Lisbon"))
    assert data["held_until"] == f"Held for you until {until:%Y-%m-%d %H:%M}"
    assert data["store"]["name"] == "Store STORE-B"
