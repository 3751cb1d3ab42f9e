"""What every server command shares: its settings, and one line for each error a person at a
terminal can meet (an unreachable database, a request the shop refuses)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from buybutton.cli import Command
from buybutton_server.db import DATABASE_DOWN
from buybutton_server.errors import ShopError

Run = Callable[[argparse.Namespace], int]


def note(message: str) -> None:
    """One line on standard error, the way ``buybutton`` reports problems and asides."""
    print(f"buybutton: {message}", file=sys.stderr)


def server_command(
    help: str, define: Callable[[argparse.ArgumentParser], None], run: Run
) -> Command:
    """A command whose ``run`` reports database and shop errors in one line."""
    return Command(help=help, define=define, run=partial(_guarded, run))


def with_server_run(command: Command, run: Run) -> Command:
    """``command`` (an SDK command) with the server's ``run``: same arguments and help."""
    return replace(command, run=partial(_guarded, run))


def _guarded(run: Run, args: argparse.Namespace) -> int:
    try:
        return run(args)
    except DATABASE_DOWN as error:
        cause = getattr(error, "orig", None) or error
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else "no answer"
        note(f"cannot reach the database: {reason}")
        return 1
    except ShopError as error:
        note(error.message)
        return 2
