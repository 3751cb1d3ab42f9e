"""The snippet builder offers the creator (issue 17 item 2): every surface signs the
creator into its links, short links (social, QR) keep it on the server, and the look too."""

from __future__ import annotations

import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from buybutton.tokens import LinkSigner
from tests.conftest import SECRET
from tests.test_look_snippet import _look, _token, admin, builder, cheap_scrypt  # noqa: F401


def _link_token(code: str) -> str:
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+/c/[^"]+)"', code)]
    assert hrefs, code
    return hrefs[0].rsplit("/c/", 1)[1]


@pytest.mark.parametrize("surface", ["button", "card", "email", "video"])
def test_signed_surfaces_carry_the_creator(builder: TestClient, surface: str) -> None:  # noqa: F811
    query = f"sku=MUG-01&surface={surface}&creator=anna&video_src=https%3A%2F%2Fcdn.example%2Fv.mp4"
    answer = builder.get(f"/admin/snippets?format=json&{query}").json()
    code = answer["code"] or ""
    if surface == "video":
        assert answer["short_link_needed"] or "anna" not in code
        return
    assert LinkSigner([SECRET]).verify(_link_token(code)).creator == "anna"
    assert 'name="creator" value="anna"' in builder.get(f"/admin/snippets?{query}").text


def test_short_links_keep_the_creator_behind_the_code(builder: TestClient) -> None:  # noqa: F811
    query = "sku=MUG-01&surface=social&creator=anna"
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', builder.get("/admin/snippets").text)
    assert csrf is not None
    builder.post(f"/admin/snippets?{query}", data={"csrf": csrf[1]})
    code = builder.get(f"/admin/snippets?format=json&{query}").json()["code"]
    short = re.search(r"/l/([A-Za-z0-9]{10})", code)
    assert short is not None, code
    hop = builder.get(f"/l/{short[1]}", follow_redirects=False)
    token = hop.headers["location"].rsplit("/c/", 1)[1].split("?")[0]
    assert LinkSigner([SECRET]).verify(token).creator == "anna"
    other = "sku=MUG-01&surface=social"
    builder.post(f"/admin/snippets?{other}", data={"csrf": csrf[1]})
    plain = builder.get(f"/admin/snippets?format=json&{other}").json()["code"]
    assert short[1] not in plain, "a link without the creator is another short link"


def test_the_look_carries_the_creator(builder: TestClient) -> None:  # noqa: F811
    query = _look(("MUG-01", "1"), ("TEE-M", "1"), creator="anna")
    code = builder.get(f"/admin/snippets?format=json&{query}").json()["code"]
    assert LinkSigner([SECRET]).verify(_token(code)).creator == "anna"


def test_a_bad_creator_is_refused_with_the_form_kept(builder: TestClient) -> None:  # noqa: F811
    page = builder.get("/admin/snippets?sku=MUG-01&surface=button&creator=%3Cb%3E")
    assert page.status_code in (200, 422)
    assert "<b>" not in page.text and "creator" in page.text.lower()
