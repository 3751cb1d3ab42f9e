"""Merchant login and the snippet builder: KDF-hashed passwords, __Host- session cookie,
CSRF, rate-limited sign-in, and every surface previewed from the catalog."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import AdminSession, AdminUser
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import (
    COOKIE,
    ScryptCost,
    check_password,
    create_admin,
    hash_password,
)
from buybutton_server.errors import InvalidInput
from tests.conftest import SECRET, add_product

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests hash with n=2**14 (about 50 ms) instead of production's n=2**17 (about
    0.5 s) to keep the suite fast; tests/test_admin_hardening.py checks production's cost."""
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> str:
    with write_session(sessions) as session:
        create_admin(session, "Owner@Shop.example", PASSWORD)
    return "owner@shop.example"


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    # Secure cookies travel only over https, as in production.
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> object:
    return client.post(
        "/admin/login", data={"email": email, "password": password}, follow_redirects=False
    )


def test_passwords_are_stored_as_scrypt_hashes(sessions: sessionmaker[Session], admin: str) -> None:
    with sessions() as session:
        user = session.scalar(select(AdminUser))
        assert user is not None
    assert user.password_hash.startswith("scrypt$16384$8$1$")  # cheap_scrypt below
    assert PASSWORD not in user.password_hash
    assert check_password(PASSWORD, user.password_hash)
    assert not check_password(PASSWORD + "x", user.password_hash)
    assert hash_password(PASSWORD) != hash_password(PASSWORD), "salted"
    assert not check_password(PASSWORD, "md5$abc")


def test_weak_or_duplicate_logins_are_refused(sessions: sessionmaker[Session], admin: str) -> None:
    with write_session(sessions) as session, pytest.raises(InvalidInput, match="at least 12"):
        create_admin(session, "new@shop.example", "short")
    with write_session(sessions) as session, pytest.raises(InvalidInput, match="exists already"):
        create_admin(session, "OWNER@shop.example", PASSWORD)


def test_sign_in_sets_a_host_only_secure_session_cookie(
    https_client: TestClient, sessions: sessionmaker[Session], admin: str
) -> None:
    assert https_client.get("/admin/snippets", follow_redirects=False).headers["location"] == (
        "/admin/login?next=%2Fadmin%2Fsnippets"
    )
    answer = sign_in(https_client, admin)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert flag in cookie
    assert "Domain" not in cookie
    token = cookie.split("=", 1)[1].split(";", 1)[0]
    with sessions() as session:
        stored = session.scalar(select(AdminSession.token_hash))
    assert stored is not None and token not in stored, "only a hash of the secret is stored"
    builder = https_client.get("/admin/snippets")
    assert builder.status_code == 200 and admin in builder.text


def test_wrong_password_is_refused_and_sign_in_is_rate_limited(
    https_client: TestClient, admin: str
) -> None:
    for _ in range(10):
        answer = sign_in(https_client, admin, "wrong password!!")
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "do not match" in answer.text  # type: ignore[attr-defined]
    blocked = sign_in(https_client, admin)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked.headers["retry-after"]) > 0  # type: ignore[attr-defined]


