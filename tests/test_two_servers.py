"""Two servers, one PostgreSQL (issue 18, item 5): two ``buybutton serve`` processes on
separate ports share one database, and a flash sale whose buyers alternate between them
sells exactly S units: S paid, every other buyer 409 "sold out", nothing 5xx, stock at 0.
The servers meet only in the database, as two machines behind a load balancer would."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton.errors import ConfigurationError
from buybutton_server.db import make_engine
from tests.conftest import GOOD_CARD, SECRET, SHOPPER, add_product, attempt_key, orders, product
from tests.live_server import free_port
from tests.test_commands import running, wait_for

pytestmark = pytest.mark.postgres

STOCK = 5
BUYERS = STOCK + 40
SERVERS = 2


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_flash_sale_across_two_servers_on_one_postgresql(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=STOCK, price="49.00")
    ports = [free_port() for _ in range(SERVERS)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    # One shop: the links are signed for one public address; each server is reached directly.
    public = "https://shop.example"
    path = (
        BuyButton(secret_keys=[SECRET], base_url=public)
        .checkout_link("MUG-01", source="instagram", campaign="drop")
        .removeprefix(public)
    )
    with ExitStack() as stack:
        for port, base in zip(ports, bases, strict=True):
            env = {
                "BUYBUTTON_DATABASE_URL": database_url,
                "BUYBUTTON_SECRET_KEYS": SECRET,
                "BUYBUTTON_BASE_URL": base,
                "BUYBUTTON_PORT": str(port),
                "BUYBUTTON_RATE_LIMIT_PAY_IP": "off",  # every buyer comes from 127.0.0.1
                "BUYBUTTON_PENDING_PER_CLIENT": "off",
                "PYTHONUNBUFFERED": "1",
            }
            stack.enter_context(running(["serve"], env, ready="Application startup complete"))
            wait_for(f"{base}/healthz")
        keys: list[tuple[str, str]] = []
        for n in range(BUYERS):
            base = bases[n % SERVERS]
            with httpx.Client(base_url=base, timeout=60) as client:
                page = client.get(path)
                assert page.status_code == 200, page.text
                keys.append((base, attempt_key(page.text)))
        answers: list[tuple[str, int, str]] = []
        barrier = threading.Barrier(len(keys))

        def buy(base: str, key: str) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                barrier.wait()
                answer = client.post(
                    path, data={"attempt": key, "quantity": "1", **SHOPPER, **GOOD_CARD}
                )
                answers.append((base, answer.status_code, answer.text))

        threads = [threading.Thread(target=buy, args=pair) for pair in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    statuses = [status for _, status, _ in answers]
    assert len(statuses) == BUYERS
    assert all(status in (303, 409) for status in statuses), statuses
    assert statuses.count(303) == STOCK
    assert all("sold out" in text for _, status, text in answers if status == 409)
    # Both servers sold: the sale really ran across the two.
    assert {base for base, status, _ in answers if status == 409} == set(bases)
    assert len(orders(sessions, "paid")) == STOCK
    assert (product(sessions).on_hand, product(sessions).reserved) == (0, 0)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_prepared_statements_can_be_turned_off_for_pgbouncer(database_url: str) -> None:
    """PgBouncer in transaction mode before 1.21: ``?prepare_threshold=none`` in the URL."""
    url = database_url + ("&" if "?" in database_url else "?") + "prepare_threshold=none"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None and raw.prepare_threshold is None  # type: ignore[attr-defined]
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
    with pytest.raises(ConfigurationError, match="prepare_threshold"):
        make_engine(url.replace("=none", "=lots"))
