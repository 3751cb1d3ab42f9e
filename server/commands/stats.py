"""``buybutton stats``: the funnel in the terminal, per post, video or email."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import server_command
from buybutton_server.db import open_sessions
from buybutton_server.domain import analytics
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="a date, e.g. 2026-11-01 (default: 30 days ago)")
    parser.add_argument("--until", help="a date (default: now)")
    parser.add_argument("--csv", action="store_true", help="print CSV")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    start, end = analytics.parse_range(args.since, args.until)
    with open_sessions(settings.database_url) as sessions:
        result = analytics.report(sessions, start, end)
    if args.csv:
        print(analytics.report_csv(result).rstrip("\n"))
        return 0
    print(f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    rows = [*result.rows, result.totals]
    texts = [(r.sku, r.source or "-", r.campaign or "-", r.content or "-") for r in rows]
    # Columns as wide as their longest value: names are never cut.
    names = ("product", "source", "campaign", "content")
    widths = [max(len(name), *(len(t[i]) for t in texts)) for i, name in enumerate(names)]
    print(
        " ".join(f"{name:{w}}" for name, w in zip(names, widths, strict=True))
        + f" {'seen':>6} {'clicks':>6} {'checkout':>8} {'paid':>5} {'conv':>6}  revenue"
    )
    for row, text in zip(rows, texts, strict=True):
        conv = "-" if row.conversion is None else f"{row.conversion:.0%}"
        print(
            " ".join(f"{t:{w}}" for t, w in zip(text, widths, strict=True))
            + f" {row.impressions:>6} {row.clicks:>6} "
            f"{row.checkouts:>8} {row.paid:>5} {conv:>6}  {row.revenue_text()}"
        )
    if result.median_seconds_to_pay is not None:
        print(f"median first touch to payment: {result.median_seconds_to_pay / 60:.1f} min")
    return 0


STATS = server_command("the funnel: which post, video or email sold what", _define, _run)
