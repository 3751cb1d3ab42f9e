"""``buybutton catalog import FILE``: create or update products by sku from CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions, write_session
from buybutton_server.domain.catalog import (
    CatalogImportError,
    read_catalog_file,
    upsert_products,
    validate_rows,
)
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="create or update products by sku")
    load.add_argument("file", type=Path)


def import_catalog(settings: Settings, path: Path) -> str:
    """Import ``path`` in one transaction: every row, or nothing if any row is wrong."""
    rows = validate_rows(read_catalog_file(path))
    with open_sessions(settings.database_url) as sessions, write_session(sessions) as session:
        result = upsert_products(session, rows)
    return f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        print(import_catalog(settings, args.file))
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
