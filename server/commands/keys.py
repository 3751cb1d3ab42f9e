"""``buybutton keys create|list|revoke``: API keys from a terminal."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions, write_session
from buybutton_server.domain.api_keys import SCOPES, create_key, list_keys, revoke
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key (shown once)")
    create.add_argument("--scope", choices=SCOPES, required=True)
    create.add_argument("--name", default="", help="what the key is for")
    actions.add_parser("list", help="keys by prefix, scope and state")
    drop = actions.add_parser("revoke", help="revoke a key by its prefix")
    drop.add_argument("prefix")


def _run(args: argparse.Namespace) -> int:
    with open_sessions(Settings.from_env().database_url) as sessions:
        if args.action == "create":
            with write_session(sessions) as session:
                row, key = create_key(session, args.scope, args.name or "")
                prefix = row.prefix
            print(key)
            note(
                f"created {prefix} ({args.scope}). This is the only time the key is shown: "
                "store it now."
            )
            return 0
        if args.action == "list":
            for row in list_keys(sessions):
                state = "revoked" if row.revoked_at else "active"
                print(f"{row.prefix}  {row.scope:5}  {state:7}  {row.name}")
            return 0
        with write_session(sessions) as session:
            revoked = revoke(session, args.prefix)
    if not revoked:
        note(f"no key {args.prefix}")
        return 1
    print(f"revoked {args.prefix}")
    return 0


KEYS = server_command("API keys", _define, _run)
