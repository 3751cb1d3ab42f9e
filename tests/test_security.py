"""Headers and cross-site protections on the hosted checkout."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db.models import Base
from tests.conftest import BASE_URL, GOOD_CARD, SHOPPER, add_product, attempt_key, orders, path_of


def test_pages_carry_a_strict_policy(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    page = client.get(path_of(bb.checkout_link("MUG-01")))
    csp = page.headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"


def test_every_script_carries_this_responses_nonce(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    first, second = client.get(path), client.get(path)
    nonces = []
    for page in (first, second):
        match = re.search(
            r"script-src 'nonce-([A-Za-z0-9_-]{22})' 'strict-dynamic'",
            page.headers["content-security-policy"],
        )
        assert match, page.headers["content-security-policy"]
        scripts = re.findall(r"<script[^>]*>", page.text)
        assert scripts and all(f'nonce="{match[1]}"' in tag for tag in scripts)
        nonces.append(match[1])
    assert nonces[0] != nonces[1]


def test_our_pages_need_no_inline_code(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """The policy forbids inline script and style; the pages must not rely on them."""
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    pages = [client.get(path).text, client.get(path[:-4] + "AAAA").text]
    paid = client.post(path, data={"attempt": attempt_key(pages[0]), **SHOPPER, **GOOD_CARD})
    pages.append(paid.text)
    for html in pages:
        # Data blocks (type="application/json", read by our scripts) are not code.
        assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/json"))[^>]*>', html)
        assert "<style" not in html
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)


def test_cross_site_post_is_refused(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    form = {"attempt": attempt_key(client.get(path).text), **SHOPPER, **GOOD_CARD}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "null"},
    ):
        refused = client.post(path, data=form, headers=headers)
        assert refused.status_code == 403
    assert orders(sessions) == []
    same_origin = client.post(
        path,
        data=form,
        headers={"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same_origin.status_code == 303


def test_order_page_is_private(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    paid = client.post(
        path,
        data={"attempt": attempt_key(client.get(path).text), **SHOPPER, **GOOD_CARD},
        follow_redirects=False,
    )
    receipt = client.get(paid.headers["location"])
    assert receipt.headers["cache-control"] == "no-store"
    assert receipt.headers["referrer-policy"] == "no-referrer"
    assert len(paid.headers["location"].rsplit("/", 1)[1]) >= 22  # unguessable


def test_card_numbers_are_not_stored(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    client.post(path, data={"attempt": attempt_key(client.get(path).text), **SHOPPER, **GOOD_CARD})
    with sessions() as session:
        dump = " ".join(
            str(value)
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table))
            for value in row
        )
    assert "ana@example.com" in dump  # the order is there, so the search means something
    assert "4242" not in dump.replace(" ", "")


def test_only_registered_sites_may_frame_the_embedded_checkout(
    settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from buybutton_server import create_app

    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    registered = replace(
        settings, allowed_origins=("https://blog.example", "https://shop-news.example")
    )
    with TestClient(create_app(registered), base_url=BASE_URL) as client:
        framed = client.get(path + "?embed=1")
        csp = framed.headers["content-security-policy"]
        assert "frame-ancestors https://blog.example https://shop-news.example" in csp
        assert "x-frame-options" not in framed.headers
        plain = client.get(path)
        assert "frame-ancestors 'none'" in plain.headers["content-security-policy"]
        assert plain.headers["x-frame-options"] == "DENY"
    with TestClient(create_app(settings), base_url=BASE_URL) as client:  # none registered
        assert (
            "frame-ancestors 'none'"
            in client.get(path + "?embed=1").headers["content-security-policy"]
        )


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("https://blog.example/2026/pour-over", True),
        ("https://evil.example/phish", False),
        ("javascript:alert(1)", False),
        ("https://blog.example@evil.example/", False),
        ("//blog.example/x", False),
        ("https://blog.example.evil.example/", False),
    ],
)
def test_back_links_lead_only_to_registered_origins(
    given: str, shown: bool, settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace
    from urllib.parse import quote

    from buybutton_server import create_app

    add_product(sessions)
    registered = replace(settings, allowed_origins=("https://blog.example",))
    path = path_of(bb.checkout_link("MUG-01")) + "?return=" + quote(given, safe="")
    with TestClient(create_app(registered), base_url=BASE_URL) as client:
        page = client.get(path).text
        assert ('name="return"' in page) is shown
        form = {"attempt": attempt_key(page), **SHOPPER, **GOOD_CARD, "return": given}
        paid = client.post(path, data=form, follow_redirects=False)
        receipt = client.get(
            paid.headers["location"] + ("" if shown else "?return=" + quote(given, safe=""))
        )
    assert ("Back to blog.example" in receipt.text) is shown
    if not shown:
        assert given not in receipt.text


def test_https_shops_send_hsts(settings, bb: BuyButton, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from buybutton_server import create_app

    add_product(sessions)
    secure = replace(settings, base_url="https://shop.example")
    with TestClient(create_app(secure), base_url="https://shop.example") as client:
        page = client.get(path_of(bb.checkout_link("MUG-01")))
        assert page.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        assert "strict-transport-security" not in client.get("/healthz").headers
