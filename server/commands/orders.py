"""``buybutton orders``: what a merchant does with orders from a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from sqlalchemy import or_, select

from buybutton.money import format_amount, parse_amount
from buybutton_server.db import make_engine, read_session, session_factory
from buybutton_server.db.models import Order
from buybutton_server.domain.orders import refund_order, release_expired
from buybutton_server.errors import RefundRefused
from buybutton_server.payments import PaymentUnavailable, make_provider
from buybutton_server.settings import Settings


def run_orders_command(
    settings: Settings, args: argparse.Namespace, *, out: Callable[[str], None]
) -> int:
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        if args.action == "list":
            with read_session(sessions) as session:
                query = select(Order).order_by(Order.id.desc()).limit(args.limit)
                if args.status:
                    query = query.where(Order.status == args.status)
                if args.attention:
                    query = query.where(Order.attention.is_not(None))
                for order in session.scalars(query):
                    refunded = (
                        f" refunded {format_amount(order.refunded_amount, order.currency)}"
                        if order.refunded_amount
                        else ""
                    )
                    note = f"  ! {order.attention}" if order.attention else ""
                    out(
                        f"{order.number}  {order.status:8}  "
                        f"{format_amount(order.total_amount, order.currency):>12}{refunded}  "
                        f"{order.email}  {order.source or '-'}{note}"
                    )
            return 0
        provider = make_provider(settings)
        if args.action == "sweep":
            out(f"{release_expired(sessions, provider)} orders settled")
            return 0
        with read_session(sessions) as session:
            order = session.scalar(
                select(Order).where(
                    or_(Order.number == args.order.upper(), Order.public_id == args.order)
                )
            )
        if order is None:
            print(f"buybutton: no order {args.order}", file=sys.stderr)
            return 1
        amount = parse_amount(args.amount, order.currency) if args.amount else None
        try:
            order = refund_order(
                sessions, provider, order.id, amount=amount, restock=not args.no_restock
            )
        except RefundRefused as exc:
            print(f"buybutton: {exc}", file=sys.stderr)
            return 1
        except PaymentUnavailable:
            print(
                "buybutton: the payment provider did not answer; nothing was refunded, try again",
                file=sys.stderr,
            )
            return 1
        out(
            f"{order.number} {order.status}: refunded "
            f"{format_amount(order.refunded_amount, order.currency)} of "
            f"{format_amount(order.total_amount, order.currency)}"
        )
        return 0
    finally:
        engine.dispose()
