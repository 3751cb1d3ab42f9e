"""Product feeds: 10,000 products, each feed generated and streamed, and a 304.

    .venv/bin/python bench/feeds.py

Measures through the ASGI app in-process (Starlette's TestClient, no network): the time to
the last byte of each feed, the peak Python memory while streaming (tracemalloc), and the
time of a conditional request answered 304 (no feed generated). The catalog is imported
through the CSV import's rules, as a merchant's would be.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from buybutton_server import Settings, create_app  # noqa: E402
from buybutton_server.db import make_engine, migrate, session_factory, write_session  # noqa: E402
from buybutton_server.domain.catalog import upsert_products  # noqa: E402
from buybutton_server.domain.catalog_import import validate_rows  # noqa: E402
from buybutton_server.services import feeds  # noqa: E402

PRODUCTS = 10_000
SECRET = "bench-feeds-secret-0123456789abcdef-0123"
BASE = "https://shop.example"


def _rows() -> list[tuple[str, dict[str, object]]]:
    return [
        (
            f"line {i + 2}",
            {
                "sku": f"SKU-{i:05d}",
                "title": f"Product number {i} with a reasonably long title",
                "description": "A product description of a typical length. " * 4,
                "image_url": f"https://cdn.example/p/{i}.jpg",
                "price": f"{10 + i % 90}.50",
                "currency": "USD",
                "stock": i % 7,
                "brand": "Brand",
                "mpn": f"MPN-{i}",
                "variant_group": f"G{i // 3}",
            },
        )
        for i in range(PRODUCTS)
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/feeds.sqlite3"
        migrate(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        with write_session(sessions) as session:
            upsert_products(session, validate_rows(_rows()))
        settings = Settings(secret_keys=(SECRET,), database_url=url, base_url=BASE)
        with TestClient(create_app(settings), base_url=BASE) as client:
            for name in feeds.CHANNEL_NAMES:
                path = feeds.feed_url(sessions, (SECRET,), BASE, name).removeprefix(BASE)
                times, size = [], 0
                for _ in range(3):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append(time.perf_counter() - started)
                    size = len(answer.content)
                tracemalloc.start()
                with client.stream("GET", path) as streamed:
                    for _chunk in streamed.iter_bytes():
                        pass
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                etag = answer.headers["etag"]
                conditional = []
                for _ in range(20):
                    started = time.perf_counter()
                    again = client.get(path, headers={"If-None-Match": etag})
                    conditional.append(time.perf_counter() - started)
                    assert again.status_code == 304
                print(
                    f"{name:9} {PRODUCTS} products: {statistics.median(times):.2f} s "
                    f"(median of 3), {size / 1e6:.1f} MB, peak Python memory while streaming "
                    f"{peak / 1e6:.1f} MB; 304 in {statistics.median(conditional) * 1000:.1f} ms"
                )
        engine.dispose()


if __name__ == "__main__":
    main()
