"""The shop's settings page: identity, policies and allowed origins (owner only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import ShopProfile
from buybutton_server.domain import admin_auth, shop_profile
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.services import shop_profile as profile_service
from tests.conftest import BASE_URL, add_product, path_of

PASSWORD = "correct horse battery staple"
OWNER, CLERK = "owner@shop.example", "clerk@shop.example"
GOOD = {
    "name": "Pour Over Goods",
    "support_email": "Help@PourOver.example",
    "logo_url": "https://cdn.example/logo.png",
    "legal_address": "Pour Over Goods Lda\r\n12 Harbour Street\r\n4000-123 Porto",
    "terms_url": "https://pourover.example/terms",
    "returns_url": "https://pourover.example/returns",
    "privacy_url": "https://pourover.example/privacy",
    "allowed_origins": "https://Blog.example/\nhttps://news.example:443",
}


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def logins(sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        create_admin(session, OWNER, PASSWORD)
        create_admin(session, CLERK, PASSWORD, role="staff")


def _signed_in(settings: Settings, email: str) -> TestClient:
    client = TestClient(create_app(settings), base_url="https://shop.test")
    client.__enter__()
    answer = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 200
    return client


@pytest.fixture
def owner(settings: Settings, logins: None) -> Iterator[TestClient]:
    client = _signed_in(settings, OWNER)
    yield client
    client.__exit__(None, None, None)


def csrf_of(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/admin/account").text)
    assert found is not None
    return found[1]


def rows(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ShopProfile)) or 0


def test_the_owner_saves_the_shops_identity_and_policies(
    owner: TestClient, sessions: sessionmaker[Session]
) -> None:
    page = owner.get("/admin/settings")
    assert page.status_code == 200 and 'value="buybutton shop"' in page.text
    saved = owner.post(
        "/admin/settings", data={"csrf": csrf_of(owner), **GOOD}, follow_redirects=False
    )
    assert saved.headers["location"] == "/admin/settings?notice=saved"
    shown = owner.get(saved.headers["location"]).text
    assert "The shop&#39;s settings were saved." in shown
    assert 'value="Pour Over Goods"' in shown and "12 Harbour Street" in shown
    with sessions() as session:
        identity = shop_profile.identity(session)
        origins = shop_profile.saved_origins(session)
    assert identity == shop_profile.ShopIdentity(
        name="Pour Over Goods",
        support_email="help@pourover.example",
        logo_url="https://cdn.example/logo.png",
        legal_address="Pour Over Goods Lda\n12 Harbour Street\n4000-123 Porto",
        terms_url="https://pourover.example/terms",
        returns_url="https://pourover.example/returns",
        privacy_url="https://pourover.example/privacy",
    )
    assert origins == ("https://blog.example", "https://news.example"), "as browsers send them"
    # Saving again updates the one row.
    owner.post("/admin/settings", data={"csrf": csrf_of(owner), **GOOD, "name": "Renamed"})
    assert rows(sessions) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("logo_url", "http://cdn.example/logo.png", "must be a full https:// address"),
        ("terms_url", "javascript:alert(1)", "must be a full https:// address"),
        ("support_email", "not an email", "not an email address"),
        ("name", "", "1-100 characters"),
        ("allowed_origins", "https://blog.example/posts", "is not an origin"),
        ("allowed_origins", "blog.example", "is not an origin"),
        ("allowed_origins", "https://user@blog.example", "is not an origin"),
    ],
)
def test_bad_fields_are_refused_next_to_the_field(
    owner: TestClient, sessions: sessionmaker[Session], field: str, value: str, message: str
) -> None:
    refused = owner.post("/admin/settings", data={"csrf": csrf_of(owner), **GOOD, field: value})
    assert refused.status_code == 422
    error = re.search(rf'<small class="error" id="err-{field}">([^<]+)</small>', refused.text)
    assert error is not None and message in error[1]
    assert 'aria-describedby="' in refused.text and 'aria-invalid="true"' in refused.text
    assert "Pour Over Goods" in refused.text, "the form keeps what was typed"
    assert rows(sessions) == 0, "nothing written"


def test_staff_cannot_read_or_change_the_settings(
    settings: Settings, logins: None, sessions: sessionmaker[Session]
) -> None:
    clerk = _signed_in(settings, CLERK)
    try:
        assert clerk.get("/admin/settings").status_code == 403
        refused = clerk.post("/admin/settings", data={"csrf": csrf_of(clerk), **GOOD})
        assert refused.status_code == 403
        assert 'href="/admin/settings"' not in clerk.get("/admin/account").text
    finally:
        clerk.__exit__(None, None, None)
    assert rows(sessions) == 0


def test_saving_needs_the_csrf_token(owner: TestClient, sessions: sessionmaker[Session]) -> None:
    assert owner.post("/admin/settings", data=GOOD).status_code == 400
    assert owner.post("/admin/settings", data={"csrf": "0" * 64, **GOOD}).status_code == 400
    cross = owner.post(
        "/admin/settings",
        data={"csrf": csrf_of(owner), **GOOD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    assert rows(sessions) == 0


def test_a_saved_origin_is_allowed_like_the_configured_ones(
    owner: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    """Mirrors test_public_endpoints.test_overlay_is_offered_only_to_registered_origins and
    test_security.test_only_registered_sites_may_frame_the_embedded_checkout."""
    add_product(sessions)
    url = "/api/public/products/MUG-01"
    assert not owner.get(url, headers={"Origin": "https://blog.example"}).json()["overlay"]
    owner.post(
        "/admin/settings",
        data={"csrf": csrf_of(owner), **GOOD, "allowed_origins": "https://blog.example"},
    )
    assert owner.get(url, headers={"Origin": "https://blog.example"}).json()["overlay"]
    assert not owner.get(url, headers={"Origin": "https://evil.example"}).json()["overlay"]
    assert not owner.get(url).json()["overlay"]
    path = path_of(bb.checkout_link("MUG-01"))
    framed = owner.get(path + "?embed=1")
    assert "frame-ancestors https://blog.example" in framed.headers["content-security-policy"]
    back = owner.get(path + "?return=https%3A%2F%2Fblog.example%2Fpost").text
    assert 'name="return"' in back


def test_configured_and_saved_origins_are_merged(
    settings: Settings, logins: None, sessions: sessionmaker[Session]
) -> None:
    configured = replace(settings, allowed_origins=("https://news.example",))
    client = _signed_in(configured, OWNER)
    try:
        page = client.get("/admin/settings").text
        assert "https://news.example" in page, "the configured origins are shown"
        client.post(
            "/admin/settings",
            data={"csrf": csrf_of(client), **GOOD, "allowed_origins": "https://blog.example"},
        )
        add_product(sessions)
        for origin in ("https://news.example", "https://blog.example"):
            answer = client.get("/api/public/products/MUG-01", headers={"Origin": origin})
            assert answer.json()["overlay"], origin
    finally:
        client.__exit__(None, None, None)


def test_other_workers_pick_up_saved_origins_within_the_refresh_time(
    settings: Settings,
    logins: None,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two apps on one database stand for two worker processes: each caches the origins."""
    add_product(sessions)
    url, blog = "/api/public/products/MUG-01", {"Origin": "https://blog.example"}
    clock = [1000.0]
    monkeypatch.setattr(profile_service.time, "monotonic", lambda: clock[0])
    with TestClient(create_app(settings), base_url=BASE_URL) as other_worker:
        assert not other_worker.get(url, headers=blog).json()["overlay"]  # cached: none
        owner = _signed_in(settings, OWNER)
        try:
            owner.post(
                "/admin/settings",
                data={"csrf": csrf_of(owner), **GOOD, "allowed_origins": "https://blog.example"},
            )
            assert owner.get(url, headers=blog).json()["overlay"], "the saving worker: at once"
        finally:
            owner.__exit__(None, None, None)
        clock[0] += profile_service.REFRESH_SECONDS - 1
        assert not other_worker.get(url, headers=blog).json()["overlay"]
        clock[0] += 2
        assert other_worker.get(url, headers=blog).json()["overlay"], "after the refresh time"


