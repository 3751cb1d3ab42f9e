"""The checkout page of a 20-line cart ("shop the look" at its largest), rendered in-process.

    .venv/bin/python bench/cart_page.py

Issue 13 asks for under 20 ms per page. Measured with the app in-process (Starlette's
TestClient, SQLite in a temporary folder), so only our code and the database count: the
median and the 95th percentile of 200 renders after 20 warm-up renders. Each render is a new
attempt key and nonce, so the page cache holds the rest of the page (as in production); the
first, uncached render is reported separately.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from buybutton import BuyButton  # noqa: E402
from buybutton_server import Settings  # noqa: E402
from buybutton_server.app import create_app  # noqa: E402
from buybutton_server.db import make_engine, migrate, session_factory, write_session  # noqa: E402
from buybutton_server.domain.catalog import upsert_products  # noqa: E402
from buybutton_server.domain.catalog_import import validate_rows  # noqa: E402

SECRET = "bench-cart-page-secret-0123456789abcdef"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/cart.sqlite3"
        migrate(url)
        rows = [
            (f"row {n}", {"sku": f"LOOK-{n:02d}", "title": f"Look piece {n}", "price": "12.50",
                          "currency": "EUR", "stock": 1000})
            for n in range(20)
        ]  # fmt: skip
        with write_session(session_factory(make_engine(url))) as session:
            upsert_products(session, validate_rows(rows))
        settings = Settings(secret_keys=(SECRET,), database_url=url, base_url="http://testserver")
        bb = BuyButton(secret_keys=(SECRET,), base_url="http://testserver")
        link = bb.checkout_link(items=[(f"LOOK-{n:02d}", 1) for n in range(20)])
        path = link.removeprefix("http://testserver")
        with TestClient(create_app(settings)) as client:
            started = time.perf_counter()
            first = client.get(path, headers={"Accept-Language": "de-DE"})
            cold = (time.perf_counter() - started) * 1000
            assert first.status_code == 200, first.text[:300]
            for _ in range(20):
                client.get(path, headers={"Accept-Language": "de-DE"})
            cached, rendered = [], []
            for n in range(200):
                started = time.perf_counter()
                client.get(path, headers={"Accept-Language": "de-DE"})
                cached.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()  # a query the cache has not seen: a full render
                client.get(f"{path}?utm_content=r{n}", headers={"Accept-Language": "de-DE"})
                rendered.append((time.perf_counter() - started) * 1000)
        print(f"20-line cart page ({len(first.content)} bytes), first request {cold:.0f} ms")
        for name, times in (("cached", cached), ("rendered", rendered)):
            times.sort()
            print(f"  {name}: median {statistics.median(times):.2f} ms, "
                  f"p95 {times[int(len(times) * 0.95)]:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
