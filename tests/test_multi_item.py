"""Several products in one checkout (issue 13, item 1): multi-item links from the SDK, the
CLI and the API; UCP cart permalinks; one order with N lines reserved all or nothing; and
analytics that credit each line's product."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton.errors import InvalidLink
from buybutton.tokens import CHECKOUT_LINK_SALT, MAX_LINES, CheckoutLink, LinkSigner
from buybutton.urls import cart_path, parse_cart
from buybutton_server import Settings
from buybutton_server.app import create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, Order
from buybutton_server.domain import analytics, checkout_model, embeds
from buybutton_server.domain.api_keys import create_key
from buybutton_server.errors import ProductUnavailable
from tests.conftest import (
    BASE_URL,
    GOOD_CARD,
    SECRET,
    SHOPPER,
    add_product,
    attempt_key,
    orders,
    path_of,
    product,
)

LOOK = [("MUG-01", 2), ("TEE-M", 1)]


def _mounted(settings: Settings) -> TestClient:
    app = create_app(settings)
    assert any(getattr(r, "path", "") == "/buy/{items}" for r in app.routes), "mounted"
    return TestClient(app, base_url=BASE_URL, follow_redirects=False)


@pytest.fixture
def shop(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    add_product(sessions, stock=10)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=10)
    with _mounted(settings) as client:
        yield client


def _signer() -> LinkSigner:
    return LinkSigner([SECRET])


# -- the SDK ----------------------------------------------------------------------------------


def test_multi_item_links_round_trip_and_old_tokens_still_verify(bb: BuyButton) -> None:
    url = bb.checkout_link(items=LOOK, source="blog", codes=["SPRING10"])
    link = _signer().verify(url.rsplit("/c/", 1)[1])
    assert link.items == (("MUG-01", 2), ("TEE-M", 1)) and link.lines == link.items
    assert (link.sku, link.quantity, link.codes, link.source) == (
        "MUG-01",
        2,
        ("SPRING10",),
        "blog",
    )
    assert link.without_personal_data().items == link.items
    # A token signed before items existed (the old wire format) verifies as it did.
    old = URLSafeSerializer(
        [SECRET], salt=CHECKOUT_LINK_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    ).dumps({"s": "MUG-01", "q": 2, "src": "ig"})
    plain = _signer().verify(old)
    assert (plain.sku, plain.quantity, plain.items, plain.codes) == ("MUG-01", 2, None, None)
    assert plain.lines == (("MUG-01", 2),)
    # One line is the plain single-product link.
    assert _signer().verify(bb.checkout_link(items=[("MUG-01", 3)]).rsplit("/", 1)[1]).items is None
    assert checkout_model.MAX_LINES == MAX_LINES


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ([(f"SKU-{n}", 1) for n in range(MAX_LINES + 1)], "at most 20 lines"),
        ([("MUG-01", 1), ("MUG-01", 2)], "MUG-01 appears more than once"),
        ([("MUG-01", 0), ("TEE-M", 1)], "MUG-01: quantity must be"),
        ([("MUG-01", 1), ("bad sku", 1)], "'bad sku'"),
        ([], "at least one"),
    ],
)
def test_the_sdk_refuses_bad_carts(bb: BuyButton, items: list[tuple[str, int]], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        bb.checkout_link(items=items)


def test_forged_or_inconsistent_item_payloads_are_invalid(bb: BuyButton) -> None:
    with pytest.raises(ValueError, match="min_quantity"):
        CheckoutLink(sku="A", items=(("A", 1), ("B", 1)), max_quantity=5)
    serializer = URLSafeSerializer(
        [SECRET], salt=CHECKOUT_LINK_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    for wire in (
        {"s": "A", "q": 1, "i": [["B", 1], ["A", 1]]},  # sku is not the first line
        {"s": "A", "q": 1, "i": [["A", 1], ["B", "1"]]},
        {"s": "A", "q": 1, "dc": ["no spaces allowed"]},
    ):
        with pytest.raises(InvalidLink):
            _signer().verify(serializer.dumps(wire))
    with pytest.raises(ValueError, match="sku or items"):
        bb.checkout_link("MUG-01", items=LOOK)


def test_permalink_grammar() -> None:
    assert cart_path([("MUG-01", 2), ("gid://x/1", 1)]) == "/buy/MUG-01:2,~Z2lkOi8veC8x:1"
    assert parse_cart("MUG-01:2,~Z2lkOi8veC8x:1") == [("MUG-01", 2), ("gid://x/1", 1)]
    for bad in ("A:0", "A:01", "A:-1", "A", "A:1,", "~Zm9vYh:1", "A B:1", "~AAE:1"):
        with pytest.raises(ValueError, match="line"):
            parse_cart(bad)


# -- CLI and API --------------------------------------------------------------------------------


def test_cli_link_with_several_skus(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    shop: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    assert main(["link", "MUG-01:2", "TEE-M:1", "--source", "blog"]) == 0
    url = capsys.readouterr().out.strip()
    assert _signer().verify(url.rsplit("/", 1)[1]).items == (("MUG-01", 2), ("TEE-M", 1))
    assert main(["link", "MUG-01:2", "NOPE-9:1"]) == 2
    assert "no product NOPE-9" in capsys.readouterr().err
    assert main(["link", "MUG-01:2", "NOPE-9:1", "--offline"]) == 0
    assert capsys.readouterr().out.startswith(BASE_URL + "/c/")
    assert main(["link", "MUG-01:1", "MUG-01:2", "--offline"]) == 2
    assert "more than once" in capsys.readouterr().err
    assert main(["link", "MUG-01:2", "TEE-M:1", "--short"]) == 0  # a short look (0021)
    assert capsys.readouterr().out.startswith(BASE_URL + "/l/")


def test_api_mints_multi_item_links(shop: TestClient, sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        key = create_key(session, "write", "test")[1]
    shop.headers["Authorization"] = f"Bearer {key}"
    body = {"items": [{"sku": "MUG-01", "quantity": 2}, {"sku": "TEE-M"}], "codes": ["SPRING10"]}
    answer = shop.post("/api/v1/links", json=body)
    assert answer.status_code == 201, answer.text
    link = _signer().verify(answer.json()["url"].rsplit("/", 1)[1])
    assert link.items == (("MUG-01", 2), ("TEE-M", 1)) and link.codes == ("SPRING10",)
    unknown = {"items": [{"sku": "MUG-01"}, {"sku": "NOPE"}]}
    assert shop.post("/api/v1/links", json=unknown).status_code == 404
    for wrong in (
        {"sku": "MUG-01", **body},
        {"items": [{"sku": "MUG-01"}, {"sku": "MUG-01"}]},
        {"items": [{"sku": f"S{n}"} for n in range(21)]},
        {**body, "short": True, "expires_in": 60},
    ):
        assert shop.post("/api/v1/links", json=wrong).status_code == 422, wrong


# -- permalinks -------------------------------------------------------------------------------


def test_permalink_redirects_to_a_signed_checkout_and_places_nothing(
    shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    answer = shop.get(
        "/buy/MUG-01:2,TEE-M:1?buyer/email=ana%40example.com&discounts/codes/0=SPRING10"
        "&attribution/utm_source=newsletter&utm_campaign=may&totals/total=1&access_token=x"
    )
    assert answer.status_code == 303
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    location = answer.headers["location"]
    assert location.startswith("/c/") and "access_token" not in location
    link = _signer().verify(location.removeprefix("/c/").split("?")[0])
    assert link.items == (("MUG-01", 2), ("TEE-M", 1))
    assert (link.email, link.codes, link.source, link.campaign) == (
        "ana@example.com",
        ("SPRING10",),
        "newsletter",
        "may",
    )
    assert orders(sessions) == []
    assert product(sessions).reserved == 0 and product(sessions, "TEE-M").reserved == 0
    # One line: the ordinary single-product checkout.
    single = shop.get("/buy/TEE-M:2")
    assert single.status_code == 303
    one = _signer().verify(single.headers["location"].removeprefix("/c/"))
    assert (one.sku, one.quantity, one.items) == ("TEE-M", 2, None)
    assert shop.get("/buy/~TVVHLTAx:1").status_code == 303  # MUG-01 spelled as ~base64


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/buy/MUG-01:1,NOPE-9:1", 404, "Line 2: the shop has no product NOPE-9"),
        ("/buy/" + ",".join(f"S{n}:1" for n in range(21)), 422, "at most 20"),
        ("/buy/MUG-01:0", 400, "line 1"),
        ("/buy/MUG-01:-1", 400, "line 1"),
        ("/buy/MUG-01:1,TEE-M:50", 422, "Line 2: at most 10 of Linen tee per order"),
        ("/buy/MUG-01:1,MUG-01:2", 422, "Line 2: MUG-01 is already line 1"),
        ("/buy/MUG%2D01:1", 400, "percent-encoded"),
        ("/buy/~TVVHLTAx=:1", 400, "not canonical"),
        ("/buy/MUG-01:1?buyer/email=a%40b.co&/buyer/email=c%40d.co", 400, "twice"),
        ("/buy/MUG-01:1?continue_to=/a&continue_to=/b", 400, "continue_to twice"),
    ],
)
def test_permalink_bad_input_gets_a_page_naming_the_line(
    shop: TestClient, sessions: sessionmaker[Session], path: str, status: int, words: str
) -> None:
    answer = shop.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == status, answer.text
    assert words in answer.text.replace("&#39;", "'")
    assert answer.headers["cache-control"] == "no-store"
    assert orders(sessions) == []


def test_continue_to_only_to_this_site_or_an_allowed_origin(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    add_product(sessions)
    settings = Settings(
        secret_keys=(SECRET,),
        database_url=database_url,
        base_url=BASE_URL,
        allowed_origins=("https://blog.example",),
    )
    with _mounted(settings) as shop:

        def back(value: str) -> str | None:
            answer = shop.get("/buy/MUG-01:1", params={"continue_to": value})
            assert answer.status_code == 303
            query = answer.headers["location"].partition("?return=")[2]
            return query or None

        assert back("/shop/../spring") == "http%3A%2F%2Fshop.test%2Fspring"
        assert back("https://blog.example/post-1") == "https%3A%2F%2Fblog.example%2Fpost-1"
        for foreign in (
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "https://blog.example@evil.example/",
            "/a\r\nSet-Cookie: x=1",
        ):
            assert back(foreign) is None, foreign


# -- the checkout and the order -------------------------------------------------------------


def _open_look(shop: TestClient, bb: BuyButton) -> tuple[str, str]:
    path = path_of(bb.checkout_link(items=LOOK, source="blog", content="spring-look"))
    page = shop.get(path)
    assert page.status_code == 200, page.text
    return path, page.text


def test_checkout_page_lists_every_line_and_the_total(shop: TestClient, bb: BuyButton) -> None:
    _, html = _open_look(shop, bb)
    assert html.count('class="cart-line"') == 2
    assert "Stoneware Mug" in html and "Linen tee" in html
    assert 'id="quantity"' not in html  # each line's quantity is fixed
    assert re.search(r'id="total">\$78\.00<', html) and re.search(
        r'id="pay-amount">\$78\.00<', html
    )
    assert (
        'data-total="7800"' in html and 'name="shown_total" id="shown-total" value="7800"' in html
    )
    single = shop.get(path_of(bb.checkout_link("MUG-01"))).text
    assert 'id="quantity"' in single and 'class="cart-line"' not in single


@pytest.mark.parametrize("method", ["card", "wallet"])
def test_paying_places_one_order_with_every_line(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session], method: str
) -> None:
    path, html = _open_look(shop, bb)
    form = {"attempt": attempt_key(html), "method": method, **SHOPPER}
    if method == "card":
        form.update(GOOD_CARD)
    answer = shop.post(path, data=form)
    assert answer.status_code == 303, answer.text
    [order] = orders(sessions)
    with sessions() as session:
        order = session.get(Order, order.id)  # type: ignore[assignment]
        assert order is not None and order.status == "paid"
        lines = [(line.sku, line.quantity, line.total_amount) for line in order.lines]
        assert lines == [("MUG-01", 2, 4800), ("TEE-M", 1, 3000)]
        assert order.total_amount == sum(total for _, _, total in lines) == 7800
    for sku, left in (("MUG-01", 8), ("TEE-M", 9)):
        row = product(sessions, sku)
        assert (row.on_hand, row.reserved) == (left, 0)
    page = shop.get(answer.headers["location"])
    shown = re.sub(r"</?bdi>", "", page.text)  # titles are isolated for right-to-left pages
    assert "2 \u00d7 Stoneware Mug" in shown and "1 \u00d7 Linen tee" in shown


def test_one_line_sold_out_names_it_and_holds_nothing(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    path, html = _open_look(shop, bb)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=0)
    answer = shop.post(path, data={"attempt": attempt_key(html), **SHOPPER, **GOOD_CARD})
    assert answer.status_code == 409
    assert "Sorry, the Linen tee sold out" in answer.text
    assert orders(sessions) == []
    assert product(sessions).reserved == 0  # the mug, reserved first, was rolled back
    again = shop.get(path)
    assert "sold out: Linen tee" in again.text and 'id="checkout"' not in again.text
    # Only some left: the message says how many.
    add_product(sessions, sku="MUG-01", stock=1)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=5)
    short = shop.post(path, data={"attempt": attempt_key(html) + "x", **SHOPPER, **GOOD_CARD})
    assert short.status_code == 409 and "only 1 of the Stoneware Mug left" in short.text
    assert product(sessions, "TEE-M").reserved == 0


def test_a_failed_payment_releases_every_line(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    path, html = _open_look(shop, bb)
    declined = {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}
    answer = shop.post(path, data={"attempt": attempt_key(html), **SHOPPER, **declined})
    assert answer.status_code == 402
    [order] = orders(sessions)
    assert order.status == "failed"
    assert product(sessions).reserved == 0 and product(sessions, "TEE-M").reserved == 0


def test_analytics_credit_revenue_to_each_lines_product(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    path, html = _open_look(shop, bb)
    shop.post(path, data={"attempt": attempt_key(html), **SHOPPER, **GOOD_CARD})
    shop.app.state.analytics.flush(shop.app.state.sessions)  # type: ignore[attr-defined]
    with sessions() as session:
        paid = session.execute(
            select(AnalyticsEvent.sku, func.sum(AnalyticsEvent.amount))
            .where(AnalyticsEvent.kind.in_(("payment_succeeded", "payment_succeeded_line")))
            .group_by(AnalyticsEvent.sku)
            .order_by(AnalyticsEvent.sku)
        ).all()
        clicks = session.scalar(
            select(func.count()).where(
                AnalyticsEvent.kind == "click_line", AnalyticsEvent.sku == "TEE-M"
            )
        )
    assert [tuple(row) for row in paid] == [("MUG-01", 4800), ("TEE-M", 3000)]
    assert clicks == 1
    assert analytics.split_amount(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(analytics.split_amount(999, [4800, 3000])) == 999


def test_shop_the_look_snippet_is_plain_html_with_one_buy(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    html = embeds.make_look_snippet(sessions, bb, LOOK, content="spring-look")
    assert "Stoneware Mug" in html and "Linen tee" in html and "Total $78.00" in html
    assert "<script" not in html and html.count("href=") == 1
    href = re.search(r'href="([^"]+)"', html)
    assert href is not None
    link = _signer().verify(href[1].rsplit("/", 1)[1])
    assert link.items == (("MUG-01", 2), ("TEE-M", 1)) and link.content == "spring-look"
    assert shop.get(path_of(href[1])).status_code == 200
    with pytest.raises(ProductUnavailable, match="NOPE"):
        embeds.make_look_snippet(sessions, bb, [("MUG-01", 1), ("NOPE", 1)])
