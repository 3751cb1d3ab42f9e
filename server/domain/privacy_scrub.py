"""Finding and replacing a shopper's data in any record: JSON text (webhook payloads,
idempotency answers, email data, UCP sessions) and, last, any text column of any table.
Used by :mod:`buybutton_server.domain.privacy`, which says what an erasure changes."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, String, Table, Text, func, or_, select, update
from sqlalchemy.orm import Session

from buybutton_server.db.models import Base

ERASED_NAME = "Erased"
ERASED_TEXT = "[erased]"
# Columns of JSON text that may hold a shopper's data, per table (tables added by other
# features are looked up by name, so they are covered once they exist).
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "webhook_events": ("payload",),
    "idempotency_records": ("response_body",),
    "mail_messages": ("data",),
    "ucp_checkout_sessions": ("buyer", "destination", "answer"),
    "ucp_idempotency_keys": ("response_body",),
}
# Keys of a JSON object whose value is a person's name or phone, or part of an address.
NAME_KEYS = frozenset(
    {"name", "first_name", "last_name", "full_name", "given_name", "family_name"}
    | {"phone", "phone_number"}
)
ADDRESS_KEYS = frozenset(
    {"line1", "line2", "street_address", "extended_address", "address_line1", "address_line2"}
    | {"city", "address_locality", "postal_code", "sorting_code", "address"}
)
# Not a shopper's data: merchant logins (removed by the staff page), and our own records.
NOT_SWEPT = frozenset({"admin_users", "admin_sessions", "privacy_erasures", "alembic_version"})


def normal(email: str) -> str:
    """How addresses are matched: trimmed, lower case."""
    return email.strip().lower()


@dataclass
class Facts:
    """What to look for. ``emails`` maps each erased address (normalised) to its
    placeholder; ``orders`` maps each erased order's number to what its personal fields
    became; ``known`` holds personal values seen (names, address lines). ``strict`` (the
    retention job, erasing some orders of an address): only the erased orders' own objects
    change, not every mention of the address."""

    emails: dict[str, str] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    strict: bool = False

    def learn(self, *values: object) -> None:
        self.known.update(
            v.strip().casefold() for v in values if isinstance(v, str) and len(v.strip()) > 1
        )

    def swap_email(self, text: str) -> str:
        lowered = text.lower()
        for email, replacement in self.emails.items():
            if email in lowered:
                text = re.sub(re.escape(email), replacement, text, flags=re.IGNORECASE)
                lowered = text.lower()
        return text

    def swap_text(self, text: str) -> str:
        """Free text (a subject): the addresses, and known names of 4 letters or more."""
        text = self.swap_email(text)
        for value in sorted(self.known, key=len, reverse=True):
            if len(value) >= 4 and value in text.casefold():
                text = re.sub(re.escape(value), ERASED_NAME, text, flags=re.IGNORECASE)
        return text

    def mentions(self, value: dict[str, Any]) -> bool:
        return not self.strict and any(
            isinstance(v, str) and normal(v) in self.emails for v in value.values()
        )


# -- JSON ------------------------------------------------------------------------------------


def collect(value: Any, facts: Facts) -> None:
    """Learn the names and address lines of every JSON object that holds the email."""
    if isinstance(value, dict):
        if facts.mentions(value):
            facts.learn(*(v for k, v in value.items() if k in NAME_KEYS | ADDRESS_KEYS))
        for item in value.values():
            collect(item, facts)
    elif isinstance(value, list):
        for item in value:
            collect(item, facts)


def scrub_json(value: Any, facts: Facts) -> Any:
    """``value`` with the shopper's data replaced (see the module's docstring)."""
    if isinstance(value, dict):
        number = value.get("number")
        swap = facts.orders.get(number) if isinstance(number, str) else None
        person = facts.mentions(value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if swap is not None and key in swap:
                out[key] = swap[key]
            elif (
                not facts.strict
                and key in NAME_KEYS | ADDRESS_KEYS
                and isinstance(item, str)
                and (person or item.strip().casefold() in facts.known)
            ):
                out[key] = ERASED_NAME if key in NAME_KEYS else ERASED_TEXT
            else:
                out[key] = scrub_json(item, facts)
        return out
    if isinstance(value, list):
        return [scrub_json(item, facts) for item in value]
    if isinstance(value, str) and not facts.strict:
        text = facts.swap_email(value)
        return ERASED_TEXT if text.strip().casefold() in facts.known else text
    return value


def loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def scrub_json_columns(session: Session, facts: Facts, needles: Sequence[str]) -> Counter[str]:
    """Rewrite the JSON columns (:data:`JSON_COLUMNS`) of every row mentioning a needle."""
    done: Counter[str] = Counter()
    if not needles:
        return done
    found: list[tuple[Table, Any, dict[str, Any]]] = []
    for name, columns in JSON_COLUMNS.items():
        table = Base.metadata.tables.get(name)
        if table is None or not all(c in table.c for c in columns):
            continue
        (key,) = table.primary_key.columns
        where = or_(*(contains(table.c[c], n) for c in columns for n in needles))
        for row in session.execute(select(key, *(table.c[c] for c in columns)).where(where)):
            parsed = {c: loads(row._mapping[c]) for c in columns}
            for value in parsed.values():
                collect(value, facts)
            found.append((table, row[0], {c: (row._mapping[c], parsed[c]) for c in columns}))
    for table, key_value, values in found:
        changes = {}
        for column, (text, parsed) in values.items():
            if parsed is not None:
                scrubbed = scrub_json(parsed, facts)
                new = text if scrubbed == parsed else json.dumps(scrubbed, separators=(",", ":"))
            else:
                new = facts.swap_email(text) if isinstance(text, str) else text
            if new != text:
                changes[column] = new
        if changes:
            (key,) = table.primary_key.columns
            session.execute(update(table).where(key == key_value).values(**changes))
            done[_LABELS.get(table.name, table.name.replace("_", " "))] += 1
    return done


_LABELS = {
    "webhook_events": "webhook payloads",
    "idempotency_records": "idempotency records",
    "ucp_checkout_sessions": "UCP checkout sessions",
    "ucp_idempotency_keys": "UCP idempotency records",
    "mail_messages": "emails",
}


def contains(column: Any, needle: str) -> Any:
    return func.lower(column).contains(needle.lower(), autoescape=True)


def text_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, String | Text)]


def sweep(session: Session, facts: Facts) -> int:
    """Replace the erased addresses wherever they are still written, in any text column of
    any table (merchant logins aside). Returns how many rows changed."""
    changed = 0
    for table in Base.metadata.sorted_tables:
        columns = text_columns(table)
        keys = list(table.primary_key.columns)
        if table.name in NOT_SWEPT or not columns or not keys or not facts.emails:
            continue
        where = or_(*(contains(c, email) for c in columns for email in facts.emails))
        for row in session.execute(select(*keys, *columns).where(where)).all():
            values = {}
            for column in columns:
                text = row._mapping[column.name]
                new = facts.swap_email(text) if isinstance(text, str) else text
                if new != text:
                    length = getattr(column.type, "length", None)
                    values[column.name] = new[:length] if length else new
            if values:
                match = [key == row._mapping[key.name] for key in keys]
                session.execute(update(table).where(*match).values(**values))
                changed += 1
    return changed
