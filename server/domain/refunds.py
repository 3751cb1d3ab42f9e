"""Refunding paid orders, in full or in part, exactly once per request.

The provider's refund is keyed by the order's refund state (``public_id``, amount refunded so
far, amount now), so repeating a refund after a crash reuses the provider's record instead
of refunding twice; the ``refunds`` row is written under the same key (UNIQUE). The order's
``refunded_amount`` moves only if it still holds what was read, so two concurrent refunds
cannot both count.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Order, Refund
from buybutton_server.domain import analytics, inventory, outbox
from buybutton_server.domain.order_rows import REFUNDED_OUT_OF_STOCK, changed_rows, load_order
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import RefundRefused
from buybutton_server.payments.base import PaymentProvider


def refund_order(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    order_id: int,
    *,
    amount: int | None = None,
    reason: str = "requested_by_merchant",
    restock: bool = True,
) -> Order:
    """Refund ``amount`` (all that is left by default) of a paid order.

    A full refund returns the stock unless ``restock`` is False, and makes the order
    ``refunded``. Raises :class:`RefundRefused` for an order that is not paid, an amount out
    of range, or an order another refund changed meanwhile; the provider's
    ``PaymentUnavailable`` when it cannot be reached (nothing is written then).
    """
    with read_session(factory) as session:
        order = load_order(session, order_id)
    remaining = order.total_amount - order.refunded_amount
    if order.status != OrderStatus.PAID or not order.payment_reference:
        raise RefundRefused(f"order {order.number} is {order.status}, not paid")
    amount = remaining if amount is None else amount
    if not 0 < amount <= remaining:
        raise RefundRefused(
            f"order {order.number}: refund must be between 1 and {remaining} minor units"
        )
    key = f"{order.public_id}-{order.refunded_amount}-{amount}"
    result = provider.refund(order.payment_reference, amount=amount, idempotency_key=key)
    with write_session(factory) as session:
        if session.scalar(select(Refund.id).where(Refund.idempotency_key == key)) is None:
            session.add(
                Refund(
                    order_id=order.id,
                    amount=amount,
                    reason=reason,
                    reference=result.reference,
                    idempotency_key=key,
                )
            )
            full = order.refunded_amount + amount == order.total_amount
            values: dict[str, object] = {"refunded_amount": Order.refunded_amount + amount}
            if full:
                values["status"] = OrderStatus.REFUNDED
            if reason == "out_of_stock":
                values["attention"] = REFUNDED_OUT_OF_STOCK
            moved = changed_rows(
                session,
                update(Order)
                .where(
                    Order.id == order.id,
                    Order.refunded_amount == order.refunded_amount,
                    Order.status == OrderStatus.PAID,
                )
                .values(**values),
            )
            if not moved:
                raise RefundRefused(f"order {order.number} changed meanwhile; try again")
            if full and restock:
                for line in order.lines:
                    inventory.restock(session, line.product_id, line.quantity)
            outbox.record_order_event(session, "order.refunded", order.id)
            analytics.record_order_event(session, "refunded", order, amount=amount)
        return load_order(session, order.id)
