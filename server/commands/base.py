"""What every server command shares: its settings, a database brought up to date before it is
used, and one line for each error a person at a terminal can meet (an unreachable database, a
request the shop refuses)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from buybutton.cli import Command
from buybutton_server.db import DATABASE_DOWN, migrate
from buybutton_server.errors import ShopError
from buybutton_server.settings import Settings

Run = Callable[[argparse.Namespace], int]


def note(message: str) -> None:
    """One line on standard error, the way ``buybutton`` reports problems and asides."""
    print(f"buybutton: {message}", file=sys.stderr)


def server_command(
    help: str,
    define: Callable[[argparse.ArgumentParser], None],
    run: Run,
    *,
    database: bool = True,
) -> Command:
    """A command whose ``run`` reports database and shop errors in one line. With
    ``database`` (the default) the database is migrated first, as ``serve`` does, so every
    command works on a fresh folder."""
    return Command(help=help, define=define, run=partial(_guarded, run, database))


def with_server_run(command: Command, run: Run, *, database: bool = True) -> Command:
    """``command`` (an SDK command) with the server's ``run``: same arguments and help."""
    return replace(command, run=partial(_guarded, run, database))


def ready_database(settings: Settings | None = None) -> Settings:
    """The settings, once their database has the newest schema (created if need be)."""
    settings = settings or Settings.from_env()
    migrate(settings.database_url)
    return settings


def _guarded(run: Run, database: bool, args: argparse.Namespace) -> int:
    try:
        if database:
            ready_database()
        return run(args)
    except DATABASE_DOWN as error:
        cause = getattr(error, "orig", None) or error
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else "no answer"
        note(f"cannot reach the database: {reason}")
        return 1
    except ShopError as error:
        note(error.message)
        return 2
