"""``buybutton codes create|list|disable|enable``: discount codes from a terminal.

Amounts are typed in major units of ``--currency`` (``--amount 5.00``), a percentage as a
number (``--percent 15``), dates as ISO dates or times (UTC unless a zone is given)."""

from __future__ import annotations

import argparse

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions
from buybutton_server.services import discounts
from buybutton_server.services.discounts import DiscountCode, spec_from_text, takes_off
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a code (case-insensitive)")
    create.add_argument("code", help="letters, digits, '-' and '_' (3-32)")
    what = create.add_mutually_exclusive_group(required=True)
    what.add_argument("--percent", help="percent off, e.g. 15 or 12.5")
    what.add_argument("--amount", help="amount off in major units, e.g. 5.00 (needs --currency)")
    what.add_argument("--free-shipping", action="store_true", help="shipping costs nothing")
    create.add_argument("--currency", help="ISO code of --amount and --min-subtotal, e.g. EUR")
    create.add_argument("--title", default="", help="what the checkout shows (default: code)")
    create.add_argument("--min-subtotal", default="", help="least order, major units")
    create.add_argument("--starts", default="", help="from, e.g. 2026-12-01 (UTC)")
    create.add_argument("--ends", default="", help="until (not included), e.g. 2027-01-01")
    create.add_argument("--limit", default="", help="how many orders in all may use it")
    create.add_argument("--per-customer", default="", help="how many orders per email")
    create.add_argument(
        "--sku", action="append", default=[], help="only these products (repeat the option)"
    )
    create.add_argument("--collection", default="", help="only products of this variant group")
    actions.add_parser("list", help="codes with their use and state")
    for name, meaning in (("disable", "checkouts stop taking it"), ("enable", "take it again")):
        action = actions.add_parser(name, help=f"{name} a code: {meaning}")
        action.add_argument("code")


def _kind(args: argparse.Namespace) -> str:
    if args.percent is not None:
        return "percent"
    return "fixed" if args.amount is not None else "free_shipping"


def _create(args: argparse.Namespace) -> dict[str, str]:
    scope = "products" if args.sku else "collection" if args.collection else "all"
    return {
        "code": args.code,
        "kind": _kind(args),
        "title": args.title,
        "percent": args.percent or "",
        "amount": args.amount or "",
        "currency": args.currency or "",
        "min_subtotal": args.min_subtotal,
        "starts_at": args.starts,
        "ends_at": args.ends,
        "usage_limit": args.limit,
        "per_customer_limit": args.per_customer,
        "scope": scope,
        "collection": args.collection,
    }


def _line(code: DiscountCode) -> str:
    used = f"{code.times_used}/{code.usage_limit}" if code.usage_limit else str(code.times_used)
    return f"{code.code:20}  {takes_off(code):18}  {used:>9}  {code.state:9}  {code.title}"


def _run(args: argparse.Namespace) -> int:
    with open_sessions(Settings.from_env().database_url) as sessions:
        if args.action == "create":
            spec = spec_from_text(_create(args), args.sku)
            made = discounts.create_from_spec(sessions, spec)
            print(f"created {made.code}: {takes_off(made)}")
            return 0
        if args.action == "list":
            codes = discounts.all_codes(sessions)
            if not codes:
                note("no discount codes")
                return 0
            print(f"{'code':20}  {'takes off':18}  {'used':>9}  {'state':9}  title")
            for code in codes:
                print(_line(code))
            return 0
        change = discounts.disable_code if args.action == "disable" else discounts.enable_code
        done = change(sessions, args.code)
    print(f"{args.action}d {done.code}")
    return 0


CODES = server_command("discount codes", _define, _run)
