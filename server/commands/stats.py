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
    print(
        f"{'product':16} {'source':12} {'campaign':14} {'content':22} "
        f"{'seen':>6} {'clicks':>6} {'checkout':>8} {'paid':>5} {'conv':>6}  revenue"
    )
    for row in [*result.rows, result.totals]:
        conv = "-" if row.conversion is None else f"{row.conversion:.0%}"
        print(
            f"{row.sku[:16]:16} {(row.source or '-')[:12]:12} {(row.campaign or '-')[:14]:14} "
            f"{(row.content or '-')[:22]:22} {row.impressions:>6} {row.clicks:>6} "
            f"{row.checkouts:>8} {row.paid:>5} {conv:>6}  {row.revenue_text()}"
        )
    if result.median_seconds_to_pay is not None:
        print(f"median first touch to payment: {result.median_seconds_to_pay / 60:.1f} min")
    return 0


STATS = server_command("the funnel: which post, video or email sold what", _define, _run)
