"""Commission rules, and the shares they freeze on an order when it is placed.

A rule belongs to a payee and names a product (``sku``), a category (a variant group) or
neither (the payee's default); on a line, the most specific of the payee's rules applies. It
takes ``percent_bp`` of the line's total plus ``fixed_amount`` per unit, held within
``min_amount``..``max_amount`` and never more than the line. For a seller that is the head
office's commission (the seller's share is the rest of the line); for a creator it is the
creator's fee. :func:`freeze` writes each share as a ``commission_lines`` row with a copy of
the rule's numbers, in the order's own transaction: a later change of the rule never touches
a placed order. The ledger, transfers and statements follow from those rows
(:mod:`.commission_ledger`, :mod:`.payouts`). See docs/commissions.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from buybutton.tokens import CheckoutLink
from buybutton_server.db.models import (
    CommissionLine,
    CommissionRule,
    DiscountCode,
    Order,
    OrderLine,
    Payee,
    PayeeLocation,
    Product,
    utcnow,
)
from buybutton_server.domain import payees
from buybutton_server.errors import InvalidInput, NotFound, ProductUnavailable

BP = 10_000


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleSpec:
    """A rule as typed: money in minor units of ``currency`` (needed with any amount)."""

    sku: str | None = None
    category: str | None = None
    percent_bp: int = 0
    fixed_amount: int | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    currency: str | None = None


def rule_amount(rule: Any, base: int, quantity: int) -> int:
    """What ``rule`` (a rule or a frozen line: ``percent_bp``, ``fixed_amount``,
    ``min_amount``, ``max_amount``) takes of a line worth ``base`` for ``quantity`` units:
    the percentage rounded down, plus the fixed part per unit, held within min..max, and
    within 0..base."""
    amount = base * rule.percent_bp // BP + (rule.fixed_amount or 0) * quantity
    if rule.min_amount is not None:
        amount = max(amount, rule.min_amount)
    if rule.max_amount is not None:
        amount = min(amount, rule.max_amount)
    return int(max(0, min(amount, base)))


# -- rules -----------------------------------------------------------------------------------


def _money(name: str, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise InvalidInput(f"The rule's {name} must be a whole amount, zero or more.")


def check_rule(session: Session, spec: RuleSpec) -> RuleSpec:
    """The rule, checked; raises :class:`InvalidInput` naming what is wrong. A rule that
    would pay out more than the line is refused: over 100 %, a minimum over its maximum, or
    (for a product) a fixed part or minimum above the product's price."""
    if type(spec.percent_bp) is not int or not 0 <= spec.percent_bp <= BP:
        raise InvalidInput(
            "The percentage is 0-100 % (0-10000 basis points): a rule never takes more "
            "than the line.",
            code="rule_over_line",
        )
    if spec.sku and spec.category:
        raise InvalidInput("A rule names a product or a category, not both.")
    for name in ("fixed_amount", "min_amount", "max_amount"):
        _money(name.replace("_", " "), getattr(spec, name))
    money = (spec.fixed_amount, spec.min_amount, spec.max_amount)
    currency = (spec.currency or "").strip().upper() or None
    if any(v is not None for v in money) and (currency is None or len(currency) != 3):
        raise InvalidInput("A rule with an amount needs its currency (e.g. EUR).")
    if (
        spec.min_amount is not None
        and spec.max_amount is not None
        and spec.min_amount > spec.max_amount
    ):
        raise InvalidInput("The rule's minimum is above its maximum.", code="rule_over_line")
    sku = (spec.sku or "").strip() or None
    if sku is not None:
        product = session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise InvalidInput(f"No product {sku!r}.", code="unknown_sku")
        floor = max(spec.fixed_amount or 0, spec.min_amount or 0)
        if currency == product.currency and floor > product.price_amount:
            raise InvalidInput(
                f"This rule would pay out more than {sku} costs: lower its fixed part or minimum.",
                code="rule_over_line",
            )
    category = (spec.category or "").strip() or None
    return RuleSpec(
        sku=sku,
        category=category,
        percent_bp=spec.percent_bp,
        fixed_amount=spec.fixed_amount,
        min_amount=spec.min_amount,
        max_amount=spec.max_amount,
        currency=currency,
    )


def rules_of(session: Session, payee_id: int) -> list[CommissionRule]:
    return list(
        session.scalars(
            select(CommissionRule)
            .where(CommissionRule.payee_id == payee_id)
            .order_by(CommissionRule.sku, CommissionRule.category, CommissionRule.id)
        )
    )


def add_rule(session: Session, payee_id: int, spec: RuleSpec) -> CommissionRule:
    payee = payees.get_payee(session, payee_id)
    checked = check_rule(session, spec)
    rule = CommissionRule(payee_id=payee.id, **_columns(checked))
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, payee_id: int, rule_id: int, spec: RuleSpec) -> CommissionRule:
    """Change a rule: orders placed already keep the shares frozen on them."""
    rule = _rule(session, payee_id, rule_id)
    payees.get_payee(session, payee_id)
    checked = check_rule(session, spec)
    for name, value in _columns(checked).items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    session.flush()
    return rule


