"""The local inventory feed (issue 15, item 8): ``/feeds/google-local.xml`` lists each
store's stock with Google's local attributes, behind the feeds' key (a wrong key is the
ordinary 404), with 304s from the validator; ``buybutton feeds url google-local``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.cli import main
from buybutton_server.db import write_session
from buybutton_server.domain import local_feed as rules
from buybutton_server.domain import locations
from buybutton_server.services import local_feed
from tests.conftest import BASE_URL, SECRET
from tests.test_feeds import SHOP, Demo, demo  # noqa: F401 (the demo shop fixture)
from tests.test_pickup import three_stores

G = "{http://base.google.com/ns/1.0}"


def items(xml: str) -> dict[tuple[str, str], dict[str, str]]:
    root = ET.fromstring(xml)
    assert root.tag == "rss"
    found = {}
    for item in root.iter("item"):
        fields = {child.tag.removeprefix(G): child.text or "" for child in item}
        found[(fields["store_code"], fields["id"])] = fields
    return found


def url(demo: Demo) -> str:  # noqa: F811
    full = local_feed.feed_url(demo.sessions, demo.settings.secret_keys, demo.settings.base_url)
    return full.removeprefix(SHOP)


def test_the_demo_feed_lists_each_stores_stock_and_pickup(demo: Demo) -> None:  # noqa: F811
    answer = demo.shop.get(url(demo))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.headers["x-robots-tag"] == "noindex"
    found = items(answer.text)
    kettle = found[("PORTO-BAIXA", "KETTLE-03")]
    assert kettle == {
        "store_code": "PORTO-BAIXA",
        "id": "KETTLE-03",
        "quantity": "2",
        "availability": "in_stock",
        "pickup_method": "buy",
        "pickup_sla": "same_day",
    }
    assert not [key for key in found if key[1] == "KETTLE-03" and key[0] != "PORTO-BAIXA"]
    assert "MAIN" not in {store for store, _ in found}  # a warehouse is not a store
    assert found[("LIS-CHIADO", "DRIPPER-01")]["quantity"] == "3"


def test_a_wrong_key_is_the_ordinary_404_and_a_repeat_gets_304(demo: Demo) -> None:  # noqa: F811
    good = url(demo)
    assert demo.shop.get("/feeds/google-local.xml?key=nope").status_code == 404
    assert demo.shop.get("/feeds/google-local.xml").status_code == 404
    assert demo.shop.get(f"/feeds/google-local.xml?key={'x' * 80}").status_code == 404
    # The product feed's key does not open the local feed.
    from buybutton_server.services import feeds

    google = feeds.feed_url(demo.sessions, demo.settings.secret_keys, SHOP, "google")
    key = google.split("key=")[1]
    assert demo.shop.get(f"/feeds/google-local.xml?key={key}").status_code == 404
    first = demo.shop.get(good)
    again = demo.shop.get(good, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    with write_session(demo.sessions) as session:
        locations.set_stock_at(session, "PORTO-BAIXA", "KETTLE-03", 0)
    changed = demo.shop.get(good, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    kettle = items(changed.text)[("PORTO-BAIXA", "KETTLE-03")]
    assert (kettle["quantity"], kettle["availability"]) == ("0", "out_of_stock")
    assert kettle["pickup_method"] == "not_supported" and "pickup_sla" not in kettle


def test_a_store_without_pickup_or_closed(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)  # D offers no pickup; give it stock, and close C
    with write_session(sessions) as session:
        locations.set_stock_at(session, "D", "MUG-01", 4)
        locations.update_location(session, "C", {"active": False})
    key = local_feed.feed_url(sessions, (SECRET,), BASE_URL).split("key=")[1]
    found = items(client.get(f"/feeds/google-local.xml?key={key}").text)
    assert found[("D", "MUG-01")]["pickup_method"] == "not_supported"
    assert found[("D", "MUG-01")]["availability"] == "in_stock"
    assert found[("B", "MUG-01")]["pickup_method"] == "buy"
    assert not [k for k in found if k[0] == "C"]


@pytest.mark.parametrize(
    ("minutes", "sla"),
    [(0, "same_day"), (120, "same_day"), (720, "same_day"), (721, "next_day"),
     (1440, "next_day"), (1441, "2-day"), (6 * 1440, "6-day"), (6 * 1440 + 1, "multi-week")],
)  # fmt: skip
def test_pickup_sla(minutes: int, sla: str) -> None:
    assert rules.pickup_sla(minutes) == sla


def test_the_feeds_command_prints_and_rotates_the_local_url(
    client: TestClient,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    assert main(["feeds", "url", "google-local"]) == 0
    old = capsys.readouterr().out.strip()
    assert old.startswith(f"{BASE_URL}/feeds/google-local.xml?key=")
    assert client.get(old.removeprefix(BASE_URL)).status_code == 200
    assert main(["feeds", "rotate", "google-local"]) == 0
    new = capsys.readouterr().out.strip()
    assert new != old
    assert client.get(old.removeprefix(BASE_URL)).status_code == 404
    assert client.get(new.removeprefix(BASE_URL)).status_code == 200
