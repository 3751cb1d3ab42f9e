"""Discount codes through the API, the command line and the admin: create, list, disable,
enable. The rules are the domain's (:mod:`buybutton_server.domain.discount_codes`).

The API takes amounts in minor units (``amount``, ``min_subtotal``) and a percentage in
basis points (``percent_bp``: 1500 = 15 %). People type major units and percentages
("12.50", "15"): :func:`spec_from_text` reads what the command line and the admin form
give, with one specific message per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from buybutton.money import format_amount, parse_amount
from buybutton_server.db import Sessions, read_session, write_session
from buybutton_server.db import models as db
from buybutton_server.db.models import utcnow
from buybutton_server.domain import discount_codes
from buybutton_server.domain.catalog import AMOUNT_MAX
from buybutton_server.domain.discount_codes import (
    LIMIT_MAX,
    SKUS_MAX,
    TITLE_MAX,
    CodeSpec,
    check_code,
)
from buybutton_server.domain.outbox import iso_time
from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import (
    Answer,
    Input,
    ListQuery,
    Moment,
    Money,
    Timestamp,
    page,
    rule,
    schema,
)
from buybutton_server.services.catalog import Currency, Sku

Code = Annotated[
    str, Field(max_length=32), rule(check_code), schema(pattern="^[A-Za-z0-9_-]{3,32}$")
]
Kind = Literal["percent", "fixed", "free_shipping"]
Scope = Literal["all", "products", "collection"]
Limit = Annotated[int, Field(ge=1, le=LIMIT_MAX)]
Minor = Annotated[int, Field(ge=0, le=AMOUNT_MAX, description="minor units")]
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]*)?|\.[0-9]+")  # ASCII digits, no sign or exponent


class DiscountCodeCreate(Input):
    """A new code. ``percent`` codes need ``percent_bp`` (1500 = 15 %); ``fixed`` codes
    ``amount`` and ``currency``; ``free_shipping`` codes neither. ``min_subtotal`` (with
    ``currency``) is the least the lines in scope must come to. ``scope`` ``products``
    names ``skus``; ``collection`` names a variant group."""

    code: Code
    kind: Kind
    title: Annotated[str, Field(max_length=TITLE_MAX, description="defaults to the code")] = ""
    percent_bp: Annotated[int, Field(ge=1, le=10000)] | None = None
    amount: Annotated[int, Field(ge=1, le=AMOUNT_MAX, description="minor units")] | None = None
    currency: Currency | None = None
    min_subtotal: Minor | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    usage_limit: Limit | None = None
    per_customer_limit: Limit | None = None
    scope: Scope = "all"
    skus: Annotated[list[Sku], Field(max_length=SKUS_MAX)] = []
    collection: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    def spec(self) -> CodeSpec:
        return CodeSpec(
            code=self.code,
            kind=self.kind,
            title=self.title,
            percent_bp=self.percent_bp,
            amount=self.amount,
            currency=self.currency,
            min_subtotal=self.min_subtotal,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            usage_limit=self.usage_limit,
            per_customer_limit=self.per_customer_limit,
            scope=self.scope,
            skus=tuple(self.skus),
            collection=self.collection,
        )


class DiscountCode(Answer):
    code: str
    title: str
    kind: Kind
    percent_bp: int | None
    amount: Money | None
    min_subtotal: Money | None
    starts_at: Timestamp | None
    ends_at: Timestamp | None
    usage_limit: int | None
    times_used: int
    per_customer_limit: int | None
    scope: Scope
    skus: list[str]
    collection: str | None
    active: bool
    state: Annotated[str, Field(description="active, scheduled, expired, used up or disabled")]
    created_at: Timestamp | None

    @classmethod
    def of(cls, row: db.DiscountCode, now: datetime | None = None) -> DiscountCode:
        def money(amount: int | None) -> Money | None:
            return (
                None if amount is None or row.currency is None else Money.of(amount, row.currency)
            )

        return cls(
            code=row.code,
            title=row.title,
            kind=row.kind,
            percent_bp=row.percent_bp,
            amount=money(row.amount),
            min_subtotal=money(row.min_subtotal),
            starts_at=iso_time(row.starts_at),
            ends_at=iso_time(row.ends_at),
            usage_limit=row.usage_limit,
            times_used=row.times_used,
            per_customer_limit=row.per_customer_limit,
            scope=row.scope,
            skus=[entry.sku for entry in row.skus],
            collection=row.collection,
            active=row.active,
            state=discount_codes.state(row, now or utcnow()),
            created_at=iso_time(row.created_at),
        )


class DiscountCodeList(Answer):
    data: list[DiscountCode]
    next_cursor: str | None


class DiscountCodeQuery(ListQuery):
    pass


def takes_off(code: DiscountCode) -> str:
    """What the code takes off, in words: ``15% off``, ``€5.00 off``, ``Free shipping``."""
    if code.kind == "percent" and code.percent_bp is not None:
        return f"{code.percent_bp / 100:g}% off"
    if code.kind == "fixed" and code.amount is not None:
        return f"{format_amount(code.amount.amount, code.amount.currency)} off"
    return "Free shipping"


def create_code(sessions: Sessions, body: DiscountCodeCreate) -> DiscountCode:
    return create_from_spec(sessions, body.spec())


def create_from_spec(sessions: Sessions, spec: CodeSpec) -> DiscountCode:
    with write_session(sessions) as session:
        return DiscountCode.of(discount_codes.create_code(session, spec))


def list_codes(sessions: Sessions, query: DiscountCodeQuery) -> DiscountCodeList:
    with read_session(sessions) as session:
        rows = discount_codes.codes_after(session, query.cursor, query.limit + 1)
        shown, cursor = page(rows, query.limit, lambda c: c.id)
        now = utcnow()
        return DiscountCodeList(data=[DiscountCode.of(c, now) for c in shown], next_cursor=cursor)


def all_codes(sessions: Sessions, limit: int = 500) -> list[DiscountCode]:
    """The first ``limit`` codes, oldest first (the command line's and the admin's list)."""
    with read_session(sessions) as session:
        now = utcnow()
        return [DiscountCode.of(c, now) for c in discount_codes.codes_after(session, 0, limit)]


def get_code(sessions: Sessions, code: str) -> DiscountCode:
    with read_session(sessions) as session:
        return DiscountCode.of(discount_codes.require_code(session, code))


def disable_code(sessions: Sessions, code: str) -> DiscountCode:
    with write_session(sessions) as session:
        return DiscountCode.of(discount_codes.set_active(session, code, False))


def enable_code(sessions: Sessions, code: str) -> DiscountCode:
    with write_session(sessions) as session:
        return DiscountCode.of(discount_codes.set_active(session, code, True))


# -- what people type -----------------------------------------------------------------------


def _percent(text: str) -> int | None:
    text = text.strip().removesuffix("%").strip()
    if not text:
        return None
    # A plain decimal only, checked before Decimal sees it: "1E+999999999" would overflow.
    if len(text) > 16 or not _PERCENT.fullmatch(text):
        raise InvalidInput(f"percent {text[:16]!r} is not a number, e.g. 15 or 12.5")
    bp = Decimal(text) * 100
    if bp != bp.to_integral_value() or not 1 <= bp <= 10000:
        raise InvalidInput("percent must be from 0.01 to 100, with at most two decimals")
    return int(bp)


def _major(name: str, text: str, currency: str | None) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not currency:
        raise InvalidInput(f"{name} needs a currency, e.g. EUR")
    try:
        return parse_amount(text, currency.upper())
    except ValueError as problem:
        raise InvalidInput(f"{name}: {problem}") from None


def _moment(name: str, text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-12-01 or 2026-12-01T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(name: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    whole = text.isascii() and text.isdigit() and len(text) <= 9  # not "١٢", not 5,000 digits
    if not whole or not 1 <= int(text) <= LIMIT_MAX:
        raise InvalidInput(f"{name} must be a whole number from 1 to {LIMIT_MAX}, or empty")
    return int(text)


def spec_from_text(fields: Mapping[str, str], skus: Sequence[str] = ()) -> CodeSpec:
    """A code as typed at a terminal or in the admin's form: ``percent`` ("15"),
    ``amount`` and ``min_subtotal`` in major units ("12.50") of ``currency``, dates as
    ISO dates or times (UTC unless a zone is given), limits as whole numbers; blank fields
    are left out."""
    kind = fields.get("kind", "").strip()
    currency = fields.get("currency", "").strip().upper() or None
    amount = _major("amount", fields.get("amount", ""), currency) if kind == "fixed" else None
    minimum = _major("minimum order", fields.get("min_subtotal", ""), currency)
    if amount is None and minimum is None:
        currency = None  # a percentage or free shipping without a minimum: every currency
    return CodeSpec(
        code=fields.get("code", ""),
        kind=kind,
        title=fields.get("title", ""),
        percent_bp=_percent(fields.get("percent", "")) if kind == "percent" else None,
        amount=amount,
        currency=currency,
        min_subtotal=minimum,
        starts_at=_moment("starts", fields.get("starts_at", "")),
        ends_at=_moment("ends", fields.get("ends_at", "")),
        usage_limit=_count("usage limit", fields.get("usage_limit", "")),
        per_customer_limit=_count("per-customer limit", fields.get("per_customer_limit", "")),
        scope=fields.get("scope", "").strip() or "all",
        skus=tuple(s.strip() for s in skus if s.strip()),
        collection=fields.get("collection", "").strip() or None,
    )
