"""The "shop the look" snippet in the admin snippet builder (issue 13, item 1): several
products with a quantity each, optionally a discount code, as plain HTML with one Buy link
to a signed multi-item link; the builder works as a plain GET form and previews it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import LinkSigner
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import ShortLink
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from tests.conftest import SECRET, add_product
from tests.test_admin import PASSWORD, sign_in


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> str:
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
    return "owner@shop.example"


@pytest.fixture
def builder(
    settings: Settings, sessions: sessionmaker[Session], admin: str
) -> Iterator[TestClient]:
    add_product(sessions, title='Mug "<i>Deluxe</i>"', stock=10)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=10)
    add_product(sessions, sku="CAP-1", title="Cap", price="15.00", stock=10)
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        sign_in(client, admin)
        yield client


def _look(*rows: tuple[str, str], **fields: str) -> str:
    pairs = [("surface", "look")]
    for sku, qty in rows:
        pairs += [("look_sku", sku), ("look_qty", qty)]
    return urlencode(pairs + list(fields.items()))


def _token(html: str) -> str:
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert len(hrefs) == 1, "one Buy link"
    return unescape(hrefs[0]).rsplit("/c/", 1)[1]


def test_look_snippet_links_to_the_chosen_items_and_quantities(
    builder: TestClient, sessions: sessionmaker[Session]
) -> None:
    query = _look(
        ("MUG-01", "2"), ("", "1"), ("TEE-M", "1"), ("CAP-1", "3"),
        content="spring-look", codes="lena10", label="Shop Lena's look",
    )  # fmt: skip
    answer = builder.get(f"/admin/snippets?format=json&{query}")
    assert answer.status_code == 200, answer.text
    code = answer.json()["code"]
    assert "<script" not in code and "Linen tee" in code and "Cap" in code
    assert "&lt;i&gt;" in code, "titles are escaped"
    assert "Shop Lena&#x27;s look" in code or "Shop Lena&#39;s look" in code
    link = LinkSigner([SECRET]).verify(_token(code))
    assert link.items == (("MUG-01", 2), ("TEE-M", 1), ("CAP-1", 3))
    assert link.codes == ("lena10",) and link.content == "spring-look" and link.source == "blog"
    with sessions() as session:  # a signed link: reading the builder writes nothing
        assert session.scalar(select(func.count()).select_from(ShortLink)) == 0


def test_builder_page_without_script_shows_the_look_and_its_preview(builder: TestClient) -> None:
    query = _look(("MUG-01", "2"), ("TEE-M", "1"), codes="LENA10")
    page = builder.get(f"/admin/snippets?{query}")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'<input type="radio" name="surface" value="look" checked>', text)
    assert '<fieldset id="look-fields">' in text, "the look's rows are shown, enabled"
    assert text.count('name="look_sku"') >= 4, "the chosen rows and spare ones"
    assert 'value="LENA10"' in text
    textarea = re.search(r'<textarea id="code"[^>]*>(.*?)</textarea>', text, re.DOTALL)
    assert textarea is not None
    link = LinkSigner([SECRET]).verify(_token(unescape(textarea[1])))
    assert link.items == (("MUG-01", 2), ("TEE-M", 1))
    preview = builder.get(f"/admin/preview?{query}")
    assert preview.status_code == 200 and "Linen tee" in preview.text
    assert "'unsafe-hashes'" in preview.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("rows", "fields", "says"),
    [
        ((), {}, "at least one"),
        ((("MUG-01", "0"),), {}, "quantity must be a whole number"),
        ((("MUG-01", "two"),), {}, "quantity must be a whole number"),
        ((("MUG-01", "1"), ("MUG-01", "2")), {}, "twice"),
        ((("NOPE", "1"),), {}, "NOPE"),
        ((("MUG-01", "1"),), {"codes": "NOT A <CODE>"}, "Discount codes"),
        ((("MUG-01", "1"),), {"content": "bad content!"}, "content"),
    ],
)
def test_builder_explains_a_bad_look_and_keeps_what_was_typed(
    builder: TestClient, rows: tuple[tuple[str, str], ...], fields: dict[str, str], says: str
) -> None:
    query = _look(*rows, **fields)
    answer = builder.get(f"/admin/snippets?format=json&{query}")
    assert answer.status_code == 422 and says in answer.json()["error"]["message"]
    page = builder.get(f"/admin/snippets?{query}")
    assert page.status_code == 422 and says in unescape(page.text)
    for _sku, qty in rows:
        assert f'value="{qty}"' in page.text


def test_too_many_products_in_a_look_are_refused(builder: TestClient) -> None:
    rows = tuple((f"S{n}", "1") for n in range(21))
    answer = builder.get(f"/admin/snippets?format=json&{_look(*rows)}")
    assert answer.status_code == 422
    assert "at most 20" in answer.json()["error"]["message"]


def test_the_single_card_and_button_still_work(builder: TestClient) -> None:
    for surface in ("button", "card"):
        answer = builder.get(f"/admin/snippets?format=json&sku=TEE-M&surface={surface}")
        assert (answer.status_code == 200 and "data-buybutton" in answer.json()["code"]) or (
            "/c/" in answer.json()["code"]
        )
        page = builder.get(f"/admin/snippets?sku=TEE-M&surface={surface}")
        assert f'value="{surface}" checked' in page.text
        assert '<fieldset id="look-fields" hidden disabled>' in page.text
