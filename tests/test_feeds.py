"""Product feeds for shopping channels (issue 16, item 4): the demo catalog's Google feed
carries every required attribute and each link answers; keys, 304s, availability, the
channels' CSV files, attribution and what each channel leaves out."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings
from buybutton_server.db import make_engine, session_factory
from buybutton_server.runner import build_demo
from buybutton_server.services import feeds
from tests.conftest import add_product, set_stock

G = "{http://base.google.com/ns/1.0}"
SHOP = "http://127.0.0.1:8000"
SECRET = "feeds-test-secret-0123456789abcdef-0123"
GOOGLE_REQUIRED = (
    "id", "title", "description", "link", "image_link", "availability", "price", "brand",
    "condition",
)  # fmt: skip


@dataclass
class Demo:
    shop: TestClient
    blog: TestClient
    settings: Settings
    sessions: sessionmaker[Session]

    def url(self, channel: str, **options: str) -> str:
        full = feeds.feed_url(
            self.sessions, self.settings.secret_keys, self.settings.base_url, channel, **options
        )
        return full.removeprefix(SHOP)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    settings = Settings(
        secret_keys=(SECRET,),
        database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        base_url=SHOP,
    )
    shop_app, blog_app, _, blog_base = build_demo(settings, 8001)
    engine = make_engine(settings.database_url)
    with (
        TestClient(shop_app, base_url=SHOP, follow_redirects=False) as shop,
        TestClient(blog_app, base_url=blog_base) as blog,
    ):
        yield Demo(shop, blog, settings, session_factory(engine))
    engine.dispose()


def _items(xml: str) -> list[dict[str, str]]:
    root = ET.fromstring(xml)
    assert root.tag == "rss" and root.get("version") == "2.0"
    return [
        {child.tag.removeprefix(G): (child.text or "") for child in item}
        for item in root.iter("item")
    ]


def test_the_demo_google_feed_has_every_required_attribute_and_each_link_answers(
    demo: Demo,
) -> None:
    answer = demo.shop.get(demo.url("google"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    items = _items(answer.text)
    assert {item["id"] for item in items} == {
        "DRIPPER-01", "GRINDER-02", "BEANS-GUJI-250", "BEANS-GUJI-1000", "KETTLE-03"
    }  # fmt: skip
    for item in items:
        for name in GOOGLE_REQUIRED:
            assert item.get(name), f"{item['id']} lacks g:{name}"
        assert item.get("gtin") or item.get("mpn")
        assert len(item["id"]) <= 50 and len(item["title"]) <= 150
        assert len(item["description"]) <= 5000
        assert item["availability"] in ("in stock", "out of stock")
        amount, currency = item["price"].split(" ")
        assert currency == "USD" and "." in amount
        link = urlsplit(item["link"])
        assert parse_qs(link.query)["source"] == ["google_shopping"]
        assert demo.shop.get(item["link"].removeprefix(SHOP)).status_code == 200
        image = urlsplit(item["image_link"])  # the demo's pictures are on its blog
        assert demo.blog.get(image.path).status_code == 200
    beans = [item for item in items if item["id"].startswith("BEANS-GUJI")]
    assert {item["item_group_id"] for item in beans} == {"BEANS-GUJI"}


def test_a_repeat_fetch_gets_304_without_the_feed(demo: Demo) -> None:
    url = demo.url("google")
    first = demo.shop.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = demo.shop.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    weak = demo.shop.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    since = demo.shop.get(url, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    stale = demo.shop.get(url, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag


def test_a_sale_changes_availability_and_the_validator(demo: Demo) -> None:
    url = demo.url("google")
    first = demo.shop.get(url)
    set_stock(demo.sessions, "KETTLE-03", on_hand=0)
    after = demo.shop.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    kettle = next(item for item in _items(after.text) if item["id"] == "KETTLE-03")
    assert kettle["availability"] == "out of stock"


def test_a_wrong_key_is_the_same_404_as_a_path_we_do_not_have(demo: Demo) -> None:
    nothing = demo.shop.get("/feeds/nothing-here.xml")
    url = demo.url("google")
    for wrong in (
        url[:-3] + "abc",
        url.split("?")[0],
        url.split("?")[0] + "?key=",
        url.replace("google.xml", "google.csv"),
        url.replace("google.xml", "meta.csv"),  # another channel's key
    ):
        answer = demo.shop.get(wrong)
        assert answer.status_code == 404, wrong
        assert answer.text == nothing.text
        assert "etag" not in answer.headers


def test_rotating_a_key_retires_the_old_url(demo: Demo) -> None:
    old = demo.url("meta")
    new = feeds.rotate_key(
        demo.sessions, demo.settings.secret_keys, demo.settings.base_url, "meta"
    ).removeprefix(SHOP)
    assert new != old
    assert demo.shop.get(old).status_code == 404
    assert demo.shop.get(new).status_code == 200
    assert demo.url("meta") == new


@pytest.mark.parametrize(
    ("channel", "id_column", "source"),
    [("meta", "id", "meta"), ("tiktok", "sku_id", "tiktok"), ("pinterest", "id", "pinterest")],
)
def test_the_csv_feeds(demo: Demo, channel: str, id_column: str, source: str) -> None:
    answer = demo.shop.get(demo.url(channel))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 5
    for row in rows:
        for name in (id_column, "title", "description", "availability", "condition", "price",
                     "link", "image_link"):  # fmt: skip
            assert row[name], f"{row[id_column]} lacks {name}"
        assert parse_qs(urlsplit(row["link"]).query)["source"] == [source]


def test_items_missing_a_required_field_are_left_out_and_listed(demo: Demo) -> None:
    add_product(demo.sessions, sku="NOBRAND-1", title="Plain filter papers",
                description="100 papers", image_url="/media/x.png", gtin="")  # fmt: skip
    add_product(demo.sessions, sku="BARE-1", title="Bare", brand="Brewline")
    ids = {item["id"] for item in _items(demo.shop.get(demo.url("google")).text)}
    assert "NOBRAND-1" not in ids and "BARE-1" not in ids
    pinterest = demo.shop.get(demo.url("pinterest")).text
    assert "NOBRAND-1" in pinterest and "BARE-1" not in pinterest
    left = {(each.channel, each.sku): each.missing for each in feeds.check(
        demo.sessions, demo.settings.base_url)}  # fmt: skip
    assert left[("google", "NOBRAND-1")] == ("brand", "gtin or mpn")
    assert left[("meta", "NOBRAND-1")] == ("brand",)
    assert ("pinterest", "NOBRAND-1") not in left
    assert left[("pinterest", "BARE-1")] == ("description", "image_link")
    assert not any(sku.startswith(("DRIPPER", "KETTLE")) for _, sku in left)


def test_a_feed_in_another_currency_lists_only_exact_prices(demo: Demo) -> None:
    add_product(demo.sessions, sku="EURO-1", title="Euro mug", price="12.50", currency="EUR",
                description="A mug", image_url="/media/m.png", brand="Brewline",
                mpn="EM-1")  # fmt: skip
    items = _items(demo.shop.get(demo.url("google", currency="EUR")).text)
    assert [(item["id"], item["price"]) for item in items] == [("EURO-1", "12.50 EUR")]
    assert demo.shop.get(demo.url("google") + "&currency=EURO").status_code == 422


def test_text_is_escaped_and_cut_to_googles_limits(demo: Demo) -> None:
    add_product(demo.sessions, sku="ODD-1", title="Mug <b>&</b> " + "long " * 35,
                description="Line\x01one </description><x>", image_url="/media/m.png",
                brand="A & B", gtin="4006381333931")  # fmt: skip
    item = next(i for i in _items(demo.shop.get(demo.url("google")).text) if i["id"] == "ODD-1")
    assert item["title"].startswith("Mug <b>&</b> long") and len(item["title"]) <= 150
    assert item["description"] == "Lineone </description><x>"
    assert item["brand"] == "A & B"
