"""``buybutton orders list|show|refund|fulfil|sweep``: what a merchant does with orders from
a terminal."""

from __future__ import annotations

import argparse
from functools import partial

from buybutton.money import format_amount, parse_amount
from buybutton_server.commands.base import note, server_command
from buybutton_server.db import Sessions, open_sessions, read_session
from buybutton_server.domain.fulfilment import CARRIERS, tracking
from buybutton_server.domain.order_search import order_by_reference, recent_orders
from buybutton_server.domain.order_views import order_view
from buybutton_server.domain.orders import fulfill_order, refund_order, release_expired
from buybutton_server.domain.shipments import ship_lines
from buybutton_server.domain.vocabulary import ORDER_STATUSES
from buybutton_server.errors import (
    FulfillRefused,
    InvalidInput,
    NotFound,
    PaymentUnavailable,
    RefundRefused,
)
from buybutton_server.payments import PaymentProvider, make_provider
from buybutton_server.settings import Settings


def _define(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="recent orders, newest first")
    listing.add_argument("--status", choices=ORDER_STATUSES)
    listing.add_argument("--attention", action="store_true", help="only orders to look at")
    listing.add_argument("--limit", type=int, default=50)
    show = actions.add_parser("show", help="one order: its lines and the parts of its total")
    show.add_argument("order", help="order number (BB-...) or id")
    refund = actions.add_parser("refund", help="refund all or part of a paid order")
    refund.add_argument("order", help="order number (BB-...) or id")
    refund.add_argument("--amount", help="in major units, e.g. 12.50 (default: what is left)")
    refund.add_argument(
        "--no-restock",
        action="store_true",
        help="a full refund normally puts the stock back; keep it out",
    )
    fulfil = actions.add_parser(
        "fulfil",
        aliases=["fulfill"],
        help="mark a paid order shipped, with its tracking (again: change the tracking)",
    )
    fulfil.add_argument("order", help="order number (BB-...)")
    known = ", ".join(name for name, _ in CARRIERS.values())
    fulfil.add_argument("--carrier", help=f"e.g. {known}, or any other name")
    fulfil.add_argument("--tracking", help="the parcel's tracking number")
    fulfil.add_argument(
        "--tracking-url", help="https link to follow it (built for the known carriers)"
    )
    fulfil.add_argument(
        "--line",
        action="append",
        metavar="SKU:QTY",
        help="a partial shipment: send these units only (repeat per line)",
    )
    actions.add_parser("sweep", help="release expired reservations, retry due refunds")


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with open_sessions(settings.database_url) as sessions:
        if args.action == "list":
            return _list(sessions, args)
        if args.action == "show":
            return _show(sessions, args)
        if args.action in ("fulfil", "fulfill"):
            return _fulfil(sessions, args)
        provider = make_provider(settings)
        if args.action == "sweep":
            print(f"{release_expired(sessions, provider)} orders settled")
            return 0
        return _refund(sessions, provider, args)


_HEADER = f"{'number':14}  {'date (UTC)':16}  {'status':9}  {'total':>12}  {'source':12}  email"


def _list(sessions: Sessions, args: argparse.Namespace) -> int:
    """Newest first, like ``GET /api/v1/orders``; one header line, then one line per order."""
    with read_session(sessions) as session:
        found = recent_orders(
            session, status=args.status, attention=args.attention, limit=args.limit
        )
    if not found:
        note("no orders" + (" to look at" if args.attention else ""))
        return 0
    print(_HEADER)
    for order in found:
        total = format_amount(order.total_amount, order.currency)
        refunded = (
            f"  refunded {format_amount(order.refunded_amount, order.currency)}"
            if order.refunded_amount
            else ""
        )
        flag = f"  ! {order.attention}" if order.attention else ""
        when = f"{order.created_at:%Y-%m-%d %H:%M}" if order.created_at else "-"
        print(
            f"{order.number:14}  {when:16}  {order.status:9}  {total:>12}  "
            f"{order.source or '-':12}  {order.email}{refunded}{flag}"
        )
    return 0


