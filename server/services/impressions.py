"""Impression beacons from the widget: checked, rate-limited and buffered for the funnel."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from buybutton.errors import ExpiredLink, InvalidLink
from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton.urls import token_from_url
from buybutton_server.db import write_session
from buybutton_server.domain import analytics, rate_limits
from buybutton_server.domain.analytics import EventBuffer
from buybutton_server.errors import BadRequest, RateLimited

MAX_BEACON_BYTES = 16_384
MAX_IMPRESSIONS = 50
BEACONS_PER_MINUTE = 120


class BadBeacon(BadRequest):
    code = "bad_beacon"
    title = "Bad beacon"


def limit_beacons(sessions: sessionmaker[Session], ip: str) -> None:
    """Raise :class:`RateLimited` when ``ip`` sends more beacons than a page would."""
    with write_session(sessions) as session:
        verdict = rate_limits.hit(
            session, f"beacon-ip:{ip}", limit=BEACONS_PER_MINUTE, per_seconds=60
        )
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after)


def _link_of(signer: LinkSigner, href: object) -> CheckoutLink:
    token = token_from_url(href) if isinstance(href, str) else None
    if token is None:
        raise BadBeacon("Each impression is a checkout link.")
    try:
        return signer.verify(token)
    except ExpiredLink as expired:  # genuine, just old: still counts where it was seen
        return expired.link
    except InvalidLink:
        raise BadBeacon("An impression names a link that is not ours.") from None


def record_beacon(signer: LinkSigner, buffer: EventBuffer, raw: bytes) -> int:
    """Buffer one beacon's impressions (``{"impressions": [checkout URL, ...]}``); returns
    how many. Every link must be one we signed, so placements cannot be forged; a bad batch
    is refused whole with :class:`BadBeacon`."""
    if len(raw) > MAX_BEACON_BYTES:
        raise BadBeacon("The beacon is too large.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadBeacon("The beacon is not JSON.") from None
    hrefs = body.get("impressions") if isinstance(body, dict) else None
    if not isinstance(hrefs, list) or not 1 <= len(hrefs) <= MAX_IMPRESSIONS:
        raise BadBeacon(f"impressions must list 1 to {MAX_IMPRESSIONS} checkout links.")
    links = [_link_of(signer, href) for href in hrefs]
    buffer.add(analytics.event_row("impression", link) for link in links)
    return len(links)