def test_a_forged_cookie_gets_nothing(https_client: TestClient, admin: str) -> None:
    https_client.cookies.set(COOKIE, "x" * 43, domain="shop.test")
    assert https_client.get("/admin/snippets", follow_redirects=False).status_code == 303
    assert https_client.get("/admin/preview?sku=MUG-01", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    https_client: TestClient, admin: str
) -> None:
    sign_in(https_client, admin)
    page = https_client.get("/admin/snippets").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert csrf is not None
    refused = https_client.post("/admin/logout", data={"csrf": "0" * 64}, follow_redirects=False)
    assert refused.status_code == 400
    assert https_client.get("/admin/snippets").status_code == 200
    # A cross-site form post is refused before the token is even read.
    cross = https_client.post(
        "/admin/logout",
        data={"csrf": csrf.group(1)},
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    done = https_client.post("/admin/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert done.status_code == 303
    assert https_client.get("/admin/snippets", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("surface", ["button", "card", "email", "video", "social", "qr"])
def test_builder_makes_and_previews_every_surface(
    https_client: TestClient, sessions: sessionmaker[Session], admin: str, surface: str
) -> None:
    add_product(sessions, title='Mug "<i>Deluxe</i>"')
    sign_in(https_client, admin)
    query = (
        f"sku=MUG-01&surface={surface}&label=Get+it&campaign=nov&color=%230a7d4f"
        "&video_src=https%3A%2F%2Fcdn.example%2Fpour.mp4"
    )
    answer = https_client.get(f"/admin/snippets?format=json&{query}").json()
    if surface in ("video", "social", "qr"):  # reading mints nothing: the form's POST does
        assert answer["short_link_needed"] and answer["code"] == ""
        csrf = re.search(
            r'name="csrf" value="([0-9a-f]{64})"', https_client.get("/admin/snippets").text
        )
        assert csrf is not None
        created = https_client.post(
            f"/admin/snippets?{query}", data={"csrf": csrf[1]}, follow_redirects=False
        )
        assert (created.status_code, created.headers["location"]) == (
            303,
            f"/admin/snippets?{query}",
        )
        answer = https_client.get(f"/admin/snippets?format=json&{query}").json()
    assert not answer["short_link_needed"]
    assert answer["preview"] == f"/admin/preview?format=json&{query}"
    assert "<i>" not in answer["code"] or surface == "social"
    page = https_client.get(f"/admin/snippets?{query}")
    assert page.status_code == 200
    assert "&lt;i&gt;" in page.text, "titles are escaped on the builder page too"
    preview = https_client.get(f"/admin/preview?{query}")
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", preview.headers["content-security-policy"])
    assert nonce is not None
    if surface in ("button", "card", "video"):
        assert f'<script nonce="{nonce.group(1)}" async src=' in preview.text


def test_builder_explains_bad_options(https_client: TestClient, admin: str) -> None:
    sign_in(https_client, admin)
    answer = https_client.get("/admin/snippets?format=json&sku=NOPE&surface=button")
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "No product with that sku is for sale."
    bad = https_client.get("/admin/snippets?format=json&sku=NOPE&surface=fax")
    assert "surface must be one of" in bad.json()["error"]["message"]


def test_admin_create_command(settings: Settings, sessions: sessionmaker[Session]) -> None:
    env = {
        "BUYBUTTON_DATABASE_URL": settings.database_url,
        "BUYBUTTON_SECRET_KEYS": SECRET,
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "buybutton.cli", "admin", "create", "ops@shop.example"]
    made = subprocess.run(
        [*command, "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created login ops@shop.example"
    again = subprocess.run(
        [*command, "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "exists already" in again.stderr
    with sessions() as session:
        user = session.scalar(select(AdminUser).where(AdminUser.email == "ops@shop.example"))
        assert user is not None and check_password(PASSWORD, user.password_hash)


def test_builder_options_refuse_bad_values_as_invalid_input() -> None:
    from buybutton_server.services.builder import snippet_options

    options = snippet_options({"surface": "card", "color": "#000000", "at": "3"}, "MUG-01")
    assert (options.sku, options.surface, options.theme, options.at) == (
        "MUG-01",
        "card",
        {"color": "#000000"},
        3.0,
    )
    for query, problem in (
        ({"at": "soon"}, "at must be a number of seconds"),
        ({"surface": "billboard"}, "surface must be one of"),
        ({"label": "x" * 81}, "label must be 1-80 characters"),
    ):
        with pytest.raises(InvalidInput, match=problem):
            snippet_options(query, "MUG-01")


def _style_hashes(html: str) -> set[str]:
    import base64
    import hashlib
    from html import unescape

    html = re.sub(r"<!--.*?-->", "", html, flags=re.DOTALL)
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(unescape(v).encode()).digest()).decode() + "'"
        for v in re.findall(r'\sstyle="([^"]*)"', html)
    }


def test_previews_allow_the_snippets_own_inline_styles_and_video(
    https_client: TestClient, sessions: sessionmaker[Session], admin: str
) -> None:
    """The email button kept none of its inline styles and the video did not load: the
    preview had the admin's policy (style-src 'self', no media-src)."""
    add_product(sessions, image_url="https://cdn.example/mug.jpg")
    sign_in(https_client, admin)
    email = https_client.get("/admin/preview?sku=MUG-01&surface=email")
    policy = dict(
        d.strip().split(" ", 1) for d in email.headers["content-security-policy"].split(";")
    )
    styles = _style_hashes(email.text)
    assert len(styles) >= 4  # the table, the image, two cells, the button
    assert "background:#1f5eff" in email.text
    assert set(policy["style-src"].split()) == {"'self'", "'unsafe-hashes'", *styles}
    assert "'unsafe-inline'" not in email.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "'self'" and policy["default-src"] == "'none'"
    assert "media-src" not in policy
    video_query = "sku=MUG-01&surface=video&video_src=https%3A%2F%2Fcdn.example%2Fv.mp4"
    csrf = re.search(
        r'name="csrf" value="([0-9a-f]{64})"', https_client.get("/admin/snippets").text
    )
    assert csrf is not None
    https_client.post(f"/admin/snippets?{video_query}", data={"csrf": csrf[1]})
    video = https_client.get(f"/admin/preview?{video_query}")
    assert '<video src="https://cdn.example/v.mp4"' in video.text
    assert "media-src 'self' https: http:" in video.headers["content-security-policy"]
    # The builder page itself keeps the strict policy.
    builder = https_client.get("/admin/snippets")
    assert "unsafe-hashes" not in builder.headers["content-security-policy"]


def test_video_fields_show_for_the_video_surface_only(
    https_client: TestClient, sessions: sessionmaker[Session], admin: str
) -> None:
    add_product(sessions)
    sign_in(https_client, admin)
    button = https_client.get("/admin/snippets?sku=MUG-01&surface=button").text
    assert '<fieldset id="video-fields" hidden disabled>' in button
    video = https_client.get(
        "/admin/snippets?sku=MUG-01&surface=video&video_src=https%3A%2F%2Fcdn.example%2Fv.mp4"
    ).text
    assert '<fieldset id="video-fields">' in video


def test_a_video_takes_several_moments(
    https_client: TestClient, sessions: sessionmaker[Session], admin: str
) -> None:
    add_product(sessions)
    add_product(sessions, sku="BAG-01", title="Canvas Bag", price="30.00")
    sign_in(https_client, admin)
    query = (
        "sku=MUG-01&surface=video&video_src=https%3A%2F%2Fcdn.example%2Fv.mp4&at=5&until=20"
        "&moment_sku=BAG-01&moment_at=30&moment_until=45"
        "&moment_sku=MUG-01&moment_at=60&moment_until=75"
        "&moment_sku=&moment_at=0&moment_until=15"
    )
    assert https_client.get(f"/admin/snippets?format=json&{query}").json()["short_link_needed"]
    csrf = re.search(
        r'name="csrf" value="([0-9a-f]{64})"', https_client.get("/admin/snippets").text
    )
    assert csrf is not None
    https_client.post(f"/admin/snippets?{query}", data={"csrf": csrf[1]})
    answer = https_client.get(f"/admin/snippets?format=json&{query}").json()
    assert not answer["short_link_needed"]
    assert re.findall(r'data-buybutton-at="(\d+)"', answer["code"]) == ["5", "30", "60"]
    lines = answer["text"].splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["0:05", "0:30", "1:00"]
    assert "Canvas Bag: http" in lines[1] and lines[0].split()[-1] == lines[2].split()[-1]
    page = https_client.get(f"/admin/snippets?{query}").text
    assert page.count('name="moment_sku"') == 3, "the two moments and one empty row"
    bad = https_client.get(
        "/admin/snippets?format=json&sku=MUG-01&surface=video&video_src=https%3A%2F%2Fx.example%2Fv.mp4"
        "&moment_sku=BAG-01&moment_at=40&moment_until=30"
    )
    assert bad.status_code == 422 and "moment" in bad.json()["error"]["message"]


def test_the_dashboard_formats_zero_revenue_as_money(
    https_client: TestClient, sessions: sessionmaker[Session], admin: str
) -> None:
    add_product(sessions, currency="EUR", price="10.00")
    sign_in(https_client, admin)
    page = https_client.get("/admin/dashboard").text
    assert '<strong id="kpi-revenue">€0.00</strong>' in page
