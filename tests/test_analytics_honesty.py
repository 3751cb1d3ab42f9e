"""Honest numbers (issue 11, item 6): the attacks an outside review used to inflate the funnel,
each re-run against the app. Before the fix: a 50-link beacon counted 50 impressions, 3,000
GETs 3,000 clicks, bots and previews counted, a variant switch counted twice, and five declined
cards made six checkouts from one click."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db.models import AnalyticsEvent, utcnow
from buybutton_server.domain import analytics, counting
from tests.conftest import DECLINED_CARD, GOOD_CARD, SHOPPER, add_product, attempt_key, path_of

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Proofpoint URL Defense",
    "Mimecast URL Protect",
    "Barracuda Sentinel (EE)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "",
]
SPECULATIVE = [
    {"Sec-Purpose": "prefetch"},
    {"Sec-Purpose": "prefetch;prerender"},
    {"Purpose": "prefetch"},
    {"X-Moz": "prefetch"},
]
PREVIEWS = [
    {"Referer": "http://shop.test/admin/preview?sku=MUG-01&surface=button"},
    {"X-BuyButton-Preview": "1"},
]


def flush(client: TestClient) -> None:
    client.app.state.analytics.flush(client.app.state.sessions)  # type: ignore[attr-defined]


def counted(sessions: sessionmaker[Session], kind: str) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(AnalyticsEvent).where(AnalyticsEvent.kind == kind)
            )
            or 0
        )


def beacon(client: TestClient, links: list[str], **headers: str) -> int:
    body = '{"impressions": [' + ",".join(f'"{link}"' for link in links) + "]}"
    answer = client.post("/api/public/events", content=body, headers=headers)
    return answer.status_code


def test_a_beacon_listing_one_link_50_times_is_one_impression(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    link = bb.checkout_link("MUG-01", source="blog")
    assert beacon(client, [link] * 50, **{"User-Agent": PHONE}) == 204
    flush(client)
    assert counted(sessions, "impression") == 1  # was 50


def test_3000_gets_of_a_checkout_page_are_one_click(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01", source="newsletter"))
    for _ in range(3000):
        assert client.get(path, headers={"User-Agent": PHONE}).status_code == 200
    flush(client)
    assert counted(sessions, "click") == 1  # was 3,000
    buffer = client.app.state.analytics  # type: ignore[attr-defined]
    assert buffer.not_counted["repeat"] == 2999
    # Another browser, another link: each counts.
    client.get(path, headers={"User-Agent": DESKTOP})
    client.get(path_of(bb.checkout_link("MUG-01", source="video")), headers={"User-Agent": PHONE})
    flush(client)
    assert counted(sessions, "click") == 3


@pytest.mark.parametrize("agent", BOTS)
def test_known_bots_count_nothing(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton, agent: str
) -> None:
    add_product(sessions)
    link = bb.checkout_link("MUG-01", source="blog")
    assert client.get(path_of(link), headers={"User-Agent": agent}).status_code == 200
    assert beacon(client, [link], **{"User-Agent": agent}) == 204
    flush(client)
    assert (counted(sessions, "click"), counted(sessions, "impression")) == (0, 0)
    assert client.app.state.analytics.not_counted["bot"] == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("headers", SPECULATIVE + PREVIEWS)
def test_prefetches_and_the_builders_previews_count_nothing(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton, headers: dict[str, str]
) -> None:
    add_product(sessions)
    link = bb.checkout_link("MUG-01", source="blog")
    client.get(path_of(link), headers={"User-Agent": DESKTOP, **headers})
    beacon(client, [link], **{"User-Agent": DESKTOP, **headers})
    flush(client)
    assert (counted(sessions, "click"), counted(sessions, "impression")) == (0, 0)


def test_a_variant_switch_is_not_a_second_click(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions, sku="TEE-M", title="Tee M", variant_group="TEE", variant_label="M")
    add_product(sessions, sku="TEE-S", title="Tee S", variant_group="TEE", variant_label="S")
    path = path_of(bb.checkout_link("TEE-M", source="instagram"))
    client.get(path, headers={"User-Agent": PHONE})
    switched = client.get(path + "?variant=TEE-S", headers={"User-Agent": PHONE})
    assert switched.status_code == 200 and "Tee S" in switched.text
    flush(client)
    assert counted(sessions, "click") == 1  # was 2


def test_declined_cards_do_not_make_checkouts_exceed_clicks(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions, stock=10)
    path = path_of(bb.checkout_link("MUG-01", source="email", campaign="spring"))
    page = client.get(path, headers={"User-Agent": PHONE})
    for card in [DECLINED_CARD] * 5 + [GOOD_CARD]:
        form = {"attempt": attempt_key(page.text), **SHOPPER, **card}
        page = client.post(path, data=form, headers={"User-Agent": PHONE})
    flush(client)
    result = analytics.report(sessions, utcnow() - timedelta(hours=1), utcnow() + timedelta(1))
    totals = result.totals
    assert (totals.clicks, totals.checkouts, totals.failed, totals.paid) == (1, 1, 5, 1)
    # was clicks 1, checkouts 6
    # Another shopper through the same link is another checkout.
    client.cookies.delete("bb_bought")  # another browser (item 8)
    other = client.get(path, headers={"User-Agent": DESKTOP})
    form = {"attempt": attempt_key(other.text), **SHOPPER, "email": "bo@example.com"}
    client.post(path, data={**form, **GOOD_CARD}, headers={"User-Agent": DESKTOP})
    flush(client)
    again = analytics.report(sessions, utcnow() - timedelta(hours=1), utcnow() + timedelta(1))
    assert (again.totals.clicks, again.totals.checkouts, again.totals.paid) == (2, 2, 2)


def test_the_window_ends_and_ipv6_clients_are_grouped_by_64() -> None:
    seen = counting.RecentlySeen(window=60, limit=3)
    assert seen.first_time(b"a", now=0) and not seen.first_time(b"a", now=59)
    assert seen.first_time(b"a", now=61), "a new window counts again"
    for key in (b"b", b"c", b"d"):
        seen.first_time(key, now=62)
    assert len(seen) == 3, "bounded: the oldest keys go first"
    one = counting.client_key("2001:db8:1:2:aaaa::1", PHONE)
    assert one == counting.client_key("2001:db8:1:2:ffff::9", PHONE)
    assert one != counting.client_key("2001:db8:1:3::1", PHONE)
    assert one != counting.client_key("2001:db8:1:2:aaaa::1", DESKTOP)
    assert counting.client_key("::ffff:192.0.2.7", PHONE) == counting.client_key("192.0.2.7", PHONE)
    assert counting.not_counted({"user-agent": PHONE}) is None
    assert counting.not_counted({"user-agent": "CUBOT X19 Build/O11019"}) is None


def test_the_dashboard_shows_the_bot_filtered_funnel(
    settings,  # type: ignore[no-untyped-def]
    sessions: sessionmaker[Session],
    bb: BuyButton,
) -> None:
    from buybutton_server import create_app
    from buybutton_server.db import write_session
    from buybutton_server.domain.admin_auth import create_admin

    add_product(sessions)
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", "correct horse battery")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        path = path_of(bb.checkout_link("MUG-01", source="blog"))
        for agent in (PHONE, PHONE, BOTS[0], BOTS[7]):
            client.get(path, headers={"User-Agent": agent})
        client.get(path, headers={"User-Agent": DESKTOP, "Sec-Purpose": "prefetch"})
        client.post(
            "/admin/login",
            data={"email": "owner@shop.example", "password": "correct horse battery"},
        )
        page = client.get("/admin/dashboard")
    assert page.status_code == 200
    assert '<strong id="kpi-clicks">1</strong>' in page.text
    assert '<dd id="not-counted-bot">2</dd>' in page.text
    assert '<dd id="not-counted-prefetch">1</dd>' in page.text
    assert '<dd id="not-counted-repeat">1</dd>' in page.text


def test_the_first_touch_cookie_in_the_overlay_is_cross_site_over_https() -> None:
    def cookie(*, secure: bool, embedded: bool) -> str:
        return analytics.set_cookie_header("v", secure=secure, embedded=embedded)[1].decode()

    assert cookie(secure=True, embedded=True).endswith("SameSite=None; Secure; Partitioned")
    assert cookie(secure=True, embedded=False).endswith("SameSite=lax; Secure")
    # Plain http (development): browsers refuse SameSite=None without Secure; stay Lax.
    assert cookie(secure=False, embedded=True).endswith("HttpOnly; SameSite=lax")


def test_the_overlay_page_sets_a_partitioned_cookie(
    settings,  # type: ignore[no-untyped-def]
    sessions: sessionmaker[Session],
) -> None:
    from dataclasses import replace

    from buybutton_server import create_app

    add_product(sessions)
    secure = replace(
        settings, base_url="https://shop.test", allowed_origins=("https://blog.example",)
    )
    link = BuyButton(secret_keys=list(secure.secret_keys), base_url=secure.base_url)
    path = link.checkout_link("MUG-01", source="blog").removeprefix("https://shop.test")
    with TestClient(create_app(secure), base_url="https://shop.test") as client:
        top = client.get(path, headers={"User-Agent": DESKTOP})
        client.cookies.clear()
        framed = client.get(path + "?embed=1", headers={"User-Agent": DESKTOP})
    assert top.headers["set-cookie"].endswith("HttpOnly; SameSite=lax; Secure")
    assert framed.headers["set-cookie"].endswith("SameSite=None; Secure; Partitioned")
    assert "https://blog.example" in framed.headers["content-security-policy"]
