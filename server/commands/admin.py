"""``buybutton admin create EMAIL``: a merchant login for the snippet builder."""

from __future__ import annotations

import argparse
import getpass
import sys

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions, write_session
from buybutton_server.domain.admin_auth import create_admin
from buybutton_server.settings import Settings

NO_TERMINAL = (
    "no terminal to ask for a password; pipe it in instead: "
    "printf '%s\\n' \"$PASSWORD\" | buybutton admin create EMAIL --password-stdin"
)


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a login (asks for a password)")
    create.add_argument("email")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        if not sys.stdin.isatty():
            note(NO_TERMINAL)
            return 2
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Again: ")
        except EOFError:
            note(NO_TERMINAL)
            return 2
        if again != password:
            note("the passwords do not match")
            return 1
    with open_sessions(settings.database_url) as sessions, write_session(sessions) as session:
        created = create_admin(session, args.email, password).email
    print(f"created login {created}")
    return 0


ADMIN = server_command("merchant logins", _define, _run)
