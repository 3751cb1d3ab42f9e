"""Product feeds for shopping channels: the URL with its key, the key check, the cheap
validator for conditional requests, the streamed feed and the check of what each channel
leaves out. Rules and formats: :mod:`buybutton_server.domain.feeds`,
:mod:`buybutton_server.domain.feeds_formats`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from buybutton.urls import absolute
from buybutton_server.db import read_session, write_session
from buybutton_server.domain import feeds, feeds_formats, shop_profile
from buybutton_server.domain.catalog import check_currency
from buybutton_server.domain.feeds import Channel, Validator
from buybutton_server.errors import InvalidInput

Sessions = sessionmaker[Session]
CHANNEL_NAMES = tuple(feeds.CHANNELS)


def _url(base_url: str, chosen: Channel, key: str, currency: str | None) -> str:
    query = {"key": key, **({"currency": currency} if currency else {})}
    return absolute(base_url, f"/feeds/{chosen.filename}?{urlencode(query)}")


def feed_url(
    sessions: Sessions,
    secrets: tuple[str, ...],
    base_url: str,
    name: str,
    *,
    currency: str | None = None,
) -> str:
    """The full URL of the channel's feed, with its key (under the newest secret)."""
    chosen = feeds.require_channel(name)
    currency = check_currency(currency) if currency else None
    with read_session(sessions) as session:
        generation = feeds.generation(session, chosen.name)
    return _url(base_url, chosen, feeds.derive_key(secrets[-1], chosen.name, generation), currency)


def rotate_key(sessions: Sessions, secrets: tuple[str, ...], base_url: str, name: str) -> str:
    """A new key for the channel (its old URL stops working at once); the new URL."""
    chosen = feeds.require_channel(name)
    with write_session(sessions) as session:
        generation = feeds.rotate(session, chosen.name)
    return _url(base_url, chosen, feeds.derive_key(secrets[-1], chosen.name, generation), None)


def open_feed(
    sessions: Sessions, secrets: tuple[str, ...], filename: str, key: str
) -> Channel | None:
    """The channel whose feed ``filename`` is, if ``key`` opens it; None for an unknown
    file or a wrong key alike (the caller answers both with the same 404)."""
    name, _, kind = filename.partition(".")
    chosen = feeds.channel(name)
    if chosen is None or chosen.kind != kind or not key or len(key) > 64:
        return None
    with read_session(sessions) as session:
        generation = feeds.generation(session, chosen.name)
    return chosen if feeds.key_matches(secrets, chosen.name, generation, key) else None


def feed_currency(raw: str | None) -> str | None:
    """The ``currency`` asked for (an ISO 4217 code), or None for each product's own."""
    if not raw:
        return None
    try:
        return check_currency(raw[:8])
    except InvalidInput:
        raise InvalidInput("currency must be an ISO 4217 code such as EUR.") from None


def validator(sessions: Sessions, chosen: Channel, currency: str | None) -> Validator:
    with read_session(sessions) as session:
        return feeds.validator(session, chosen.name, currency)


def _reader(sessions: Sessions) -> AbstractContextManager[Session]:
    return read_session(sessions)


def stream(
    sessions: Sessions, chosen: Channel, base_url: str, currency: str | None
) -> Iterator[bytes]:
    """The feed's bytes, a batch of products at a time (each read in its own session)."""
    with read_session(sessions) as session:
        shop = shop_profile.shop_name(session)
    batches = feeds.batches(lambda: _reader(sessions), base_url, chosen, currency)
    return feeds_formats.render(chosen, batches, shop=shop, home=absolute(base_url, "/"))


@dataclass(frozen=True, slots=True)
class LeftOut:
    channel: str
    sku: str
    missing: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.channel}: {self.sku} lacks {', '.join(self.missing)}"


def check(
    sessions: Sessions, base_url: str, names: tuple[str, ...] = CHANNEL_NAMES
) -> list[LeftOut]:
    """Every active product each channel's feed leaves out, with what it lacks."""
    found: list[LeftOut] = []
    with read_session(sessions) as session:
        for name in names:
            chosen = feeds.require_channel(name)
            for sku, lacks in feeds.missing(session, base_url, chosen):
                found.append(LeftOut(chosen.name, sku, tuple(lacks)))
    return found
