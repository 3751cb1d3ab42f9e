"""``buybutton worker``: deliver order webhooks from the outbox (``serve`` does this too)."""

from __future__ import annotations

import argparse
import time

from buybutton_server.commands.base import server_command
from buybutton_server.db import migrate, open_sessions
from buybutton_server.domain.outbox import Sender, deliver_due
from buybutton_server.logs import redact_command_logs
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="send what is due, then stop")


def _run(args: argparse.Namespace) -> int:
    """Deliver due webhooks until stopped (or once)."""
    settings = Settings.from_env()
    redact_command_logs()
    migrate(settings.database_url)
    sender = Sender(allow_private=not settings.production, ports=settings.webhook_ports)
    with open_sessions(settings.database_url) as sessions:
        if args.once:
            print(f"delivered {deliver_due(sessions, sender)} webhook attempts")
            return 0
        print("buybutton worker: delivering webhooks (Ctrl-C stops it)")
        while True:
            if not deliver_due(sessions, sender):
                time.sleep(settings.webhook_seconds)


WORKER = server_command(
    "deliver order webhooks from the outbox", _define, _run, database=False
)  # it migrates itself
