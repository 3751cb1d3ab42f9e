"""``buybutton mail list [--failed]``: the email outbox from a terminal, newest first."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import server_command
from buybutton_server.db import open_sessions
from buybutton_server.services import mail
from buybutton_server.settings import Settings

_COLUMNS = "{id:>6}  {time:16}  {status:7}  {kind:14}  {to:30}  {subject}"


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="emails, newest first, with their state")
    listing.add_argument(
        "--failed", action="store_true", help="only emails that failed or wait with an error"
    )
    listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        rows = mail.list_messages(sessions, failed_only=args.failed, limit=max(1, args.limit))
    if not rows:
        print("no failed emails" if args.failed else "no emails yet")
        return 0
    print(
        _COLUMNS.format(
            id="id",
            time="queued (UTC)",
            status="status",
            kind="kind",
            to="to",
            subject="subject / error",
        )
    )
    for row in rows:
        line = _COLUMNS.format(
            id=row.id,
            time=row.created_at.strftime("%Y-%m-%d %H:%M"),
            status=row.status,
            kind=row.kind,
            to=row.to,
            subject=row.subject,
        )
        print(f"{line}  [{row.error}]" if row.error else line)
    return 0


MAIL = server_command("the email outbox (list, --failed)", _define, _run)