def _show(sessions: Sessions, args: argparse.Namespace) -> int:
    """The order as its receipt adds it up: each line, then subtotal, discount, shipping,
    tax (included or added) and total, each right-aligned in one column."""
    with read_session(sessions) as session:
        order = order_by_reference(session, args.order)
        if order is None:
            note(f"no order {args.order}")
            return 1
        view = order_view(order)
        facts = [
            (order.number, order.status),
            ("placed", f"{order.created_at:%Y-%m-%d %H:%M} UTC" if order.created_at else "-"),
            ("email", order.email),
        ]
        if order.source or order.first_source:
            facts.append(
                ("source", f"{order.source or '-'} (first touch: {order.first_source or '-'})")
            )
    money = partial(format_amount, currency=view.currency)
    rows: list[tuple[str, str]] = []
    for line in view.lines:
        rows.append((f"{line.quantity} x {line.sku} {line.title}", money(line.subtotal_amount)))
        if line.discount_amount:
            rows.append(("    discount", "-" + money(line.discount_amount)))
        if line.tax_amount:
            rate = f"{line.tax_rate_bp / 100:g}%{' incl.' if view.tax_included else ''}"
            rows.append((f"    tax {rate}", money(line.tax_amount)))
    rows.append(("subtotal", money(view.subtotal_amount)))
    if view.discount_amount:
        codes = f" ({' '.join(view.discount_codes)})" if view.discount_codes else ""
        rows.append((f"discount{codes}", "-" + money(view.discount_amount)))
    if view.ship_line1 or view.shipping_title:
        title = f" ({view.shipping_title})" if view.shipping_title else ""
        rows.append((f"shipping{title}", money(view.shipping_amount)))
    if view.tax_amount and not view.tax_included:
        rows.append((view.tax_label, money(view.tax_amount)))
    rows.append(("total", money(view.total_amount)))
    if view.tax_amount and view.tax_included:
        rows.append((view.tax_label, money(view.tax_amount)))
    for label, value in facts:
        print(f"{label}: {value}")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:{width}}  {value:>12}")
    return 0


def _refund(sessions: Sessions, provider: PaymentProvider, args: argparse.Namespace) -> int:
    with read_session(sessions) as session:
        order = order_by_reference(session, args.order)
    if order is None:
        note(f"no order {args.order}")
        return 1
    try:
        amount = parse_amount(args.amount, order.currency) if args.amount else None
    except ValueError as error:
        note(f"--amount: {error}; give it in major units, e.g. 12.50")
        return 1
    try:
        order = refund_order(
            sessions, provider, order.id, amount=amount, restock=not args.no_restock
        )
    except RefundRefused as error:
        note(str(error))
        return 1
    except PaymentUnavailable:
        note("the payment provider did not answer; nothing was refunded, try again")
        return 1
    print(
        f"{order.number} {order.status}: refunded "
        f"{format_amount(order.refunded_amount, order.currency)} of "
        f"{format_amount(order.total_amount, order.currency)}"
    )
    return 0


def _fulfil(sessions: Sessions, args: argparse.Namespace) -> int:
    with read_session(sessions) as session:
        order = order_by_reference(session, args.order)
    if order is None:
        note(f"no order {args.order}")
        return 1
    try:
        given = tracking(args.carrier, args.tracking, args.tracking_url)
        if args.line:
            order = ship_lines(sessions, order.number, [_parcel_line(t) for t in args.line], given)
        else:
            order = fulfill_order(sessions, order.number, given)
    except (InvalidInput, FulfillRefused, NotFound) as error:
        note(error.message)
        return 1
    parts = [order.carrier, order.tracking_number, order.tracking_url]
    shown = " ".join(part for part in parts if part) or "no tracking"
    state = "fulfilled" if order.fulfilled_at else "partly shipped"
    print(f"{order.number} {state}: {shown}")
    return 0


def _parcel_line(text: str) -> tuple[str, int]:
    sku, _, quantity = text.rpartition(":")
    if not sku or not (quantity.isascii() and quantity.isdigit()) or len(quantity) > 3:
        raise InvalidInput(f"--line {text!r}: write SKU:QUANTITY, e.g. MUG-01:1")
    return sku, int(quantity)


ORDERS = server_command("orders", _define, _run)
