"""Rate limits on payment attempts: per IP, per link, shared by every worker."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.errors import ConfigurationError
from buybutton_server import Settings, create_app
from tests.conftest import (
    BASE_URL,
    DECLINED_CARD,
    SHOPPER,
    add_product,
    attempt_key,
    orders,
    path_of,
)


def attempt(client: TestClient, path: str, **headers: str):  # type: ignore[no-untyped-def]
    key = attempt_key(client.get(path).text)
    return client.post(path, data={"attempt": key, **SHOPPER, **DECLINED_CARD}, headers=headers)


def test_card_testing_from_one_ip_is_stopped(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    limited = replace(settings, rate_limit_pay_ip=(5, 60), rate_limit_pay_link=None)
    with TestClient(create_app(limited), base_url=BASE_URL) as client:
        path = path_of(bb.checkout_link("MUG-01"))
        assert [attempt(client, path).status_code for _ in range(5)] == [402] * 5
        refused = attempt(client, path)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "too many payment attempts" in refused.text and "Nothing was charged" in refused.text
        as_json = attempt(client, path, accept="application/json")
        assert as_json.status_code == 429
        assert as_json.json()["error"]["code"] == "rate_limited"
        assert "retry-after" in as_json.headers
    assert len(orders(sessions)) == 5  # the refused attempts wrote nothing


def test_one_link_is_limited_across_ips(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    limited = replace(settings, rate_limit_pay_ip=None, rate_limit_pay_link=(3, 60))
    app = create_app(limited)
    path = path_of(bb.checkout_link("MUG-01"))
    other_path = path_of(bb.checkout_link("MUG-01", source="other"))
    answers = []
    for n in range(4):
        with TestClient(app, base_url=BASE_URL, client=(f"203.0.113.{n}", 5000)) as client:
            answers.append(attempt(client, path).status_code)
    assert answers == [402, 402, 402, 429]
    with TestClient(app, base_url=BASE_URL) as client:
        assert attempt(client, other_path).status_code == 402  # another link has its own count


def test_limits_are_shared_by_separate_app_processes(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """Two app instances on one database stand in for two worker processes."""
    add_product(sessions)
    limited = replace(settings, rate_limit_pay_ip=(4, 60), rate_limit_pay_link=None)
    path = path_of(bb.checkout_link("MUG-01"))
    with (
        TestClient(create_app(limited), base_url=BASE_URL) as first,
        TestClient(create_app(limited), base_url=BASE_URL) as second,
    ):
        codes = [
            attempt(client, path).status_code for client in (first, second, first, second, first)
        ]
    assert codes == [402, 402, 402, 402, 429]


@pytest.mark.parametrize("raw", ["10", "ten/60", "0/60", "5/0", "5/-1"])
def test_rate_settings_are_checked(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="BUYBUTTON_RATE_LIMIT_PAY_IP must look like"):
        Settings.from_env({"BUYBUTTON_RATE_LIMIT_PAY_IP": raw})


def test_rate_settings_parse() -> None:
    settings = Settings.from_env(
        {"BUYBUTTON_RATE_LIMIT_PAY_IP": "3/120", "BUYBUTTON_RATE_LIMIT_PAY_LINK": "off"}
    )
    assert (settings.rate_limit_pay_ip, settings.rate_limit_pay_link) == ((3, 120), None)


def test_a_burst_across_a_window_boundary_is_still_one_limit(
    sessions: sessionmaker[Session],
) -> None:
    from buybutton_server.db import write_session
    from buybutton_server.domain import rate_limits

    def hit(at: float) -> rate_limits.Verdict:
        with write_session(sessions) as session:
            return rate_limits.hit(session, "k", limit=5, per_seconds=60, now=at)

    base = 1_800_000_000  # a window boundary (divisible by 60)
    assert all(hit(base - 1).allowed for _ in range(5))
    # A fixed window would allow five more at once; the sliding count does not.
    blocked = hit(base + 1)
    assert not blocked.allowed and 1 <= blocked.retry_after <= 60
    # Once most of the previous window has slid away, tries are allowed again.
    assert hit(base + 55).allowed


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_clients_are_keyed_by_address_and_ipv6_by_its_64(address: str, key: str) -> None:
    from buybutton_server.domain.rate_limits import client_key

    assert client_key(address) == key


def test_an_ipv6_client_rotating_inside_its_64_meets_one_limit(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """Before: each of the 2**64 addresses of one subscriber had its own allowance."""
    add_product(sessions)
    limited = replace(settings, rate_limit_pay_ip=(3, 60), rate_limit_pay_link=None)
    app = create_app(limited)
    path = path_of(bb.checkout_link("MUG-01"))
    codes = []
    for n in range(1, 5):
        with TestClient(app, base_url=BASE_URL, client=(f"2001:db8:7:1::{n:x}", 5000)) as client:
            codes.append(attempt(client, path).status_code)
    assert codes == [402, 402, 402, 429]
    with TestClient(app, base_url=BASE_URL, client=("2001:db8:7:2::1", 5000)) as client:
        assert attempt(client, path).status_code == 402  # the next /64 is someone else


def _hold_the_write_lock(sessions: sessionmaker[Session], seconds: float) -> threading.Thread:
    """A long write transaction (a slow payment, say): holds SQLite's write lock."""
    from buybutton_server.db import write_session

    held = threading.Event()

    def hold() -> None:
        with write_session(sessions) as session:
            session.execute(text("UPDATE rate_limit_windows SET hits = hits"))
            held.set()
            time.sleep(seconds)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    held.wait(5)
    return holder


def test_a_refused_beacon_takes_no_write_lock(sessions: sessionmaker[Session]) -> None:
    """Before: every beacon, refused or not, queued for the write lock to count itself, so a
    flood of 429s stood in line with every payment."""
    from buybutton_server.db import write_session
    from buybutton_server.db.models import RateLimitWindow
    from buybutton_server.errors import RateLimited
    from buybutton_server.services import impressions

    now = time.time()
    with write_session(sessions) as session:
        session.add(
            RateLimitWindow(
                key="beacon-ip:198.51.100.9", window_start=int(now // 60 * 60), hits=10_000
            )
        )
    statements: list[str] = []
    engine = sessions.kw["bind"]
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    holder = _hold_the_write_lock(sessions, 2.0)
    try:
        started = time.monotonic()
        with pytest.raises(RateLimited):
            impressions.limit_beacons(sessions, "198.51.100.9")
        waited = time.monotonic() - started
    finally:
        event.remove(engine, "before_cursor_execute", listen)
        holder.join()
    assert waited < 0.5, f"the refused beacon waited {waited:.2f} s for the write lock"
    mine = [s for s in statements if "rate_limit_windows" in s and "hits = hits" not in s]
    assert mine and all(s.lstrip().upper().startswith("SELECT") for s in mine), mine


def test_take_counts_only_what_it_lets_through(sessions: sessionmaker[Session]) -> None:
    from buybutton_server.domain.rate_limits import Rule, take

    rules = [Rule("a", 3, 60), Rule("b", 100, 60)]
    base = 1_800_000_000
    verdicts = [take(sessions, rules, now=base + n) for n in range(6)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False, False]
    with sessions() as session:
        counts = dict(session.execute(text("SELECT key, hits FROM rate_limit_windows")).all())
    assert counts == {"a": 3, "b": 3}, "refused tries wrote nothing, not even on the other rule"
