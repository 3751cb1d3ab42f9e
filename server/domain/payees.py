"""Payees: sellers (stores, franchisees; they may own locations) and creators, with the state
of their connected account (docs/commissions.md).

The ``check_*`` rules are the one definition of a valid payee: the API, the admin and the
command line apply them. Each raises :class:`InvalidInput`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    CommissionRule,
    DiscountCode,
    Location,
    Payee,
    PayeeLocation,
    utcnow,
)
from buybutton_server.domain import outbox
from buybutton_server.domain.outbox.events import iso_time
from buybutton_server.errors import Conflict, InvalidInput, NotFound
from buybutton_server.payments.base import ConnectedAccount

KINDS = ("seller", "creator")
STATUSES = ("invited", "onboarding", "active", "restricted")
UNREADY = ("head_office", "refuse")
# The same characters a link's ``creator`` may hold, lower case (links compare lower case).
CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
NAME_MAX = 200
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}")


def check_code(code: str) -> str:
    code = (code or "").strip().lower()
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            "A payee's code is 1-32 letters, digits, '.', '_' or '-' (e.g. anna, store-b).",
            code="invalid_payee_code",
        )
    return code


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not 0 < len(name) <= NAME_MAX or not name.isprintable():
        raise InvalidInput(f"Give the payee a name of 1-{NAME_MAX} characters.")
    return name


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput("A payee is a seller or a creator.", code="invalid_payee_kind")
    return kind


def check_unready(value: str) -> str:
    if value not in UNREADY:
        raise InvalidInput(
            "When the payee cannot be paid yet, its sales go to the head office "
            "(head_office) or are refused (refuse)."
        )
    return value


def check_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if not _EMAIL.fullmatch(email):
        raise InvalidInput("The payee's email is not an email address.")
    return email


def status_of(account: ConnectedAccount) -> str:
    """``active`` when Stripe lets the account take charges and receive payouts,
    ``restricted`` when details were given but Stripe wants more, else ``onboarding``."""
    if account.charges_enabled and account.payouts_enabled:
        return "active"
    if account.details_submitted:
        return "restricted"
    return "onboarding"


# -- reading ---------------------------------------------------------------------------------


def all_payees(session: Session) -> list[Payee]:
    return list(session.scalars(select(Payee).order_by(Payee.kind, Payee.code)))


def get_payee(session: Session, payee_id: int) -> Payee:
    payee = session.get(Payee, payee_id)
    if payee is None:
        raise NotFound(f"No payee with id {payee_id}.")
    return payee


def by_code(session: Session, code: str) -> Payee | None:
    return session.scalar(select(Payee).where(Payee.code == code.strip().lower()))


def require_code(session: Session, code: str) -> Payee:
    payee = by_code(session, code)
    if payee is None:
        raise NotFound(f"No payee {code!r}.")
    return payee


def resolve(session: Session, ref: str) -> Payee:
    """A payee by code, or by id (digits); NotFound otherwise."""
    payee = by_code(session, ref)
    if payee is None and ref.isdigit() and len(ref) < 10:
        payee = session.get(Payee, int(ref))
    if payee is None:
        raise NotFound(f"No payee {ref!r}.")
    return payee


def by_statement_key(session: Session, key: str) -> Payee | None:
    if not key or len(key) > 43:
        return None
    return session.scalar(select(Payee).where(Payee.statement_key == key))


def location_codes(session: Session, payee_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Location.code)
            .join(PayeeLocation, PayeeLocation.location_id == Location.id)
            .where(PayeeLocation.payee_id == payee_id)
            .order_by(Location.code)
        )
    )


def discount_codes(session: Session, payee_id: int) -> list[str]:
    return list(
        session.scalars(
            select(DiscountCode.code)
            .where(DiscountCode.payee_id == payee_id)
            .order_by(DiscountCode.code)
        )
    )


def payee_json(session: Session, payee: Payee) -> dict[str, Any]:
    """A payee as the API and the ``payee.updated`` webhook show it (never the statement
    key: that is the payee's own page)."""
    return {
        "id": payee.id,
        "code": payee.code,
        "name": payee.name,
        "kind": payee.kind,
        "email": payee.email,
        "status": payee.status,
        "stripe_account": payee.stripe_account,
        "charges_enabled": payee.charges_enabled,
        "payouts_enabled": payee.payouts_enabled,
        "details_submitted": payee.details_submitted,
        "unready": payee.unready,
        "locations": location_codes(session, payee.id),
        "discount_codes": discount_codes(session, payee.id),
        "created_at": iso_time(payee.created_at),
    }


# -- changing --------------------------------------------------------------------------------


def create_payee(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    email: str | None = None,
    unready: str = "head_office",
    locations: Sequence[str] = (),
    codes: Sequence[str] = (),
) -> Payee:
    code = check_code(code)
    if by_code(session, code) is not None:
        raise Conflict(f"A payee {code!r} exists already.", code="payee_exists")
    payee = Payee(
        code=code,
        name=check_name(name),
        kind=check_kind(kind),
        email=check_email(email),
        unready=check_unready(unready),
        status="invited",
        statement_key=secrets.token_urlsafe(32),
    )
    session.add(payee)
    session.flush()
    set_locations(session, payee, locations)
    set_discount_codes(session, payee, codes)
    return payee


def update_payee(
    session: Session,
    payee_id: int,
    *,
    name: str | None = None,
    kind: str | None = None,
    email: str | None = None,
    unready: str | None = None,
    locations: Sequence[str] | None = None,
    codes: Sequence[str] | None = None,
) -> Payee:
    """Change what is given (None: keep); announces ``payee.updated``. A payee with rules
    keeps its kind (a seller's rule is the head office's commission, a creator's their fee:
    the same numbers would mean the opposite); a new kind re-checks its locations and
    codes (a creator owns no location, a seller no discount code)."""
    payee = get_payee(session, payee_id)
    if kind is not None and check_kind(kind) != payee.kind:
        if session.scalar(select(CommissionRule.id).where(CommissionRule.payee_id == payee.id)):
            raise InvalidInput(
                f"{payee.name} has commission rules: delete them before changing its kind "
                "(a seller's rule is the head office's commission, a creator's is their fee).",
                code="payee_has_rules",
            )
        payee.kind = kind
        locations = location_codes(session, payee.id) if locations is None else locations
        codes = discount_codes(session, payee.id) if codes is None else codes
    if name is not None:
        payee.name = check_name(name)
    if email is not None:
        payee.email = check_email(email)
    if unready is not None:
        payee.unready = check_unready(unready)
    if locations is not None:
        set_locations(session, payee, locations)
    if codes is not None:
        set_discount_codes(session, payee, codes)
    payee.updated_at = utcnow()
    session.flush()
    outbox.record(session, "payee.updated", {"payee": payee_json(session, payee)})
    return payee


def set_locations(session: Session, payee: Payee, codes: Sequence[str]) -> None:
    """The locations a seller owns, by code (replacing the list). A location belongs to one
    seller at most; creators own none."""
    wanted = sorted({c.strip().upper() for c in codes if c.strip()})
    if wanted and payee.kind != "seller":
        raise InvalidInput("Only a seller owns locations.")
    found = {
        loc.code: loc.id
        for loc in session.scalars(select(Location).where(Location.code.in_(wanted)))
    }
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput(f"No location {', '.join(missing)}.", code="unknown_location")
    taken = session.scalars(
        select(PayeeLocation.location_id).where(
            PayeeLocation.location_id.in_(found.values()), PayeeLocation.payee_id != payee.id
        )
    ).all()
    if taken:
        names = sorted(c for c, i in found.items() if i in taken)
        raise Conflict(f"Location {', '.join(names)} belongs to another seller.")
    session.execute(delete(PayeeLocation).where(PayeeLocation.payee_id == payee.id))
    session.add_all(PayeeLocation(location_id=i, payee_id=payee.id) for i in found.values())
    session.flush()


def set_discount_codes(session: Session, payee: Payee, codes: Sequence[str]) -> None:
    """The discount codes that attribute an order to this creator (replacing the list)."""
    wanted = sorted({c.strip().upper() for c in codes if c.strip()})
    if wanted and payee.kind != "creator":
        raise InvalidInput("Only a creator has discount codes of their own.")
    rows = list(session.scalars(select(DiscountCode).where(DiscountCode.code.in_(wanted))))
    missing = sorted(set(wanted) - {row.code for row in rows})
    if missing:
        raise InvalidInput(f"No discount code {', '.join(missing)}.", code="unknown_code")
    others = sorted(r.code for r in rows if r.payee_id not in (None, payee.id))
    if others:
        raise Conflict(f"Discount code {', '.join(others)} belongs to another creator.")
    for row in session.scalars(select(DiscountCode).where(DiscountCode.payee_id == payee.id)):
        row.payee_id = None
    for row in rows:
        row.payee_id = payee.id
    session.flush()


def rotate_statement_key(session: Session, payee_id: int) -> Payee:
    payee = get_payee(session, payee_id)
    payee.statement_key = secrets.token_urlsafe(32)
    return payee


def attach_account(session: Session, payee_id: int, account: str) -> Payee:
    """The payee's new connected account: onboarding begins."""
    payee = get_payee(session, payee_id)
    if payee.stripe_account not in (None, account):
        raise Conflict(f"Payee {payee.code} has account {payee.stripe_account} already.")
    if payee.stripe_account is None:
        payee.stripe_account = account
        payee.status = "onboarding"
        payee.updated_at = utcnow()
        session.flush()
        outbox.record(session, "payee.updated", {"payee": payee_json(session, payee)})
    return payee


def apply_account(
    session: Session, account: ConnectedAccount, *, created: int | None = None
) -> Payee | None:
    """Keep the payee of ``account`` in step with it (``account.updated``, or a look-up on
    return from onboarding); announces ``payee.updated`` when something changed. None for an
    account no payee holds.

    ``created`` is when that state was true (the event's ``created``, or the time of a live
    read; Unix seconds). Stripe does not deliver events in order, so a state older than the
    one applied last changes nothing: deliveries in any order end in the newest event's
    state. The same second applies (Stripe's times are whole seconds; a tie cannot be
    ordered). None (an event without a time) applies and keeps the mark."""
    payee = session.scalar(
        select(Payee).where(Payee.stripe_account == account.id).with_for_update()
    )
    if payee is None:
        return None
    mark = payee.account_event_created
    if created is not None and mark is not None and created < mark:
        return payee  # stale: a newer state is applied already
    if created is not None:
        payee.account_event_created = created
    now = (
        status_of(account),
        account.charges_enabled,
        account.payouts_enabled,
        account.details_submitted,
    )
    was = (payee.status, payee.charges_enabled, payee.payouts_enabled, payee.details_submitted)
    if now != was:
        (
            payee.status,
            payee.charges_enabled,
            payee.payouts_enabled,
            payee.details_submitted,
        ) = now
        payee.updated_at = utcnow()
        session.flush()
        outbox.record(session, "payee.updated", {"payee": payee_json(session, payee)})
    return payee
