"""Security review (s21) of the UCP endpoint: each test performs an attack.

- Agents naming slow hosts in ``UCP-Agent`` must not hold every worker thread: profile
  fetches under way at once are capped, the rest refused at once (503).
- A body (or a platform profile) nested deeper than Python's JSON decoder recurses is a 400
  (a 422 for a profile), not a server error.
- A profile URL refused by the SSRF guard says the same whatever the reason, so the endpoint
  is no oracle of which internal names resolve, and to what.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from starlette.testclient import TestClient

from buybutton_server.domain import ucp_profiles
from buybutton_server.domain.ucp_profiles import NegotiationFailed, ProfileCache
from buybutton_server.services import ucp
from tests.test_ucp import BUYER, LINES, Platform, platform, platform_profile, shop  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def test_slow_profile_hosts_cannot_take_every_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ProfileCache()
    release = threading.Event()
    started: list[str] = []
    refused: list[int] = []
    lock = threading.Lock()

    def silent_host(url: str, **_: object) -> bytes:  # a host that answers nothing for long
        with lock:
            started.append(url)
        release.wait(10)
        raise NegotiationFailed(424, "profile_unreachable", "too slow")

    monkeypatch.setattr(ucp_profiles, "fetch_profile", silent_host)

    def attack(n: int) -> None:
        header = f'profile="https://tarpit{n}.example/.well-known/ucp"'
        try:
            ucp.negotiate(cache, header, allow_private=False, ports=(443,))
        except NegotiationFailed as failed:
            if failed.status == 503:
                with lock:
                    refused.append(n)

    threads = [threading.Thread(target=attack, args=(n,), daemon=True) for n in range(20)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(started) + len(refused) < 20:
        time.sleep(0.01)
    try:
        assert len(started) <= ucp_profiles.MAX_FETCHES < 20
        assert len(refused) == 20 - len(started)
    finally:
        release.set()
        for thread in threads:
            thread.join(5)
    # The slots are given back: the next fetch runs.
    release.clear()
    release.set()
    with contextlib.suppress(NegotiationFailed):
        ucp.negotiate(
            cache, 'profile="https://after.example/ucp"', allow_private=False, ports=(443,)
        )
    assert started[-1] == "https://after.example/ucp"


def test_a_body_nested_too_deep_is_a_bad_request_not_a_crash(
    shop: TestClient,  # noqa: F811
    platform: Platform,  # noqa: F811
) -> None:
    agent = platform.serve("agent", platform_profile())
    answer = shop.post(
        "/ucp/checkout-sessions",
        content=b"[" * 60_000,
        headers={
            "UCP-Agent": agent,
            "Idempotency-Key": "deep-1",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"
    # Nothing was claimed: the key is free for a good request.
    good = {"line_items": LINES, "buyer": BUYER}
    again = shop.post(
        "/ucp/checkout-sessions",
        json=good,
        headers={"UCP-Agent": agent, "Idempotency-Key": "deep-2"},
    )
    assert again.status_code == 201, again.text


def test_a_profile_nested_too_deep_is_malformed_not_a_crash(
    shop: TestClient,  # noqa: F811
    platform: Platform,  # noqa: F811
) -> None:
    agent = platform.serve("deep", b'{"a":' * 12_000)
    answer = shop.post(
        "/ucp/checkout-sessions",
        json={"line_items": LINES},
        headers={"UCP-Agent": agent, "Idempotency-Key": "k-1"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "profile_malformed"


def test_refused_profile_urls_are_no_oracle_of_internal_names() -> None:
    answers = []
    for host in ("localhost", "no-such-host.invalid"):
        with pytest.raises(NegotiationFailed) as refused:
            ucp.negotiate(
                ProfileCache(),
                f'profile="https://{host}/.well-known/ucp"',
                allow_private=False,
                ports=(443,),
            )
        assert refused.value.code == "invalid_profile_url"
        answers.append(refused.value.message)
    assert "127.0.0.1" not in answers[0] and "::1" not in answers[0]
    assert answers[0] == answers[1]


# -- an update racing a complete (PostgreSQL: SQLite's writers queue anyway) -------------------


# Work in progress elsewhere (commissions) calls Result.tuples() on settlement; not this test's.
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning")
def test_an_update_racing_a_complete_cannot_reopen_it_to_pay_twice(
    shop: TestClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import select

    from buybutton_server.db.models import Order
    from buybutton_server.domain import ucp_sessions
    from buybutton_server.errors import Conflict
    from buybutton_server.services import ucp_complete
    from tests.test_ucp import GERMANY

    state = shop.app.state  # type: ignore[attr-defined]
    agent = ucp_profiles.Agent(
        profile_url="https://agent.example/.well-known/ucp",
        version=ucp_profiles.VERSION,
        capabilities={
            ucp_profiles.CHECKOUT: ucp_profiles.VERSION,
            ucp_profiles.FULFILLMENT: ucp_profiles.VERSION,
        },
        handlers=frozenset({ucp_profiles.TEST_HANDLER}),
    )
    shop_ = ucp.Shop(
        factory=state.sessions,
        agent=agent,
        base_url=state.settings.base_url,
        provider=state.payments,
    )
    body = {
        "line_items": LINES,
        "buyer": BUYER,
        "fulfillment": {"methods": [{"type": "shipping", "destinations": [GERMANY]}]},
    }
    created = ucp.create(shop_, body)
    assert created.body["status"] == "ready_for_complete", created.body["messages"]
    public_id = created.body["id"]
    payment = {
        "payment": {
            "instruments": [
                {
                    "id": "pi_1",
                    "handler_id": ucp_profiles.TEST_HANDLER_ID,
                    "type": "card",
                    "selected": True,
                    "credential": {"type": "token", "token": ucp_profiles.SUCCESS_TOKEN},
                }
            ]
        }
    }
    has_read, go = threading.Event(), threading.Event()
    real_evaluate = ucp_sessions.evaluate

    def evaluate(*args: object, **kwargs: object) -> ucp_sessions.Evaluation:
        if threading.current_thread().name == "update":  # the update has read the row
            has_read.set()
            go.wait(5)
        return real_evaluate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ucp_sessions, "evaluate", evaluate)
    # The racing update drops the buyer: its status is "incomplete", not the one it read.
    no_buyer = {key: value for key, value in body.items() if key != "buyer"}
    update = threading.Thread(target=ucp.update, args=(shop_, public_id, no_buyer), name="update")
    update.start()
    assert has_read.wait(5)
    outcomes: list[object] = []

    def complete_first() -> None:
        try:
            outcomes.append(ucp_complete.complete(shop_, public_id, payment, "key-1"))
        except Exception as error:  # shown by the assertion below
            outcomes.append(error)

    first = threading.Thread(target=complete_first, daemon=True)
    first.start()
    first.join(1.5)  # with the row locked by the update, the complete waits for it
    go.set()
    update.join(10)
    first.join(10)
    try:  # the agent puts the buyer back and completes again
        ucp.update(shop_, public_id, body)
        ucp_complete.complete(shop_, public_id, payment, "key-2")
    except Conflict:
        pass  # completed (immutable), as it should be once paid
    with state.sessions() as session:
        paid = list(session.scalars(select(Order.id).where(Order.status == "paid")))
    assert len(paid) == 1, outcomes
