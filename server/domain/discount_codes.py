"""The merchant's discount codes: create (every rule checked, with a message naming the
field), list, disable and enable. What a code does at checkout is
:mod:`buybutton_server.domain.discounts`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import DiscountCode, DiscountCodeSku, Product
from buybutton_server.domain.catalog import AMOUNT_MAX, check_currency
from buybutton_server.domain.discounts import CODE_PATTERN, aware, normalise
from buybutton_server.errors import Conflict, InvalidInput, NotFound

KINDS = ("percent", "fixed", "free_shipping")
SCOPES = ("all", "products", "collection")
TITLE_MAX = 100
SKUS_MAX = 100
LIMIT_MAX = 10**9
CODE_RULE = "letters, digits, '-' and '_' (3-32)"


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """A new code as the merchant described it; amounts in minor units of ``currency``."""

    code: str
    kind: str
    title: str = ""
    percent_bp: int | None = None
    amount: int | None = None
    currency: str | None = None
    min_subtotal: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    scope: str = "all"
    skus: tuple[str, ...] = ()
    collection: str | None = None


def check_code(code: str) -> str:
    """The code as stored (upper case), or :class:`InvalidInput`."""
    name = normalise(code)
    if len(name) < 3 or not CODE_PATTERN.fullmatch(name):
        raise InvalidInput(f"code may use only {CODE_RULE}")
    return name


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and not 1 <= value <= LIMIT_MAX:
        raise InvalidInput(f"{name} must be a whole number from 1 to {LIMIT_MAX}, or empty")


def _check_kind(spec: CodeSpec) -> None:
    if spec.kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if spec.kind == "percent":
        if spec.percent_bp is None or not 1 <= spec.percent_bp <= 10000:
            raise InvalidInput("a percent code needs a percentage from 0.01 to 100")
    elif spec.percent_bp is not None:
        raise InvalidInput(f"only a percent code takes a percentage, not a {spec.kind} code")
    if spec.kind == "fixed":
        if spec.amount is None or not 1 <= spec.amount <= AMOUNT_MAX:
            raise InvalidInput("a fixed code needs an amount above zero")
    elif spec.amount is not None:
        raise InvalidInput(f"only a fixed code takes an amount, not a {spec.kind} code")


def _check_money(spec: CodeSpec) -> str | None:
    if spec.min_subtotal is not None and not 0 <= spec.min_subtotal <= AMOUNT_MAX:
        raise InvalidInput(f"min_subtotal must be from 0 to {AMOUNT_MAX} minor units")
    if spec.currency is None:
        if spec.amount is not None or spec.min_subtotal is not None:
            raise InvalidInput("an amount or a minimum order needs a currency")
        return None
    return check_currency(spec.currency)


def _check_dates(spec: CodeSpec) -> None:
    for name, moment in (("starts_at", spec.starts_at), ("ends_at", spec.ends_at)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone, e.g. 2026-12-01T00:00:00Z")
    if spec.starts_at and spec.ends_at and spec.ends_at <= spec.starts_at:
        raise InvalidInput("ends_at must be after starts_at")


def _check_scope(session: Session, spec: CodeSpec) -> tuple[tuple[str, ...], str | None]:
    if spec.scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
    if spec.scope == "products":
        skus = tuple(dict.fromkeys(spec.skus))
        if not 1 <= len(skus) <= SKUS_MAX:
            raise InvalidInput(f"a code for some products needs 1 to {SKUS_MAX} skus")
        known = set(session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
        missing = [sku for sku in skus if sku not in known]
        if missing:
            raise InvalidInput(f"no product with sku {missing[0]!r}")
        return skus, None
    if spec.skus:
        raise InvalidInput("skus go with scope 'products'")
    if spec.scope == "collection":
        group = (spec.collection or "").strip()
        found = group and session.scalar(
            select(Product.id).where(Product.variant_group == group).limit(1)
        )
        if not found:
            raise InvalidInput(f"no product is in the collection (variant group) {group!r}")
        return (), group
    if spec.collection:
        raise InvalidInput("collection goes with scope 'collection'")
    return (), None


def create_code(session: Session, spec: CodeSpec) -> DiscountCode:
    """A new code, every rule checked first; :class:`Conflict` if the code exists."""
    name = check_code(spec.code)
    title = spec.title.strip() or name
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"title is longer than {TITLE_MAX} characters")
    _check_kind(spec)
    currency = _check_money(spec)
    _check_dates(spec)
    _check_limit("usage_limit", spec.usage_limit)
    _check_limit("per_customer_limit", spec.per_customer_limit)
    skus, collection = _check_scope(session, spec)
    if session.scalar(select(DiscountCode.id).where(DiscountCode.code == name)) is not None:
        raise Conflict(f"A code {name} already exists.")
    code = DiscountCode(
        code=name,
        title=title,
        kind=spec.kind,
        percent_bp=spec.percent_bp,
        amount=spec.amount,
        currency=currency,
        min_subtotal=spec.min_subtotal,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        usage_limit=spec.usage_limit,
        times_used=0,
        per_customer_limit=spec.per_customer_limit,
        scope=spec.scope,
        collection=collection,
        active=True,
        skus=[DiscountCodeSku(sku=sku) for sku in skus],
    )
    session.add(code)
    try:
        session.flush()
    except IntegrityError:  # created at the same moment by another request
        raise Conflict(f"A code {name} already exists.") from None
    return code


def codes_after(session: Session, after_id: int, limit: int) -> Sequence[DiscountCode]:
    """Codes in the order they were made, from after ``after_id`` (a page of a list)."""
    return session.scalars(
        select(DiscountCode)
        .options(selectinload(DiscountCode.skus))
        .where(DiscountCode.id > after_id)
        .order_by(DiscountCode.id)
        .limit(limit)
    ).all()


def require_code(session: Session, code: str) -> DiscountCode:
    found = session.scalar(
        select(DiscountCode)
        .options(selectinload(DiscountCode.skus))
        .where(DiscountCode.code == normalise(code))
    )
    if found is None:
        raise NotFound(f"There is no discount code {normalise(code)[:40]}.")
    return found


def set_active(session: Session, code: str, active: bool) -> DiscountCode:
    """Disable a code (checkouts stop taking it; orders placed keep their discount) or
    enable it again."""
    found = require_code(session, code)
    found.active = active
    session.flush()
    return found


def state(code: DiscountCode, now: datetime) -> str:
    """A word for lists: disabled, scheduled, expired, used up or active."""
    if not code.active:
        return "disabled"
    if code.starts_at is not None and aware(code.starts_at) > now:
        return "scheduled"
    if code.ends_at is not None and aware(code.ends_at) <= now:
        return "expired"
    if code.usage_limit is not None and code.times_used >= code.usage_limit:
        return "used up"
    return "active"


DEMO_CODES = (
    CodeSpec(code="WELCOME10", kind="percent", title="10% off your first order", percent_bp=1000),
    CodeSpec(code="SHIPFREE", kind="free_shipping", title="Free shipping"),
)


def seed_demo_codes(session: Session) -> int:
    """The demo shop's codes (10% off, free shipping), each made once: how many were made."""
    made = 0
    for spec in DEMO_CODES:
        exists = session.scalar(select(DiscountCode.id).where(DiscountCode.code == spec.code))
        if exists is None:
            create_code(session, spec)
            made += 1
    return made
