"""The shop's icon: every page links it, and ``/favicon.ico`` answers (issue 11, item 27).

Without them a fresh visit to a checkout logged a 404 for ``/favicon.ico`` in the console."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from tests.conftest import add_product, path_of

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


def _icon_href(html: str) -> str:
    found = ICON_LINK.search(html)
    assert found, "the page links no icon"
    return found.group(1)


def test_checkout_page_links_an_icon_that_is_served(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    page = client.get(path_of(bb.checkout_link("MUG-01")))
    assert page.status_code == 200
    icon = client.get(_icon_href(page.text))
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg") and len(icon.content) < 1024


@pytest.mark.parametrize("path", ["/p/MUG-01", "/p/MUG-01/embed", "/admin/login"])
def test_other_pages_link_the_same_icon(
    client: TestClient, sessions: sessionmaker[Session], path: str
) -> None:
    add_product(sessions)
    page = client.get(path)
    assert page.status_code == 200
    assert _icon_href(page.text).startswith("/static/favicon.svg?v=")


def test_favicon_ico_redirects_to_the_icon_for_a_year(client: TestClient) -> None:
    answer = client.get("/favicon.ico", follow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["location"] == "/static/favicon.svg"
    assert answer.headers["cache-control"] == "public, max-age=31536000"
    followed = client.get("/favicon.ico")
    assert followed.status_code == 200
    assert followed.headers["content-type"].startswith("image/svg+xml")
