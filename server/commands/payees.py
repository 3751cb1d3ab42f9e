"""``buybutton payees list|add|rule|onboard|statement|pay``: payees, their rules, onboarding
links, statements (CSV) and the payout step (docs/commissions.md)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from buybutton_server.commands.base import note, server_command
from buybutton_server.db import open_sessions
from buybutton_server.payments import make_provider
from buybutton_server.services import commissions, payees
from buybutton_server.services.payees import PayeeCreate, RuleInput
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="sellers and creators, with their account state")
    add = actions.add_parser("add", help="add a seller or a creator")
    add.add_argument("code", help="what links carry, e.g. anna")
    add.add_argument("name")
    add.add_argument("--kind", choices=("seller", "creator"), required=True)
    add.add_argument("--email")
    add.add_argument("--location", action="append", default=[], help="a location it owns")
    add.add_argument("--code", dest="codes", action="append", default=[], help="its discount code")
    add.add_argument("--refuse-when-unready", action="store_true")
    rule = actions.add_parser("rule", help="add a commission rule to a payee")
    rule.add_argument("payee", help="the payee's code")
    rule.add_argument("--sku")
    rule.add_argument("--category", help="a variant group")
    rule.add_argument("--percent-bp", type=int, default=0, help="basis points: 1500 = 15 %%")
    rule.add_argument("--fixed", type=int, help="minor units per unit sold")
    rule.add_argument("--min", type=int, dest="minimum", help="minor units")
    rule.add_argument("--max", type=int, dest="maximum", help="minor units")
    rule.add_argument("--currency")
    onboard = actions.add_parser("onboard", help="print a fresh onboarding link")
    onboard.add_argument("payee")
    statement = actions.add_parser("statement", help="a payee's statement as CSV")
    statement.add_argument("payee")
    statement.add_argument("--start", help="YYYY-MM-DD (default: 30 days ago)")
    statement.add_argument("--end", help="YYYY-MM-DD, exclusive (default: now)")
    actions.add_parser("pay", help="send due transfers and reversals (the worker's step)")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        if args.action == "list":
            found = payees.list_payees(sessions).data
            if not found:
                note("no payees")
            for p in found:
                print(f"{p.code:20}  {p.kind:8}  {p.status:11}  {p.stripe_account or '-'}")
            return 0
        if args.action == "add":
            body = PayeeCreate(
                code=args.code,
                name=args.name,
                kind=args.kind,
                email=args.email,
                unready="refuse" if args.refuse_when_unready else "head_office",
                locations=args.location,
                discount_codes=args.codes,
            )
            print(payees.create_payee(sessions, body).code)
            return 0
        if args.action == "pay":
            window = timedelta(days=settings.return_window_days)
            run = commissions.pay_due(sessions, make_provider(settings), return_window=window)
            print(f"sent {run.sent}, failed {run.failed}, reversed {run.reversed}, owed {run.owed}")
            return 0
        payee_id = payees.payee_id_of(sessions, args.payee)
        if args.action == "rule":
            spec = RuleInput(
                sku=args.sku,
                category=args.category,
                percent_bp=args.percent_bp,
                fixed_amount=args.fixed,
                min_amount=args.minimum,
                max_amount=args.maximum,
                currency=args.currency,
            )
            print(len(payees.add_rule(sessions, payee_id, spec).rules))
            return 0
        if args.action == "onboard":
            key = commissions.statement_key_of(sessions, payee_id)
            back = f"{settings.base_url}/payee/{key}"
            link = payees.onboarding_link(
                sessions,
                make_provider(settings),
                payee_id,
                refresh_url=f"{back}/onboarding",
                return_url=f"{back}/returned",
            )
            print(link.url)
            return 0
        start, end = commissions.period(args.start, args.end, now=datetime.now(UTC))
        statement = commissions.statement(sessions, payee_id, start, end)
        print(commissions.statement_csv(statement), end="")
        return 0


PAYEES = server_command("payees, commission rules, statements and payouts", _define, _run)
