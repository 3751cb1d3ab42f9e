"""Discount codes at checkout: which codes apply to a cart and what they take off
(:func:`evaluate`, a read), and each code's use counted when an order is placed
(:func:`redeem`) and given back when it fails or is canceled (:func:`release`).

Rules (docs/discounts.md):

- Codes are case-insensitive: a typed code is stripped and upper-cased. Blank entries are
  skipped; the same code twice is applied once.
- A code applies when it is active, ``starts_at <= now < ends_at``, the cart's currency is
  the code's (codes with an amount or a minimum have one), the cart has lines in the code's
  scope (all, some skus, or a collection = a variant group), the in-scope lines come to at
  least ``min_subtotal``, and the code is not used up (in total, or by this email).
- Stacking: at most ONE order discount (a percent or fixed code) plus at most ONE
  free-shipping code. Further codes are refused with ``discount_code_combination_disallowed``.
- Percent: each in-scope line gets ``subtotal * bp / 10000``, rounded half up per line.
  Fixed: ``min(amount, in-scope subtotal)`` shared over the in-scope lines in proportion to
  their subtotals by largest remainder (:func:`allocate`), so the shares add up exactly and
  no line goes below zero. Free shipping: ``free_shipping=True``, line amounts zero; pricing
  takes the shipping off.
- A code that does not apply is a warning :class:`Message` with path
  ``$.discounts.codes[i]`` (``i`` the index in the codes given): the checkout goes on
  without it.

Race safety: :func:`redeem` runs inside the order-placing transaction. Each code is counted
with one conditional ``UPDATE`` (never past ``usage_limit``; a CHECK is the backstop). That
``UPDATE`` also takes the code row's lock until commit (PostgreSQL; SQLite has one writer),
so the per-customer count that follows it cannot be raced by another order for the same
code: the lock serialises them, and the second one counts the first one's redemption.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    BindParameter,
    CursorResult,
    DateTime,
    Integer,
    Table,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from buybutton.money import format_amount
from buybutton_server.db.models import DiscountCode, DiscountRedemption, utcnow
from buybutton_server.domain.allocation import allocate
from buybutton_server.domain.checkout_model import CartLine, DiscountGrant, Message, Severity
from buybutton_server.errors import Conflict

CODE_PATTERN = re.compile(r"[A-Z0-9_-]{1,32}")
MAX_CODES = 5  # codes looked at per checkout; more are refused

INVALID = "discount_code_invalid"
EXPIRED = "discount_code_expired"
ALREADY = "discount_code_already_applied"
COMBINATION = "discount_code_combination_disallowed"
INELIGIBLE = "discount_code_user_ineligible"

_CODES: Table = DiscountCode.metadata.tables["discount_codes"]
_C = _CODES.c
_ID: BindParameter[int] = bindparam("code_id", type_=Integer)
_NOW: BindParameter[datetime] = bindparam("now", type_=DateTime(timezone=True))
_COUNT_USE = (
    update(_CODES)
    .where(
        _C.id == _ID,
        _C.active.is_(True),
        or_(_C.usage_limit.is_(None), _C.times_used < _C.usage_limit),
        or_(_C.starts_at.is_(None), _C.starts_at <= _NOW),
        or_(_C.ends_at.is_(None), _C.ends_at > _NOW),
    )
    .values(times_used=_C.times_used + 1)
)
_GIVE_BACK = (
    update(_CODES).where(_C.id == _ID, _C.times_used > 0).values(times_used=_C.times_used - 1)
)
_REDEMPTIONS: Table = DiscountRedemption.metadata.tables["discount_redemptions"]
_R = _REDEMPTIONS.c
_RELEASE = (
    update(_REDEMPTIONS)
    .where(_R.id == bindparam("redemption_id", type_=Integer), _R.released_at.is_(None))
    .values(released_at=_NOW)
)


def normalise(code: str) -> str:
    """What a typed code is matched as: no surrounding blanks, upper case."""
    return code.strip().upper()


def email_hash(email: str | None) -> str | None:
    """SHA-256 of the email, trimmed and lower-cased: how per-customer limits know a buyer
    without keeping the address."""
    if not email or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date(moment: datetime) -> str:
    return aware(moment).strftime("%d %B %Y").lstrip("0")


def _in_scope(code: DiscountCode, line: CartLine) -> bool:
    if code.scope == "products":
        return line.product.sku in {entry.sku for entry in code.skus}
    if code.scope == "collection":
        return line.product.collection is not None and line.product.collection == code.collection
    return True


def _used_by(session: Session, code_id: int, hashed: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DiscountRedemption)
            .where(
                DiscountRedemption.code_id == code_id,
                DiscountRedemption.email_hash == hashed,
                DiscountRedemption.released_at.is_(None),
            )
        )
        or 0
    )


def _refusal(
    session: Session,
    code: DiscountCode,
    lines: Sequence[CartLine],
    currency: str,
    hashed: str | None,
    now: datetime,
) -> tuple[str, str] | None:
    """Why ``code`` does not apply to this cart (a UCP code and words), or None."""
    name = code.code
    if not code.active:
        return INVALID, f"Code {name} is no longer valid."
    if code.starts_at is not None and aware(code.starts_at) > now:
        return INVALID, f"Code {name} is valid from {_date(code.starts_at)}."
    if code.ends_at is not None and aware(code.ends_at) <= now:
        return EXPIRED, f"Code {name} expired on {_date(code.ends_at)}."
    if code.currency is not None and code.currency != currency:
        return INVALID, f"Code {name} works for orders in {code.currency} only."
    eligible = sum(line.subtotal for line in lines if _in_scope(code, line))
    if not any(_in_scope(code, line) for line in lines):
        return INVALID, f"Code {name} does not apply to the items in your cart."
    if code.min_subtotal is not None and eligible < code.min_subtotal:
        least = format_amount(code.min_subtotal, currency)
        where = "" if code.scope == "all" else " on the items it applies to"
        return INVALID, f"Code {name} needs an order of at least {least}{where}."
    if code.usage_limit is not None and code.times_used >= code.usage_limit:
        return INVALID, f"Code {name} has been used up."
    if code.per_customer_limit is not None and hashed is not None:
        if _used_by(session, code.id, hashed) >= code.per_customer_limit:
            return INELIGIBLE, f"You have already used code {name}."
    return None


def _grant(code: DiscountCode, lines: Sequence[CartLine]) -> DiscountGrant:
    scoped = [line.subtotal if _in_scope(code, line) else 0 for line in lines]
    if code.kind == "free_shipping":
        amounts: tuple[int, ...] = tuple(0 for _ in lines)
        return DiscountGrant(code.code, code.title, amounts, free_shipping=True)
    if code.kind == "percent":
        bp = code.percent_bp or 0
        amounts = tuple(min((s * bp + 5000) // 10000, s) for s in scoped)
    else:
        amounts = allocate(min(code.amount or 0, sum(scoped)), scoped)
    return DiscountGrant(code.code, code.title, amounts)


def _lookup(session: Session, names: Sequence[str]) -> dict[str, DiscountCode]:
    if not names:
        return {}
    found = session.scalars(select(DiscountCode).where(DiscountCode.code.in_(set(names))))
    return {code.code: code for code in found}


def evaluate(
    session: Session,
    codes: Sequence[str],
    lines: Sequence[CartLine],
    *,
    currency: str,
    email: str | None,
    now: datetime,
) -> tuple[tuple[DiscountGrant, ...], tuple[Message, ...]]:
    """The grants of the codes that apply to ``lines`` (in the order given) and a warning
    for each code that does not. Reads only; nothing is counted until :func:`redeem`."""
    now = aware(now)
    names = [normalise(code) for code in codes]
    known = _lookup(session, [n for n in names[:MAX_CODES] if CODE_PATTERN.fullmatch(n)])
    hashed = email_hash(email)
    grants: list[DiscountGrant] = []
    messages: list[Message] = []
    seen: set[str] = set()
    order_discount = free_shipping = False

    def warn(index: int, code: str, content: str) -> None:
        path = f"$.discounts.codes[{index}]"
        messages.append(Message(Severity.WARNING, code, content, path))

    for index, name in enumerate(names):
        if not name:
            continue
        if index >= MAX_CODES:
            warn(index, COMBINATION, f"At most {MAX_CODES} codes can be tried at once.")
            continue
        code = known.get(name)
        if code is None:
            shown = name if CODE_PATTERN.fullmatch(name) else "This"
            warn(index, INVALID, f"{shown} is not a code we know.")
            continue
        if name in seen:
            warn(index, ALREADY, f"Code {name} is already applied.")
            continue
        refusal = _refusal(session, code, lines, currency, hashed, now)
        if refusal is not None:
            warn(index, *refusal)
            continue
        shipping = code.kind == "free_shipping"
        if free_shipping if shipping else order_discount:
            kind = "free-shipping code" if shipping else "discount code (percent or amount)"
            warn(index, COMBINATION, f"Only one {kind} per order: {name} was not applied.")
            continue
        seen.add(name)
        if shipping:
            free_shipping = True
        else:
            order_discount = True
        grants.append(_grant(code, lines))
    return tuple(grants), tuple(messages)


def _affected(result: object) -> int:
    return cast("CursorResult[object]", result).rowcount


def _why_not(code: DiscountCode, now: datetime) -> str:
    if not code.active:
        return f"This code ({code.code}) is no longer valid."
    if code.starts_at is not None and aware(code.starts_at) > now:
        return f"This code ({code.code}) is not valid yet."
    if code.ends_at is not None and aware(code.ends_at) <= now:
        return f"This code ({code.code}) has expired."
    return f"This code ({code.code}) has just been used up."


def redeem(
    session: Session,
    grants: Sequence[DiscountGrant],
    *,
    order_id: int,
    email: str | None,
    now: datetime | None = None,
) -> None:
    """Count each granted code for the order ``order_id``, inside the transaction that
    places it. Raises :class:`Conflict` (``discount_code_used_up``) when a code was used up,
    expired or disabled since the checkout was priced, or this email reached the code's
    per-customer limit: the caller rolls back, so nothing is reserved or charged."""
    moment = aware(now or utcnow())
    hashed = email_hash(email)
    connection = session.connection()
    for grant in grants:
        code = session.scalar(select(DiscountCode).where(DiscountCode.code == grant.code))
        if code is None:
            raise Conflict(f"This code ({grant.code}) no longer exists.", code=INVALID)
        counted = connection.execute(_COUNT_USE, {"code_id": code.id, "now": moment})
        if _affected(counted) != 1:
            session.refresh(code)
            raise Conflict(_why_not(code, moment), code="discount_code_used_up")
        # The UPDATE above holds the code row's lock until commit: the count below cannot
        # be raced by another order for the same code.
        limit = code.per_customer_limit
        if limit is not None and hashed is not None and _used_by(session, code.id, hashed) >= limit:
            raise Conflict(f"You have already used code {code.code}.", code=INELIGIBLE)
        session.add(
            DiscountRedemption(
                code_id=code.id, order_id=order_id, email_hash=hashed, created_at=moment
            )
        )
    session.flush()


def release(session: Session, order_id: int, *, now: datetime | None = None) -> int:
    """Give back the codes of an order that failed or was canceled: each use is marked
    released and the code's count goes down by one. Idempotent (a second call, or a
    concurrent one, releases nothing more). Returns how many uses were given back."""
    moment = aware(now or utcnow())
    connection = session.connection()
    held = session.execute(
        select(DiscountRedemption.id, DiscountRedemption.code_id).where(
            DiscountRedemption.order_id == order_id, DiscountRedemption.released_at.is_(None)
        )
    ).all()
    released = 0
    for redemption_id, code_id in held:
        marked = connection.execute(_RELEASE, {"redemption_id": redemption_id, "now": moment})
        if _affected(marked) == 1:
            connection.execute(_GIVE_BACK, {"code_id": code_id})
            released += 1
    return released