def delete_rule(session: Session, payee_id: int, rule_id: int) -> None:
    session.delete(_rule(session, payee_id, rule_id))
    session.flush()


def _rule(session: Session, payee_id: int, rule_id: int) -> CommissionRule:
    rule = session.get(CommissionRule, rule_id)
    if rule is None or rule.payee_id != payee_id:
        raise NotFound(f"No rule {rule_id} for this payee.")
    return rule


def _columns(spec: RuleSpec) -> dict[str, Any]:
    return {
        "sku": spec.sku,
        "category": spec.category,
        "percent_bp": spec.percent_bp,
        "fixed_amount": spec.fixed_amount,
        "min_amount": spec.min_amount,
        "max_amount": spec.max_amount,
        "currency": spec.currency,
    }


def rule_json(rule: CommissionRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "sku": rule.sku,
        "category": rule.category,
        "percent_bp": rule.percent_bp,
        "fixed_amount": rule.fixed_amount,
        "min_amount": rule.min_amount,
        "max_amount": rule.max_amount,
        "currency": rule.currency,
    }


# -- freezing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    id: int
    sku: str
    quantity: int
    base: int
    category: str | None
    location_id: int | None
    title: str


def _specificity(rule: CommissionRule, line: _Line, currency: str) -> int:
    """3 for the line's product, 2 its category, 1 the payee's default, 0 no match. A rule
    with amounts applies only to orders in its currency."""
    if rule.currency is not None and rule.currency != currency:
        return 0
    if rule.sku is not None:
        return 3 if rule.sku == line.sku else 0
    if rule.category is not None:
        return 2 if line.category is not None and rule.category == line.category else 0
    return 1


def _best(rules: Sequence[CommissionRule], line: _Line, currency: str) -> CommissionRule | None:
    ranked = [(_specificity(r, line, currency), -r.id, r) for r in rules]
    ranked = [item for item in ranked if item[0] > 0]
    return max(ranked, key=lambda item: item[:2])[2] if ranked else None


def _lines(session: Session, order_id: int) -> list[_Line]:
    rows = session.execute(
        select(
            OrderLine.id,
            OrderLine.sku,
            OrderLine.quantity,
            OrderLine.total_amount,
            Product.variant_group,
            OrderLine.location_id,
            OrderLine.title,
        )
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.id)
    ).all()
    return [_Line(*row) for row in rows]


def _creator(session: Session, order: Order, link: CheckoutLink | None) -> Payee | None:
    """The creator an order is attributed to: the link's signed ``creator``, else the owner
    of a discount code the order used. An unknown creator attributes nothing."""
    if link is not None and link.creator:
        found = payees.by_code(session, link.creator)
        return found if found is not None and found.kind == "creator" else None
    codes = (order.discount_codes or "").split()
    if not codes:
        return None
    return session.scalar(
        select(Payee)
        .join(DiscountCode, DiscountCode.payee_id == Payee.id)
        .where(DiscountCode.code.in_(codes), Payee.kind == "creator")
        .order_by(DiscountCode.code)
        .limit(1)
    )


def _seller(
    line: _Line,
    owners: dict[int, Payee],
    sellers: dict[int, list[CommissionRule]],
    people: dict[int, Payee],
    currency: str,
) -> Payee | None:
    """The line's seller: the owner of the location it ships from, else the seller with the
    most specific product or category rule for it; None: the head office."""
    if line.location_id is not None and line.location_id in owners:
        return owners[line.location_id]
    best: tuple[int, int, Payee] | None = None
    for payee_id, rules in sellers.items():
        for rule in rules:
            rank = _specificity(rule, line, currency)
            if rank >= 2 and (best is None or (rank, -rule.id) > best[:2]):
                best = (rank, -rule.id, people[payee_id])
    return best[2] if best else None


# Prebuilt, run on the connection (no ORM execution): both run for every paid order.
_ANY_PAYEE = select(Payee.id).limit(1)
_SHARES = select(CommissionLine.payee_id, CommissionLine.amount).where(
    CommissionLine.order_id == bindparam("order_id")
)


