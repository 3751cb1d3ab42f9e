"""The local inventory feed (``/feeds/google-local.xml``): its URL with the key, the key
check, the validator and the streamed feed. Rules and format:
:mod:`buybutton_server.domain.local_feed`; keys: :mod:`buybutton_server.domain.feeds`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from buybutton.urls import absolute
from buybutton_server.db import read_session, write_session
from buybutton_server.domain import feeds, local_feed, shop_profile
from buybutton_server.domain.feeds import Validator

Sessions = sessionmaker[Session]
CHANNEL, FILENAME, MEDIA_TYPE = local_feed.CHANNEL, local_feed.FILENAME, local_feed.MEDIA_TYPE


def _url(base_url: str, key: str) -> str:
    return absolute(base_url, f"/feeds/{local_feed.FILENAME}?{urlencode({'key': key})}")


def feed_url(sessions: Sessions, secrets: tuple[str, ...], base_url: str) -> str:
    """The feed's full URL, with its key (under the newest secret)."""
    with read_session(sessions) as session:
        generation = feeds.generation(session, CHANNEL)
    return _url(base_url, feeds.derive_key(secrets[-1], CHANNEL, generation))


def rotate_key(sessions: Sessions, secrets: tuple[str, ...], base_url: str) -> str:
    """A new key (the old URL stops working at once); the new URL."""
    with write_session(sessions) as session:
        generation = feeds.rotate(session, CHANNEL)
    return _url(base_url, feeds.derive_key(secrets[-1], CHANNEL, generation))


def key_opens(sessions: Sessions, secrets: tuple[str, ...], key: str) -> bool:
    """Whether ``key`` opens the feed (a missing or overlong key never does)."""
    if not key or len(key) > 64:
        return False
    with read_session(sessions) as session:
        generation = feeds.generation(session, CHANNEL)
    return feeds.key_matches(secrets, CHANNEL, generation, key)


def validator(sessions: Sessions) -> Validator:
    with read_session(sessions) as session:
        return feeds.validator(session, CHANNEL, None)


def _reader(sessions: Sessions) -> AbstractContextManager[Session]:
    return read_session(sessions)


def stream(sessions: Sessions, base_url: str) -> Iterator[bytes]:
    """The feed's bytes, a batch of items at a time."""
    with read_session(sessions) as session:
        shop = shop_profile.shop_name(session)
    batches = local_feed.batches(lambda: _reader(sessions))
    return local_feed.render(batches, shop=shop, home=absolute(base_url, "/"))
