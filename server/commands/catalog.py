"""``buybutton catalog import FILE [--dry-run]``: create or update products by sku from CSV
or JSON, all or nothing, price lists (``price_EUR``, ... columns) included; ``--dry-run``
shows what would change and writes nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions, read_session, write_session
from buybutton_server.domain.catalog import ImportResult, Progress, apply_plan, plan_import
from buybutton_server.domain.catalog_import import (
    CatalogImportError,
    read_catalog_file,
    validate_rows,
)
from buybutton_server.domain.catalog_import_prices import apply_prices, plan_prices
from buybutton_server.settings import Settings

SHOWN_CHANGES = 10  # changes a dry run lists before "... and N more"
LARGE_FILE = 1000  # rows from which a terminal shows progress


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="create or update products by sku")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )


class ProgressLine:
    """``checking 4500/10000`` rewritten in place on a terminal's stderr; silent elsewhere
    (a pipe or a log gets only the result) and for small files."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.shown = total >= LARGE_FILE and stream.isatty()
        self.drawn = False

    def step(self, what: str) -> Progress:
        def show(done: int, total: int) -> None:
            if self.shown:
                self.stream.write(f"\r{what} {done}/{total} ({done * 100 // max(total, 1)}%)")
                self.stream.flush()
                self.drawn = True

        return show

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")  # clear the line: the result follows cleanly
            self.stream.flush()


def _counts(result: ImportResult, dry_run: bool) -> str:
    if dry_run:
        return (
            f"would create {result.created}, update {result.updated}, leave "
            f"{result.unchanged} unchanged (dry run: nothing written)"
        )
    return f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"


def import_catalog(
    settings: Settings, path: Path, *, dry_run: bool = False, stream: TextIO | None = None
) -> str:
    """Import ``path`` in one transaction: every row, or nothing if any row is wrong."""
    raw = read_catalog_file(path)
    progress = ProgressLine(stream or sys.stderr, len(raw))
    try:
        rows = validate_rows(raw, progress.step("checking"))
        with open_sessions(settings.database_url) as sessions:
            if dry_run:
                with read_session(sessions) as session:
                    plan = plan_import(session, rows)
                    prices = plan_prices(session, rows, plan)
            else:
                with write_session(sessions) as session:
                    plan = plan_import(session, rows)
                    prices = plan_prices(session, rows, plan)
                    apply_plan(session, plan, progress.step("writing"))
                    apply_prices(session, prices)
    finally:
        progress.close()
    lines = [_counts(prices.result(plan), dry_run)]
    if dry_run:
        changes = prices.describe(plan)
        lines += [f"  {change}" for change in changes[:SHOWN_CHANGES]]
        if len(changes) > SHOWN_CHANGES:
            lines.append(f"  ... and {len(changes) - SHOWN_CHANGES} more changes")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        print(import_catalog(settings, args.file, dry_run=args.dry_run))
    except CatalogImportError as error:
        note(f"{args.file}: nothing imported:")
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except OSError as error:
        note(f"cannot read {args.file}: {error.strerror}")
        return 1
    return 0


CATALOG = server_command("products", _define, _run)