def freeze(
    session: Session, order: Order, lines: Sequence[OrderLine], link: CheckoutLink | None
) -> list[CommissionLine]:
    """Write the order's commission lines (in the placing transaction, after its lines and
    their locations). A seller whose payouts are not enabled gets its lines only if it
    allows falling back to the head office; otherwise the product cannot be sold through it
    now (:class:`ProductUnavailable`, rolling the placement back). Creators' fees never
    take more than the line leaves after the seller's share."""
    if session.connection().execute(_ANY_PAYEE).first() is None:
        return []  # a shop without payees (most shops): one indexed probe, nothing to freeze
    currency = order.currency
    found = _lines(session, order.id)
    if not found:
        return []
    owners: dict[int, Payee] = {}
    at = {ln.location_id for ln in found if ln.location_id is not None}
    if at:
        for location_id, owner in session.execute(
            select(PayeeLocation.location_id, Payee)
            .join(Payee, Payee.id == PayeeLocation.payee_id)
            .where(PayeeLocation.location_id.in_(at))
        ):
            owners[location_id] = owner
    people = {p.id: p for p in session.scalars(select(Payee).where(Payee.kind == "seller"))}
    sellers: dict[int, list[CommissionRule]] = {}
    for rule in session.scalars(
        select(CommissionRule).where(CommissionRule.payee_id.in_(people.keys()))
    ):
        sellers.setdefault(rule.payee_id, []).append(rule)
    creator = _creator(session, order, link)
    creator_rules = rules_of(session, creator.id) if creator is not None else []
    written: list[CommissionLine] = []
    for line in found:
        seller = _seller(line, owners, sellers, people, currency)
        if seller is not None and seller.status != "active":
            if seller.unready == "refuse":
                raise ProductUnavailable(
                    f"{line.title} cannot be sold right now: its store is not ready to be "
                    "paid. Nothing was charged.",
                    code="seller_not_ready",
                )
            seller = None  # the head office sells it
        left = line.base
        if seller is not None:
            taken = _best(sellers.get(seller.id, []), line, currency)
            commission = rule_amount(taken, line.base, line.quantity) if taken else 0
            share = line.base - commission
            written.append(_frozen(order, line, seller, "seller", share, taken))
            left -= share
        if creator is not None:
            earns = _best(creator_rules, line, currency)
            fee = min(rule_amount(earns, line.base, line.quantity), left) if earns else 0
            if fee > 0:
                written.append(_frozen(order, line, creator, "creator", fee, earns))
    _cap(written, order.total_amount)
    session.add_all(written)
    session.flush()
    return written


def _frozen(
    order: Order, line: _Line, payee: Payee, role: str, amount: int, rule: CommissionRule | None
) -> CommissionLine:
    return CommissionLine(
        order_id=order.id,
        order_line_id=line.id,
        payee_id=payee.id,
        role=role,
        sku=line.sku,
        currency=order.currency,
        base_amount=line.base,
        amount=amount,
        rule_id=rule.id if rule else None,
        percent_bp=rule.percent_bp if rule else 0,
        fixed_amount=rule.fixed_amount if rule else None,
        min_amount=rule.min_amount if rule else None,
        max_amount=rule.max_amount if rule else None,
    )


def _cap(written: list[CommissionLine], total: int) -> None:
    """Never owe payees more than the order took (its lines can add up to more than its
    total only when a discount took off shipping too): trim creators' fees, then sellers'
    shares, from the last line back."""
    over = sum(c.amount for c in written) - total
    for role in ("creator", "seller"):
        for frozen in reversed(written):
            if over <= 0:
                return
            if frozen.role == role:
                cut = min(frozen.amount, over)
                frozen.amount -= cut
                over -= cut


def shares(session: Session, order_id: int) -> dict[int, int]:
    """Each payee's frozen share of the order (payee id → minor units)."""
    totals: dict[int, int] = {}
    for payee_id, amount in session.connection().execute(_SHARES, {"order_id": order_id}):
        totals[payee_id] = totals.get(payee_id, 0) + amount
    return totals


def transfer_group(order: Order) -> str:
    return f"order_{order.number}"


def charge_params(session: Session, order_id: int) -> dict[str, Any]:
    """The Stripe Connect parameters for the order's charge (``ChargeRequest.connect``):
    one seller and no creator → a destination charge (``application_fee_amount`` = the head
    office's share, ``transfer_data.destination`` = the seller's account); any other split
    → ``transfer_group`` (transfers follow, tied to the charge); no payee → nothing."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"No order with id {order_id}.")
    rows = session.execute(
        select(CommissionLine.payee_id, CommissionLine.role, CommissionLine.amount).where(
            CommissionLine.order_id == order_id
        )
    ).all()
    if not rows:
        return {}
    roles = {(payee_id, role) for payee_id, role, _ in rows}
    if len(roles) == 1 and next(iter(roles))[1] == "seller":
        payee = session.get(Payee, rows[0][0])
        if payee is not None and payee.stripe_account:
            fee = order.total_amount - sum(amount for _, _, amount in rows)
            return {
                "application_fee_amount": fee,
                "transfer_data": {"destination": payee.stripe_account},
                "transfer_group": transfer_group(order),
            }
    return {"transfer_group": transfer_group(order)}


def is_destination(session: Session, order_id: int) -> bool:
    return "transfer_data" in charge_params(session, order_id)
