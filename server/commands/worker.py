"""``buybutton worker``: deliver order webhooks and send emails from the outboxes (``serve``
does this too)."""

from __future__ import annotations

import argparse
import time

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import migrate, open_sessions
from buybutton_server.domain.outbox import Sender, deliver_due
from buybutton_server.logs import redact_command_logs
from buybutton_server.services import mail
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="send what is due, then stop")


def _run(args: argparse.Namespace) -> int:
    """Deliver due webhooks and emails until stopped (or once)."""
    settings = Settings.from_env()
    redact_command_logs()
    migrate(settings.database_url)
    sender = Sender(allow_private=not settings.production, ports=settings.webhook_ports)
    problem = mail.warning(settings)
    if problem:
        note(problem)
    with open_sessions(settings.database_url) as sessions:
        if args.once:
            print(f"delivered {deliver_due(sessions, sender)} webhook attempts")
            print(f"sent {mail.send_due(sessions, settings)} email attempts")
            return 0
        print("buybutton worker: delivering webhooks and emails (Ctrl-C stops it)")
        while True:
            webhooks = deliver_due(sessions, sender)
            emails = mail.send_due(sessions, settings)
            if not webhooks and emails < mail.BATCH:
                time.sleep(settings.webhook_seconds)


WORKER = server_command(
    "deliver order webhooks and send emails from the outbox", _define, _run, database=False
)  # it migrates itself
