"""Locale negotiation's share of the checkout page (issue 16: "adds under 5%").

In process, same run, interleaved rounds: the checkout page GET with no ``Accept-Language``
(English, nothing to negotiate but the fallback) against the same page with
``Accept-Language: de-DE,de;q=0.9,en;q=0.8`` and the switcher's cookie, each round's median
per request; plus the cost of ``locales.negotiate`` itself against the page.

    .venv/bin/python bench/locales.py
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

from bench.run import seed  # noqa: E402
from bench.server import SECRET  # noqa: E402
from buybutton import BuyButton  # noqa: E402
from buybutton_server import Settings, create_app  # noqa: E402
from buybutton_server.domain import locales  # noqa: E402

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8", "Cookie": "bb_lang=de"}
HEADERS = ["de-DE,de;q=0.9,en;q=0.8", "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "ar"]


def page_times(client: TestClient, path: str, headers: dict[str, str], count: int) -> float:
    took = []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        took.append(time.perf_counter() - start)
        assert answer.status_code == 200
    return statistics.median(took)


def main(rounds: int = 7, count: int = 300) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        seed(url)
        settings = Settings(secret_keys=(SECRET,), database_url=url, base_url="http://shop.test")
        with TestClient(create_app(settings), base_url="http://shop.test") as client:
            path = BuyButton(secret_keys=[SECRET], base_url="http://shop.test").checkout_link(
                "BENCH-1"
            )
            path = path.removeprefix("http://shop.test")
            page_times(client, path, {}, 50), page_times(client, path, GERMAN, 50)  # warm
            plain, german = [], []
            for _ in range(rounds):
                plain.append(page_times(client, path, {}, count))
                german.append(page_times(client, path, GERMAN, count))
        p, g = statistics.median(plain), statistics.median(german)
        # negotiate() alone, uncached headers each time (the lru_cache cleared per call)
        n = 20_000
        start = time.perf_counter()
        for i in range(n):
            locales.from_accept_language.cache_clear()
            locales.negotiate(cookie=None, accept_language=HEADERS[i % 3], default=None)
        cold = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for i in range(n):
            locales.negotiate(cookie="de", accept_language=HEADERS[i % 3], default="fr")
        warm = (time.perf_counter() - start) / n
    print(f"checkout page, no Accept-Language:  {p * 1e3:.3f} ms (median of {rounds} rounds)")
    print(f"checkout page, de-DE + cookie:      {g * 1e3:.3f} ms ({(g / p - 1) * 100:+.1f}%)")
    print(
        f"negotiate(), header not cached:     {cold * 1e6:.1f} µs ({cold / p * 100:.2f}% of the page)"
    )
    print(
        f"negotiate(), cached / cookie:       {warm * 1e6:.2f} µs ({warm / p * 100:.3f}% of the page)"
    )


if __name__ == "__main__":
    main()
