"""``buybutton privacy export EMAIL`` and ``buybutton privacy erase EMAIL``: a shopper's
access and erasure requests from a terminal (docs/privacy.md)."""

from __future__ import annotations

import argparse
import json

from buybutton_server.commands.base import server_command
from buybutton_server.db import open_sessions
from buybutton_server.services import privacy
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="print every piece of personal data held about EMAIL, as JSON"
    )
    export.add_argument("email", metavar="EMAIL")
    erase = actions.add_parser(
        "erase",
        help="anonymise EMAIL everywhere (orders keep amounts, lines and dates), in one "
        "transaction; an unknown address: nothing held, exit 0",
    )
    erase.add_argument("email", metavar="EMAIL")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        if args.action == "export":
            answer = privacy.export(sessions, args.email)
            print(json.dumps(answer.model_dump(), indent=2, ensure_ascii=False))
            return 0
        done = privacy.erase(sessions, settings, args.email, via="cli")
    print(done.message)
    if done.erased:
        print(f"the address is now {done.placeholder} wherever it was")
    return 0


PRIVACY = server_command("a shopper's data: export EMAIL, erase EMAIL", _define, _run)
