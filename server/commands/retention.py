"""``buybutton db prune``: run the retention job now (the server runs it every hour)."""

from __future__ import annotations

import argparse

from buybutton_server.db import migrate, open_sessions
from buybutton_server.services import retention
from buybutton_server.settings import Settings


def prune(args: argparse.Namespace) -> int:
    """Print the periods, roll up and delete what is past them, print what went."""
    settings = Settings.from_env()
    migrate(settings.database_url)
    for what, days in retention.periods(settings):
        print(f"keeping {what}: {days} days")
    with open_sessions(settings.database_url) as sessions:
        print(f"removed {retention.prune(sessions, settings)}")
    return 0
