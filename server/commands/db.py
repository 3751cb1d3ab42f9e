"""``buybutton db upgrade|prune|copy``: the database's schema, its retention job, and moving
a shop to another database (``copy SOURCE_URL TARGET_URL``, e.g. SQLite to PostgreSQL)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from buybutton_server.commands.base import note, server_command
from buybutton_server.commands.retention import prune
from buybutton_server.db import migrate
from buybutton_server.services.db_copy import CopyResult, Progress, copy_shop
from buybutton_server.settings import Settings

_BAR = 30


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="bring the schema up to date (serve does it too)")
    actions.add_parser("prune", help="run the retention job now")
    copy = actions.add_parser(
        "copy",
        help="copy every table of a shop into a new, empty database (e.g. to PostgreSQL)",
        description="Copy a shop (catalog, stock, orders, events, keys, logins ...) from "
        "SOURCE_URL to the empty database at TARGET_URL, which is migrated first. The "
        "source is only read.",
    )
    copy.add_argument("source", metavar="SOURCE_URL", help="e.g. sqlite:///buybutton.sqlite3")
    copy.add_argument(
        "target", metavar="TARGET_URL", help="e.g. postgresql+psycopg://user:pw@host/shop"
    )
    copy.add_argument("--batch", type=int, default=1000, help="rows per INSERT (default 1000)")


def _run(args: argparse.Namespace) -> int:
    if args.action == "prune":  # the retention job (commands/retention.py)
        return prune(args)
    if args.action == "copy":
        return _copy(args)
    migrate(Settings.from_env().database_url)
    print("database schema is up to date")
    return 0


def _copy(args: argparse.Namespace) -> int:
    if args.batch < 1:
        note("--batch must be at least 1")
        return 2
    shown = _Shown(sys.stderr)
    started = time.monotonic()
    try:
        result = copy_shop(args.source, args.target, progress=shown.progress, batch=args.batch)
    finally:
        shown.end()
    _print_counts(result)
    if not result.committed:
        names = ", ".join(row.table for row in result.mismatched)
        note(f"row counts differ ({names}); nothing was committed to {result.target}")
        return 1
    rows = sum(row.target for row in result.counts)
    print(
        f"copied {rows:,} rows in {len(result.counts)} tables from {result.source} to "
        f"{result.target} in {time.monotonic() - started:.1f} s"
    )
    return 0


def _print_counts(result: CopyResult) -> None:
    width = max(len(row.table) for row in result.counts)
    print(f"{'table':{width}}  {'source':>10}  {'target':>10}")
    for row in result.counts:
        flag = "" if row.source == row.target else "  DIFFERS"
        print(f"{row.table:{width}}  {row.source:>10,}  {row.target:>10,}{flag}")


class _Shown:
    """Progress on a terminal as one redrawn bar; elsewhere one line per table copied."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.tty = out, out.isatty()
        self.drawn = 0.0
        self.last: Progress | None = None

    def progress(self, at: Progress) -> None:
        if not self.tty:
            if at.table_done == at.table_total:
                print(f"copied {at.table}: {at.table_done:,} rows", file=self.out, flush=True)
            return
        self.last = at
        now = time.monotonic()
        if now - self.drawn < 0.1:
            return
        self.drawn = now
        self._draw(at)

    def _draw(self, at: Progress) -> None:
        share = at.done / at.total if at.total else 1.0
        filled = int(share * _BAR)
        bar = "#" * filled + "-" * (_BAR - filled)
        line = f"[{bar}] {share:4.0%}  {at.done:,}/{at.total:,} rows  {at.table}"
        self.out.write("\r" + line[:100].ljust(100))
        self.out.flush()

    def end(self) -> None:
        if self.tty and self.last is not None:
            self._draw(self.last)
            self.out.write("\n")
            self.out.flush()


# The command migrates nothing up front: ``upgrade`` and ``prune`` migrate the configured
# database, and ``copy`` works only on the two URLs it is given.
DB = server_command(
    "database schema (upgrade), retention (prune), copy a shop to another database",
    _define,
    _run,
    database=False,
)
