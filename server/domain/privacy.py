"""The shopper's data, erased: by request (an email) or by age (unpaid orders).

What an erasure does (docs/privacy.md has the list for people):

- **Orders** keep what accounting needs: number, amounts, lines, dates, status, currency,
  the country and region taxed, the payment reference. The email becomes
  ``erased-<8 hex>@invalid``, the name ``Erased``, the street, city and postal code
  ``[erased]``; the client-derived hold keys are cleared.
- **Short links** pre-filled for the email lose every pre-fill (email, name, address); the
  link still sells the product.
- **Emails** to it, or about its orders: the address becomes the placeholder, the stored
  bodies go (a preview is composed again from the scrubbed data), one still waiting is not
  sent.
- **JSON records** (webhook payloads in the outbox, idempotency answers, UCP sessions): the
  email is replaced wherever it appears, and so are the names and address lines next to it
  or of the erased orders.
- **Discount redemptions** lose their email hash; **returns** of the orders the shopper's note.
- Last, every text column of every table (merchant logins aside) is searched for the email,
  case-insensitively, and any occurrence replaced.

All of it runs in the caller's transaction: an erasure is whole or nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, func, or_, select, update
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    Base,
    DiscountRedemption,
    Erasure,
    MailMessage,
    Order,
    ShortLink,
    utcnow,
)
from buybutton_server.domain.mail.emails import address_lines
from buybutton_server.domain.outbox import order_json
from buybutton_server.domain.privacy_scrub import (
    ERASED_NAME,
    ERASED_TEXT,
    Facts,
    loads,
    normal,
    scrub_json,
    scrub_json_columns,
    sweep,
)
from buybutton_server.errors import InvalidInput

PLACEHOLDER_DOMAIN = "invalid"  # RFC 2606: never delivered
EMAIL_MAX = 254
UNSENT = "not sent: the recipient's data was erased"
# What a short link keeps: the product and the placement. Everything else is pre-fill.
_LINK_KEEPS = frozenset(
    {"id", "code", "sku", "quantity", "source", "campaign", "content", "items", "codes"}
    | {"created_at"}
)


def check_email(email: str) -> str:
    """The address asked about, trimmed; :class:`InvalidInput` for something that is not one."""
    cleaned = email.strip()
    local, at, domain = cleaned.rpartition("@")
    if (
        not at
        or not local
        or not domain
        or len(cleaned) > EMAIL_MAX
        or any(c.isspace() for c in cleaned)
    ):
        raise InvalidInput("email must be an email address, e.g. ana@example.com.")
    return cleaned


def email_hash(email: str) -> str:
    """SHA-256 of the normalised address, as discount redemptions keep it."""
    return hashlib.sha256(normal(email).encode()).hexdigest()


def placeholder(email: str) -> str:
    """``erased-<8 hex>@invalid``: what an erased address becomes (the same for one address,
    so an erased shopper's orders still group together, and nothing to send to)."""
    return f"erased-{email_hash(email)[:8]}@{PLACEHOLDER_DOMAIN}"


def is_placeholder(email: str | None) -> bool:
    return (
        bool(email)
        and str(email).startswith("erased-")
        and str(email).endswith("@" + PLACEHOLDER_DOMAIN)
    )


@dataclass
class Erased:
    """What one erasure changed, per kind of record."""

    counts: Counter[str] = field(default_factory=Counter)
    # The Message-IDs of the emails changed: their copies in the development mail folder go.
    message_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts.items() if n) or "nothing held"


# -- the records -------------------------------------------------------------------------------


def _erase_orders(session: Session, orders: Sequence[Order], facts: Facts) -> None:
    """Replace the personal fields of ``orders``; learn what they were and became."""
    for order in orders:
        facts.learn(
            order.name, order.ship_line1, order.ship_line2, order.ship_city, order.ship_postal_code
        )
        facts.emails.setdefault(normal(order.email), placeholder(order.email))
        order.email = placeholder(order.email)
        order.name = ERASED_NAME
        for attr in ("ship_line1", "ship_line2", "ship_city", "ship_postal_code"):
            if getattr(order, attr) is not None:
                setattr(order, attr, ERASED_TEXT)
        order.hold_client = order.hold_link = None
        facts.orders[order.number] = {
            "email": order.email,
            "name": order.name,
            "shipping": order_json(order)["shipping"],
            "address": address_lines(order),
        }
    session.flush()


def _erase_mail(session: Session, where: Any, facts: Facts, sent: list[str]) -> int:
    """Emails to an erased address or about an erased order: address replaced, bodies
    dropped (composed again from the scrubbed data for a preview), none sent any more."""
    rows = session.scalars(select(MailMessage).where(where)).all()
    for row in rows:
        if row.message_id:
            sent.append(row.message_id)
        row.to_address = facts.emails.get(normal(row.to_address), row.to_address)
        row.subject = facts.swap_text(row.subject)
        row.data = json.dumps(scrub_json(loads(row.data) or {}, facts), separators=(",", ":"))
        row.text_body = row.html_body = None
        if row.last_error:
            row.last_error = facts.swap_email(row.last_error)
        if row.status in ("queued", "sending"):
            row.status, row.claim, row.last_error = "failed", None, UNSENT
    return len(rows)


