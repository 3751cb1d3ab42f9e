"""The demo shop's stores (issue 15, item 9): three stores with different stock, the kettle
(sold out online) only at Porto; all offer pickup, Porto takes reservations, Coimbra takes
returns; the blog's pick-up post leads to a checkout that offers Porto."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server.db import write_session
from buybutton_server.db.models import Location, Product
from buybutton_server.domain import locations, pickup
from buybutton_server.domain.admin_auth import create_admin
from tests.test_admin import PASSWORD, cheap_scrypt, https_client, sign_in  # noqa: F401
from tests.test_feeds import SHOP, Demo, demo  # noqa: F401 (the demo shop fixture)

LISBON = (38.7223, -9.1393)


def test_the_demo_has_three_stores_with_their_own_stock(demo: Demo) -> None:  # noqa: F811
    with demo.sessions() as session:
        stores = {
            s.code: s for s in session.scalars(select(Location).where(Location.kind == "store"))
        }
        assert set(stores) == {"LIS-CHIADO", "PORTO-BAIXA", "COIMBRA"}
        assert all(s.pickup_enabled and s.active and not s.ships for s in stores.values())
        reserving = {c for c, s in stores.items() if s.reservations_enabled}
        returning = {c for c, s in stores.items() if s.accepts_returns}
        assert reserving == {"PORTO-BAIXA"} and returning == {"COIMBRA"}
        kettle = session.scalar(select(Product).where(Product.sku == "KETTLE-03"))
        assert kettle is not None
        held = {lv.location: lv.on_hand for lv in locations.levels_of(session, kettle.id)}
        assert {code for code, n in held.items() if n > 0} == {"PORTO-BAIXA"}
        assert kettle.on_hand == 0  # still sold out online: stores do not ship
        # A (Lisbon) is nearest, yet Porto comes first: it has the kettle.
        listed = pickup.pickup_locations(
            session, [(kettle.id, 1)], near=LISBON, now=datetime.now(UTC)
        )
        assert [(s.code, s.in_stock) for s in listed][:2] == [
            ("PORTO-BAIXA", True),
            ("LIS-CHIADO", False),
        ]
    with write_session(demo.sessions) as session:  # a restart seeds nothing twice
        assert locations.seed_demo_stores(session) is False


def test_the_pick_up_post_leads_to_a_checkout_offering_the_store(demo: Demo) -> None:  # noqa: F811
    post = demo.blog.get("/blog/pick-up-today")
    assert post.status_code == 200
    assert "Pick it up today" in post.text and "Porto Baixa" in post.text
    [href] = re.findall(r'class="look-buy" href="([^"]+)"', post.text)
    page = demo.shop.get(href.replace("&amp;", "&").removeprefix(SHOP))
    assert page.status_code == 200, page.text
    choices = re.findall(r'name="fulfilment" value="([^"]+)"', page.text)
    assert "pickup:PORTO-BAIXA" in choices and "reserve:PORTO-BAIXA" in choices
    assert "pickup:LIS-CHIADO" not in choices


def test_the_admin_menu_links_the_counter_for_owner_and_staff(
    https_client: TestClient,  # noqa: F811
    sessions: sessionmaker[Session],
) -> None:
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
        create_admin(session, "staff@shop.example", PASSWORD, role="staff")
    for email in ("owner@shop.example", "staff@shop.example"):
        https_client.cookies.clear()
        sign_in(https_client, email)
        page = https_client.get("/admin/orders")
        assert page.status_code == 200
        assert '<a href="/store"' in page.text and ">Counter<" in page.text
