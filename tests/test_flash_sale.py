"""A flash sale: several worker processes, S units, S + 50 buyers at once (some double-tapping).

Exactly S orders are paid, every other buyer reads "sold out", nothing answers 5xx, and stock
ends at zero. Runs on each database backend against ``buybutton serve --workers 3``.
"""

from __future__ import annotations

import re
import threading

import httpx
from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from tests.conftest import GOOD_CARD, SECRET, SHOPPER, add_product, attempt_key, orders, product
from tests.live_server import free_port
from tests.test_commands import running, wait_for

STOCK = 5
BUYERS = STOCK + 50
DOUBLE_TAPPERS = 10
WORKERS = 3


def test_flash_sale_across_worker_processes(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=STOCK, price="49.00")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "BUYBUTTON_DATABASE_URL": database_url,
        "BUYBUTTON_SECRET_KEYS": SECRET,
        "BUYBUTTON_BASE_URL": base,
        "BUYBUTTON_PORT": str(port),
        "BUYBUTTON_RATE_LIMIT_PAY_IP": "off",  # every buyer comes from 127.0.0.1 here
        "BUYBUTTON_PENDING_PER_CLIENT": "off",  # the same: one client to the server
        "PYTHONUNBUFFERED": "1",
    }
    link = BuyButton(secret_keys=[SECRET], base_url=base).checkout_link(
        "MUG-01", source="instagram", campaign="drop"
    )
    path = link.removeprefix(base)
    with running(
        ["serve", "--workers", str(WORKERS)], env, ready="Application startup complete"
    ) as lines:
        wait_for(f"{base}/healthz")
        with httpx.Client(base_url=base, timeout=60) as client:
            keys = [attempt_key(client.get(path).text) for _ in range(BUYERS)]
        # A double tap sends the same attempt twice.
        attempts = keys + keys[:DOUBLE_TAPPERS]
        answers: list[tuple[str, int, str]] = []
        barrier = threading.Barrier(len(attempts))

        def buy(key: str) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                barrier.wait()
                answer = client.post(
                    path, data={"attempt": key, "quantity": "1", **SHOPPER, **GOOD_CARD}
                )
                answers.append((key, answer.status_code, answer.headers.get("location", "")))

        threads = [threading.Thread(target=buy, args=(key,)) for key in attempts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    started = {m for m in re.findall(r"Started server process \[(\d+)\]", "".join(lines))}
    assert len(started) == WORKERS, "".join(lines)

    statuses = [status for _, status, _ in answers]
    assert all(status in (303, 409) for status in statuses), statuses
    paid_keys = {key for key, status, _ in answers if status == 303}
    assert len(paid_keys) == STOCK
    # A double-tapper who got through saw the same order twice, never two orders.
    for key in paid_keys:
        locations = {loc for k, status, loc in answers if k == key and status == 303}
        assert len(locations) == 1
    paid = orders(sessions, "paid")
    assert len(paid) == STOCK and {o.attempt_key for o in paid} == paid_keys
    assert (product(sessions).on_hand, product(sessions).reserved) == (0, 0)


def test_flash_sale_with_two_line_carts(database_url: str, sessions: sessionmaker[Session]) -> None:
    """Issue 13: every buyer takes a two-line look (stock S on each line); half of the links
    list the lines the other way round, so two carts lock the same products from opposite
    ends unless reservations go in a fixed order. Exactly S are paid, neither line is
    oversold, nothing answers 5xx, and every unpaid cart held nothing."""
    add_product(sessions, stock=STOCK, price="49.00")
    add_product(sessions, sku="TEE-M", title="Linen tee", stock=STOCK, price="30.00")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "BUYBUTTON_DATABASE_URL": database_url,
        "BUYBUTTON_SECRET_KEYS": SECRET,
        "BUYBUTTON_BASE_URL": base,
        "BUYBUTTON_PORT": str(port),
        "BUYBUTTON_RATE_LIMIT_PAY_IP": "off",
        "BUYBUTTON_PENDING_PER_CLIENT": "off",
        "BUYBUTTON_PENDING_PER_LINK": "off",
        "BUYBUTTON_RATE_LIMIT_PAY_LINK": "off",
        "PYTHONUNBUFFERED": "1",
    }
    bb = BuyButton(secret_keys=[SECRET], base_url=base)
    paths = [
        bb.checkout_link(items=[("MUG-01", 1), ("TEE-M", 1)], source="blog").removeprefix(base),
        bb.checkout_link(items=[("TEE-M", 1), ("MUG-01", 1)], source="blog").removeprefix(base),
    ]
    with running(["serve", "--workers", str(WORKERS)], env, ready="Application startup complete"):
        wait_for(f"{base}/healthz")
        with httpx.Client(base_url=base, timeout=60) as client:
            carts = [
                (paths[n % 2], attempt_key(client.get(paths[n % 2]).text)) for n in range(BUYERS)
            ]
        answers: list[tuple[int, str]] = []
        barrier = threading.Barrier(len(carts))

        def buy(path: str, key: str) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                barrier.wait()
                answer = client.post(path, data={"attempt": key, **SHOPPER, **GOOD_CARD})
                answers.append((answer.status_code, answer.text))

        threads = [threading.Thread(target=buy, args=cart) for cart in carts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = [status for status, _ in answers]
    assert all(status in (303, 409) for status in statuses), statuses
    assert statuses.count(303) == STOCK
    assert all("sold out" in text for status, text in answers if status == 409)
    paid = orders(sessions, "paid")
    assert len(paid) == STOCK
    for sku in ("MUG-01", "TEE-M"):
        row = product(sessions, sku)
        assert (row.on_hand, row.reserved) == (0, 0), sku
