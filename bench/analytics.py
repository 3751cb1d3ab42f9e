"""Report query times with a million analytics events, on SQLite and PostgreSQL.

    .venv/bin/python bench/analytics.py --write docs/benchmarks-analytics.md

Seeds 1,000,000 events spread over 90 days (40 products, 12 sources, 30 pieces of content,
the kinds in realistic proportions), then times the dashboard's report for 30 days, for one
day, and for one product over 30 days: the median of 5 runs each, after one warm-up.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import machine, postgres_url  # noqa: E402
from buybutton_server.db import make_engine, migrate, session_factory  # noqa: E402
from buybutton_server.db.models import AnalyticsEvent, utcnow  # noqa: E402
from buybutton_server.domain.analytics import report  # noqa: E402

EVENTS = 1_000_000
KINDS = [("impression", 70), ("click", 20), ("checkout_started", 6), ("payment_succeeded", 3),
         ("payment_failed", 1)]  # fmt: skip
SOURCES = ["blog", "instagram", "tiktok", "youtube", "email", "messenger", "qr", "x", "reddit",
           "pinterest", "podcast", "web"]  # fmt: skip


def seed(url: str) -> float:
    migrate(url)
    engine = make_engine(url)
    rng = random.Random(7)
    now = utcnow()
    kinds = [k for k, weight in KINDS for _ in range(weight)]
    # 300 placements (a post, a video, an email, ...), each linking to 5 of the 40 products:
    # 1,500 product-and-placement pairs, as a busy shop with many publishers might have.
    placements = [(rng.choice(SOURCES), f"cmp-{rng.randrange(6)}", f"post-{n}") for n in range(300)]
    pairs = [(f"SKU-{rng.randrange(40):02d}", p) for p in placements for _ in range(5)]
    started = time.perf_counter()
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        for n in range(EVENTS):
            kind = rng.choice(kinds)
            sku, (source, campaign, content) = rng.choice(pairs)
            batch.append(
                {
                    "kind": kind,
                    "sku": sku,
                    "source": source,
                    "campaign": campaign,
                    "content": content,
                    "amount": rng.randrange(500, 9000) if kind == "payment_succeeded" else None,
                    "currency": "USD" if kind == "payment_succeeded" else None,
                    "occurred_at": now - timedelta(seconds=rng.randrange(90 * 86400)),
                }
            )
            if len(batch) == 20_000 or n == EVENTS - 1:
                connection.execute(insert(AnalyticsEvent.__table__), batch)
                batch = []
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE analytics_events")
        else:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def timed(url: str) -> dict[str, float]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = utcnow()
    cases = {
        "30 days, every product and placement": (now - timedelta(days=30), now, None),
        "1 day": (now - timedelta(days=1), now, None),
        "30 days, one product": (now - timedelta(days=30), now, "SKU-07"),
    }
    results = {}
    for name, (since, until, sku) in cases.items():
        report(sessions, since, until, sku=sku)
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            found = report(sessions, since, until, sku=sku)
            runs.append(time.perf_counter() - started)
        results[name] = statistics.median(runs)
        results[name + " rows"] = len(found.rows)
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite:///{tmp}/events.sqlite3"
        out["SQLite"] = {"seed": seed(sqlite), **timed(sqlite)}
        pg_url, server = postgres_url(Path(tmp))
        try:
            out["PostgreSQL"] = {"seed": seed(pg_url), **timed(pg_url)}
        finally:
            server.cleanup()
    lines = [
        "# Benchmarks: analytics reports",
        "",
        f"One run of `bench/analytics.py` on {machine()}.",
        f"{EVENTS:,} events over 90 days: 40 products linked from 300 placements (posts, videos,",
        "emails ... over 12 sources and 6 campaigns), 1,500 product-and-placement pairs;",
        "impressions 70%, clicks 20%, checkouts 6%, payments 3%, failures 1%.",
        "Each figure is the median of 5 runs of the dashboard's report query (after a warm-up).",
        "",
        "Reproduce: `.venv/bin/python bench/analytics.py --write docs/benchmarks-analytics.md`.",
        "",
        "| report | SQLite | PostgreSQL |",
        "| --- | --- | --- |",
    ]
    for name in ("30 days, every product and placement", "1 day", "30 days, one product"):
        cells = [f"{out[db][name] * 1000:,.0f} ms ({int(out[db][name + ' rows']):,} rows)"
                 for db in ("SQLite", "PostgreSQL")]  # fmt: skip
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines.append(
        f"| seeding {EVENTS:,} events (batches of 20,000) | {out['SQLite']['seed']:.1f} s | "
        f"{out['PostgreSQL']['seed']:.1f} s |"
    )
    lines += [
        "",
        "The report is one `GROUP BY` over a time range. A covering index on",
        "`(occurred_at, kind, sku, source, campaign, content, amount, currency)` lets both",
        "databases answer from the index alone; the cost grows with the events in the range,",
        "not with the table. Impressions and clicks reach the table in batches (one insert per",
        "second per process), so the checkout page never waits for an analytics write.",
        "",
        "A 30-day report reads about 333,000 events (a third of the table) and groups them: half a",
        "second on SQLite, a third on PostgreSQL, on 2 cores. Shorter ranges and one product's view",
        "stay well under 100 ms. What would make every range constant-time: a daily rollup table",
        "(counts and revenue per day and placement) updated when buffered events are flushed and in",
        "the order transactions, with the report summing at most one row per day and placement.",
        "Not built yet: at these sizes the plain table is fast enough for a dashboard.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
