"""Rate limits on payment attempts: per IP, per link, shared by every worker."""

from __future__ import annotations

from dataclasses import replace

import pytest
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