def _erase_returns(session: Session, order_ids: Sequence[int]) -> int:
    """The shopper's own words on the returns of erased orders (the reason code stays)."""
    table = Base.metadata.tables.get("returns")
    if table is None or "note" not in table.c or not order_ids:
        return 0
    return _changed(
        session,
        update(table)
        .where(table.c.order_id.in_(order_ids), table.c.note.is_not(None))
        .values(note=ERASED_TEXT),
    )


def _erase_redemptions(session: Session, order_ids: Sequence[int], hashed: str | None) -> int:
    conditions: list[ColumnElement[bool]] = []
    if order_ids:
        conditions.append(DiscountRedemption.order_id.in_(order_ids))
    if hashed:
        conditions.append(DiscountRedemption.email_hash == hashed)
    if not conditions:
        return 0
    return _changed(
        session,
        update(DiscountRedemption)
        .where(or_(*conditions), DiscountRedemption.email_hash.is_not(None))
        .values(email_hash=None),
    )


def _erase_links(session: Session, email: str, facts: Facts) -> int:
    """Short links pre-filled for ``email`` lose every pre-fill column."""
    table = cast(Table, ShortLink.__table__)
    prefill = [c for c in table.columns if c.name not in _LINK_KEEPS and c.nullable]
    links = session.execute(
        select(table.c.id, *prefill).where(func.lower(table.c.email) == email)
    ).all()
    for link in links:
        facts.learn(*(link._mapping[c.name] for c in prefill if c.name != "email"))
    if links:
        session.execute(
            update(table)
            .where(table.c.id.in_([link[0] for link in links]))
            .values({c.name: None for c in prefill})
        )
    return len(links)


def _changed(session: Session, statement: Any) -> int:
    return int(cast("CursorResult[Any]", session.execute(statement)).rowcount or 0)


# -- the two ways in ---------------------------------------------------------------------------


def erase_email(session: Session, email: str, *, via: str, now: datetime | None = None) -> Erased:
    """Erase everything held about ``email`` (see the module's docstring), and record that it
    was done. An address with nothing held changes nothing and records nothing."""
    needle = normal(check_email(email))
    facts = Facts(emails={needle: placeholder(needle)})
    done = Erased()
    orders = session.scalars(
        select(Order).where(func.lower(Order.email) == needle).order_by(Order.id)
    ).all()
    order_ids = [order.id for order in orders]
    _erase_orders(session, orders, facts)
    done.counts["orders"] = len(orders)
    done.counts["short links"] = _erase_links(session, needle, facts)
    mail_where = func.lower(MailMessage.to_address) == needle
    if order_ids:
        mail_where = or_(mail_where, MailMessage.order_id.in_(order_ids))
    done.counts["emails"] = _erase_mail(session, mail_where, facts, done.message_ids)
    done.counts["discount redemptions"] = _erase_redemptions(session, order_ids, email_hash(needle))
    done.counts["return notes"] = _erase_returns(session, order_ids)
    session.flush()
    json_done = scrub_json_columns(session, facts, [needle, *facts.orders])
    json_done.pop("emails", None)  # counted above
    done.counts.update(json_done)
    session.flush()
    done.counts["other records"] = sweep(session, facts)
    if done.total:
        session.add(
            Erasure(
                email_hash=email_hash(needle),
                via=via,
                orders=len(orders),
                records=done.total,
                created_at=now or utcnow(),
            )
        )
    return done


UNPAID = ("failed", "canceled")


def unpaid_before(before: datetime, now: datetime) -> tuple[Any, ...]:
    """Orders never paid whose data is past its period, not erased yet: failed or canceled,
    or still pending with their hold ended, and placed before ``before``."""
    ended = or_(Order.reserved_until.is_(None), Order.reserved_until < now)
    return (
        Order.created_at < before,
        or_(Order.status.in_(UNPAID), (Order.status == "pending") & ended),
        ~Order.email.like(f"erased-%@{PLACEHOLDER_DOMAIN}"),
    )


def erase_orders(session: Session, order_ids: Iterable[int]) -> Erased:
    """Erase the personal data of these orders only (the retention job): the order rows,
    their emails, their returns' notes and redemptions, and the JSON records about them. The
    same address on other orders is left alone."""
    done = Erased()
    orders = session.scalars(select(Order).where(Order.id.in_(list(order_ids)))).all()
    if not orders:
        return done
    facts = Facts(strict=True)
    ids = [order.id for order in orders]
    _erase_orders(session, orders, facts)
    done.counts["orders"] = len(orders)
    done.counts["emails"] = _erase_mail(
        session, MailMessage.order_id.in_(ids), facts, done.message_ids
    )
    done.counts["discount redemptions"] = _erase_redemptions(session, ids, None)
    done.counts["return notes"] = _erase_returns(session, ids)
    session.flush()
    json_done = scrub_json_columns(session, facts, list(facts.orders))
    json_done.pop("emails", None)
    done.counts.update(json_done)
    return done
