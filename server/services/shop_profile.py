"""The shop's settings page, and the allowed origins every request checks.

The origins publishers' sites may use (the overlay checkout's ``frame-ancestors``, the
"Back to …" link, the product JSON's ``overlay``) are ``BUYBUTTON_ALLOWED_ORIGINS`` plus the
ones the owner saved on ``/admin/settings``. The saved ones are read from the database at
most every :data:`REFRESH_SECONDS` per worker process and kept in memory in between; saving
the page refreshes the worker that saved at once, the others within that time. No restart.

The shop's identity (name, logo, support email, address, policies) the checkout shows comes
from the same cached row: :func:`origins_and_identity` answers both from one look.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import engine_of, read_session, write_session
from buybutton_server.domain import addresses, locales, shop_profile
from buybutton_server.domain.address_rules import Country
from buybutton_server.domain.shop_profile import Profile, ShopIdentity

REFRESH_SECONDS = 30.0


def profile(sessions: sessionmaker[Session]) -> Profile:
    with read_session(sessions) as session:
        return shop_profile.profile(session)


# The shoppers' languages the settings page offers as the shop's default: (code, name).
LANGUAGE_CHOICES = tuple((code, locales.NATIVE_NAMES[code]) for code in locales.LANGUAGES)


def country_choices() -> tuple[Country, ...]:
    """The countries a shop can sell from, for the settings page's picker (ISO codes)."""
    return addresses.countries()


def identity(sessions: sessionmaker[Session]) -> ShopIdentity:
    with read_session(sessions) as session:
        return shop_profile.identity(session)


def save(
    sessions: sessionmaker[Session], values: Mapping[str, str], *, allow_http_origins: bool
) -> Profile:
    """Store the settings page's fields (:class:`~shop_profile.ProfileInvalid` when some are
    wrong: nothing is written); this worker uses the new origins at once."""
    with write_session(sessions) as session:
        saved = shop_profile.save(session, values, allow_http_origins=allow_http_origins)
    _cache_for(sessions).put(saved)
    return saved


@dataclass
class _Saved:
    profile: Profile = field(default_factory=lambda: Profile(ShopIdentity()))
    read_at: float = -1e18  # never


class _OriginCache:
    """The saved profile (origins and identity) of one database, re-read when older than
    REFRESH_SECONDS."""

    def __init__(self) -> None:
        self.saved = _Saved()
        self.lock = threading.Lock()

    def put(self, saved: Profile) -> None:
        self.saved = _Saved(saved, time.monotonic())

    def get(self, sessions: sessionmaker[Session]) -> Profile:
        current = self.saved
        if time.monotonic() - current.read_at < REFRESH_SECONDS:
            return current.profile
        with self.lock:  # one reader refreshes; the others wait for its answer
            if time.monotonic() - self.saved.read_at >= REFRESH_SECONDS:
                with read_session(sessions) as session:
                    self.put(shop_profile.profile(session))
            return self.saved.profile

    def fresh(self) -> bool:
        return time.monotonic() - self.saved.read_at < REFRESH_SECONDS


_caches: weakref.WeakKeyDictionary[object, _OriginCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_for(sessions: sessionmaker[Session]) -> _OriginCache:
    engine = engine_of(sessions)
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = _OriginCache()
        return cache


def allowed_origins(
    sessions: sessionmaker[Session], configured: tuple[str, ...]
) -> tuple[str, ...]:
    """``configured`` (``BUYBUTTON_ALLOWED_ORIGINS``) followed by the owner's saved origins.

    Blocking when the cached copy is stale (a one-row read): async callers use
    :func:`needs_refresh` to decide whether to run it in the thread pool."""
    return origins_and_identity(sessions, configured)[0]


def origins_and_identity(
    sessions: sessionmaker[Session], configured: tuple[str, ...]
) -> tuple[tuple[str, ...], ShopIdentity]:
    """:func:`allowed_origins` and the shop's identity, from one look at the cache."""
    cached = _cache_for(sessions).get(sessions)
    saved = cached.allowed_origins
    if not saved:
        return configured, cached.identity
    return configured + tuple(o for o in saved if o not in configured), cached.identity


def needs_refresh(sessions: sessionmaker[Session]) -> bool:
    """Whether :func:`allowed_origins` would read the database (PostgreSQL only: a SQLite
    read of one row is cheaper inline than a trip through the thread pool)."""
    if engine_of(sessions).dialect.name == "sqlite":
        return False
    return not _cache_for(sessions).fresh()