def test_production_refuses_plain_http_origins() -> None:
    with pytest.raises(shop_profile.ProfileInvalid) as refused:
        shop_profile.validate(
            {**GOOD, "allowed_origins": "http://blog.example"}, allow_http_origins=False
        )
    assert "https only" in refused.value.context["errors"]["allowed_origins"]
    dev = shop_profile.validate(
        {**GOOD, "allowed_origins": "http://localhost:8001/ http://LOCALHOST:80"},
        allow_http_origins=True,
    )
    assert dev.allowed_origins == ("http://localhost:8001", "http://localhost")


@pytest.mark.parametrize(
    "bad", ["Ana\u2028Shop", "Ana\x85Shop", "Ana\r\nBcc: x@y.z", "Ana\x00", "A\u202eB"]
)
def test_a_name_with_a_line_break_or_control_character_is_refused(
    owner: TestClient, sessions: sessionmaker[Session], bad: str
) -> None:
    """Review F2: the name goes into every email's subject and From header."""
    refused = owner.post("/admin/settings", data={"csrf": csrf_of(owner), **GOOD, "name": bad})
    assert refused.status_code == 422
    error = re.search(r'<small class="error" id="err-name">([^<]+)</small>', refused.text)
    assert error is not None and "one line, without line breaks" in error[1]
    assert rows(sessions) == 0, "nothing written"
    # an emoji with a joiner is a fine name
    shop_profile.validate(
        {**GOOD, "name": "Ana \U0001f469\u200d\U0001f373"}, allow_http_origins=False
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://.",
        "https://a..com",
        "https://-.com",
        "https://a-.com",
        "https://a.com:0",
        "https://localhost",
        "https://shop",
        "https://127.0.0.1",
        "https://10.0.0.8:8443",
        "https://192.168.1.1",
        "https://" + "a" * 64 + ".com",
    ],
)
def test_odd_origins_are_refused_in_production(origin: str) -> None:
    """Review F10."""
    with pytest.raises(shop_profile.ProfileInvalid) as refused:
        shop_profile.validate({**GOOD, "allowed_origins": origin}, allow_http_origins=False)
    assert "is not an origin" in refused.value.context["errors"]["allowed_origins"]


def test_development_still_allows_local_origins_but_not_malformed_ones() -> None:
    dev = shop_profile.validate(
        {
            **GOOD,
            "allowed_origins": "https://localhost:8443 http://127.0.0.1:8001 https://a-b.example",
        },
        allow_http_origins=True,
    )
    assert dev.allowed_origins == (
        "https://localhost:8443",
        "http://127.0.0.1:8001",
        "https://a-b.example",
    )
    for bad in ("https://.", "http://localhost:0", "https://a..b"):
        with pytest.raises(shop_profile.ProfileInvalid):
            shop_profile.validate({**GOOD, "allowed_origins": bad}, allow_http_origins=True)
