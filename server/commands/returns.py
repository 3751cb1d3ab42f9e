"""``buybutton returns list|approve|receive|refund|reject``: returns from a terminal."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions
from buybutton_server.payments import make_provider
from buybutton_server.services import returns
from buybutton_server.services.returns import RETURN_STATUSES, ReturnQuery, parse_id
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="returns, newest first")
    listing.add_argument("--status", choices=RETURN_STATUSES)
    listing.add_argument("--order", help="only this order's returns (its number)")
    listing.add_argument("--limit", type=int, default=50, choices=range(1, 101), metavar="N")
    for name, meaning in (
        ("approve", "approve a requested return"),
        ("receive", "mark an approved return received (the parcel is back)"),
    ):
        actions.add_parser(name, help=meaning).add_argument("id", help="the return's id")
    refund = actions.add_parser("refund", help="refund a received return")
    refund.add_argument("id", help="the return's id")
    refund.add_argument(
        "--amount", default="", help="major units, e.g. 12.50 (default: the lines' share)"
    )
    refund.add_argument("--no-restock", action="store_true", help="keep the units off the shelf")
    reject = actions.add_parser("reject", help="reject a return not yet refunded")
    reject.add_argument("id", help="the return's id")
    reject.add_argument("--note", default="", help="why (kept with the return)")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        if args.action == "list":
            if args.order:
                found = returns.order_returns(sessions, args.order).data
            else:
                query = ReturnQuery(status=args.status, limit=args.limit)
                found = returns.list_returns(sessions, query).data
            if not found:
                note("no returns")
                return 0
            print(f"{'id':>6}  {'order':14}  {'status':9}  lines")
            for ret in found:
                print(returns.brief(ret))
            return 0
        return_id = parse_id(args.id)
        if args.action == "approve":
            done = returns.approve(sessions, return_id)
        elif args.action == "receive":
            done = returns.receive(sessions, return_id)
        elif args.action == "reject":
            done = returns.reject(sessions, return_id, args.note)
        else:
            done = returns.refund_from_text(
                sessions,
                make_provider(settings),
                return_id,
                args.amount,
                restock=not args.no_restock,
            )
    print(returns.brief(done))
    return 0


RETURNS = server_command("returns: approve, receive, refund, reject", _define, _run)
