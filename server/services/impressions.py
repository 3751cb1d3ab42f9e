"""Impression beacons from the widget: checked, rate-limited and buffered for the funnel."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from buybutton.errors import ExpiredLink, InvalidLink
from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton.urls import token_from_url
from buybutton_server.domain import rate_limits
from buybutton_server.domain.analytics import EventBuffer
from buybutton_server.errors import BadRequest, RateLimited

MAX_BEACON_BYTES = 16_384
MAX_IMPRESSIONS = 50
BEACONS_PER_MINUTE = 120


class BadBeacon(BadRequest):
    code = "bad_beacon"
    title = "Bad beacon"


def limit_beacons(sessions: sessionmaker[Session], ip: str) -> None:
    """Raise :class:`RateLimited` when ``ip`` (its /64 for IPv6) sends more beacons than a
    page would; a refused beacon writes nothing (:func:`rate_limits.take`)."""
    rule = rate_limits.Rule(
        f"beacon-ip:{rate_limits.client_key(ip)}", BEACONS_PER_MINUTE, per_seconds=60
    )
    verdict = rate_limits.take(sessions, [rule])
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after)


def _link_of(signer: LinkSigner, token: str) -> CheckoutLink:
    try:
        return signer.verify(token)
    except ExpiredLink as expired:  # genuine, just old: still counts where it was seen
        return expired.link
    except InvalidLink:
        raise BadBeacon("An impression names a link that is not ours.") from None


def record_beacon(
    signer: LinkSigner,
    buffer: EventBuffer,
    raw: bytes,
    headers: Mapping[str, str],
    client: tuple[str, int] | None,
) -> int:
    """Buffer one beacon's impressions (``{"impressions": [checkout URL, ...]}``); returns
    how many were counted. Every link must be one we signed, so placements cannot be forged;
    a bad batch is refused whole with :class:`BadBeacon`. A link listed twice counts once, a
    bot's, a prefetch's or the builder preview's beacon not at all, and a client's link once
    per window (``EventBuffer.count``)."""
    if len(raw) > MAX_BEACON_BYTES:
        raise BadBeacon("The beacon is too large.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadBeacon("The beacon is not JSON.") from None
    hrefs = body.get("impressions") if isinstance(body, dict) else None
    if not isinstance(hrefs, list) or not 1 <= len(hrefs) <= MAX_IMPRESSIONS:
        raise BadBeacon(f"impressions must list 1 to {MAX_IMPRESSIONS} checkout links.")
    links: dict[str, CheckoutLink] = {}
    for href in hrefs:
        token = token_from_url(href) if isinstance(href, str) else None
        if token is None:
            raise BadBeacon("Each impression is a checkout link.")
        if token not in links:
            links[token] = _link_of(signer, token)
    return buffer.count("impression", links.items(), headers, client)
