"""API keys for the owner's admin page: list (prefixes only), create (the key is returned
once, never stored), revoke (refused from the next request on).

The key itself exists only in the answer to :func:`create_key`; the database keeps its
SHA-256 (:mod:`buybutton_server.domain.api_keys`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import ApiKey
from buybutton_server.domain import api_keys
from buybutton_server.errors import InvalidInput, NotFound

Sessions = sessionmaker[Session]

MAX_NAME = 100

# What each scope allows, one line each (the admin page shows these).
SCOPES: dict[str, str] = {
    "read": "Reads only (GET): products, stock, orders with shoppers' details, stats and "
    "webhook endpoints. For reports and dashboards.",
    "write": "Reads and changes: products and stock, signed links, refunds and fulfilment, "
    "webhook endpoints. For your own backend; keep it on a server.",
}


@dataclass(frozen=True, slots=True)
class KeyListing:
    """A key as lists show it: never the key, only its visible prefix."""

    prefix: str
    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, row: ApiKey) -> KeyListing:
        return cls(row.prefix, row.name, row.scope, row.created_at, row.revoked_at)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: ``key`` is shown once and kept nowhere."""

    listing: KeyListing
    key: str


def list_keys(sessions: Sessions) -> list[KeyListing]:
    """Every key, newest first, revoked ones included."""
    return [KeyListing.of(row) for row in reversed(api_keys.list_keys(sessions))]


FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FormUsed = api_keys.FormUsed


def new_form_token() -> str:
    """A fresh token for one rendered create form: posting that form again (a refresh of
    the page that shows the new key) makes no second key."""
    return secrets.token_urlsafe(24)


def create_key(sessions: Sessions, name: str, scope: str, once: str | None = None) -> NewKey:
    """A key from the admin's form; with ``once`` (see :func:`new_form_token`) a second
    post of the same form raises :class:`FormUsed` and makes nothing."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the key a name, e.g. the app that will use it.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"The name must be at most {MAX_NAME} characters.")
    if scope not in SCOPES:
        raise InvalidInput("Choose what the key may do: read or write.")
    if once is not None and not FORM_TOKEN.match(once):
        raise InvalidInput("This form is out of date: reload the page and fill it in again.")
    try:
        with write_session(sessions) as session:
            row, key = api_keys.create_key(session, scope, name, once=once)
            return NewKey(KeyListing.of(row), key)
    except IntegrityError:  # the same form, posted twice at the same moment
        raise FormUsed() from None


def find_key(sessions: Sessions, prefix: str) -> KeyListing:
    """The key with this prefix (NotFound if there is none)."""
    for listing in list_keys(sessions):
        if listing.prefix == prefix:
            return listing
    raise NotFound("There is no API key with that prefix.")


def revoke_key(sessions: Sessions, prefix: str) -> None:
    """Revoke the key: every request that uses it is refused from now on."""
    with write_session(sessions) as session:
        if not api_keys.revoke(session, prefix):
            raise NotFound("There is no API key with that prefix.")
