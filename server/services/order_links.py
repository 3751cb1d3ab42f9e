"""Order links for shoppers (docs/email.md, "Order links"): open a signed ``/o/{token}``, and
``/orders/find``, which mails an order's link to the address it was placed with.

``/orders/find`` answers the same whether or not an order matches: both ways count against
the rate limits, open one write transaction and read one order by number; only a match adds
the email to the outbox (one more insert in the same transaction).

The limits are per client address and per email address *with* order number: keyed on the
email alone, anyone could lock a buyer out by posting their address five times with wrong
numbers. Guessing numbers for someone's address gains nothing (the answer is the same and a
match mails the link to that address only, once per :data:`MAIL_WINDOW`); the per-client
limit bounds it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import EMAIL_PATTERN
from buybutton_server.db import read_session, write_session
from buybutton_server.domain import mail, order_links, rate_limits
from buybutton_server.domain.order_rows import order_by_public_id
from buybutton_server.errors import NotFound, RateLimited

Sessions = sessionmaker[Session]
Limit = tuple[int, int]  # (count, seconds)

# At most this many requests per client address, and per email address and order number
# typed (together), per window.
PER_CLIENT: Limit = (10, 3600)
PER_EMAIL: Limit = (5, 3600)
# One order's link is mailed at most once per this many seconds, however often it is asked.
MAIL_WINDOW = 600
MAX_EMAIL = 254
MAX_NUMBER = 32


class LinkNotOurs(NotFound):
    title = "This order link is not valid"
    message = (
        "This link does not open an order: it may have been cut short or changed. Copy the "
        "whole link from your email, or ask for a new one at /orders/find."
    )


@dataclass(frozen=True, slots=True)
class FindLimits:
    """The ``/orders/find`` limits; None: no limit. ``per_email`` counts per email address
    and order number together."""

    per_client: Limit | None = PER_CLIENT
    per_email: Limit | None = PER_EMAIL


def open_link(sessions: Sessions, secret_keys: Sequence[str], token: str) -> str:
    """The public id of the order a link opens; :class:`LinkNotOurs` (404) for a token we
    did not sign (or signed for an order that is no longer there)."""
    public_id = order_links.public_id_for(secret_keys, token)
    if public_id is None:
        raise LinkNotOurs()
    with read_session(sessions) as session:
        if order_by_public_id(session, public_id) is None:
            raise LinkNotOurs()
    return public_id


def form_problems(email: str, number: str) -> dict[str, str]:
    """What is wrong with a ``/orders/find`` form, by field (empty: nothing)."""
    problems: dict[str, str] = {}
    email = email.strip()
    if not email:
        problems["email"] = "Enter the email address you used for the order."
    elif len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email):
        problems["email"] = "Enter an email address like name@example.com."
    number = number.strip()
    if not number:
        problems["number"] = "Enter the order number from your confirmation."
    elif len(number) > MAX_NUMBER or not number.replace("-", "").isalnum() or not number.isascii():
        problems["number"] = "An order number has letters, digits and dashes, like BB-7K2Q9."
    return problems


def request_link(
    sessions: Sessions,
    *,
    email: str,
    number: str,
    client: str,
    limits: FindLimits = FindLimits(),
    now: float | None = None,
) -> None:
    """Mail the order's link to its email if ``number`` and ``email`` match an order; the
    same outcome (None) either way. :class:`RateLimited` over a limit (nothing is looked
    up then)."""
    now = time.time() if now is None else now
    rules = [
        rate_limits.Rule(key, limit[0], limit[1])
        for key, limit in (
            (f"order-find-ip:{rate_limits.client_key(client)}", limits.per_client),
            (f"order-find-email:{order_links.lookup_key(email, number)}", limits.per_email),
        )
        if limit is not None
    ]
    verdict = rate_limits.take(sessions, rules, now=now)
    if not verdict.allowed:
        minutes = max(1, round(verdict.retry_after / 60))
        raise RateLimited(
            verdict.retry_after,
            "There have been too many requests for order links. Please try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}.",
        )
    with write_session(sessions) as session:
        order = order_links.find_order(session, email, number)
        if order is not None:
            mail.queue_order_link(session, order, window=int(now // MAIL_WINDOW))
