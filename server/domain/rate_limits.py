"""Rate limits kept in the database, so every worker process shares them.

Sliding windows, approximated from two fixed ones (as Cloudflare and others do): the count
is this window's hits plus the previous window's, weighted by how much of it still overlaps
the last ``per_seconds``. That closes the fixed window's hole, where a burst at the end of
one window and another at the start of the next would let twice the limit through.

:func:`take` is what requests call. It reads both windows first, without a write
transaction: a request over its limit is refused by that read alone, so a flood of refused
requests never queues for SQLite's single write lock (where it would slow down every
payment). Only a request under its limit writes its hit, with one upsert per rule (``INSERT
... ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits``, SQLite
3.35+ and PostgreSQL), which counts again, so two racing requests cannot both slip through.
Refused requests are therefore not counted: the limit caps what is let through.

Keys name a client with :func:`client_key`: an IPv6 client is its /64 (one subscriber's
network, inside which addresses are free to rotate), an IPv4 client its address.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import RateLimitWindow


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` hits on ``key`` per ``per_seconds``."""

    key: str
    limit: int
    per_seconds: int


def client_key(address: str) -> str:
    """The part of a client address a limit counts: an IPv6 address's /64 network
    (``2001:db8:1:2::/64``), an IPv4 address itself (also when IPv4-mapped), anything
    unparsable as given."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _windows(now: float, per_seconds: int) -> tuple[int, int]:
    window = int(now // per_seconds * per_seconds)
    return window, window - per_seconds


def _judge(hits: int, previous: int, *, limit: int, per_seconds: int, now: float) -> Verdict:
    """``hits`` in this window (this request included) and ``previous`` in the last one."""
    window = int(now // per_seconds * per_seconds)
    elapsed = (now - window) / per_seconds
    count = hits + previous * (1 - elapsed)
    if count <= limit:
        return Verdict(allowed=True, retry_after=0)
    if hits > limit or not previous:  # this window alone is over: wait for the next one
        wait = window + per_seconds - now
    else:  # wait until enough of the previous window has slid out of view
        wait = (1 - (limit - hits) / previous - elapsed) * per_seconds
    return Verdict(allowed=False, retry_after=max(1, math.ceil(wait)))


def _read(session: Session, key: str, window: int) -> int:
    return (
        session.scalar(
            select(RateLimitWindow.hits).where(
                RateLimitWindow.key == key, RateLimitWindow.window_start == window
            )
        )
        or 0
    )


def peek(session: Session, rule: Rule, *, now: float) -> Verdict:
    """What one more hit would get, by reading only."""
    window, previous = _windows(now, rule.per_seconds)
    return _judge(
        _read(session, rule.key, window) + 1,
        _read(session, rule.key, previous),
        limit=rule.limit,
        per_seconds=rule.per_seconds,
        now=now,
    )


def hit(
    session: Session, key: str, *, limit: int, per_seconds: int, now: float | None = None
) -> Verdict:
    """Count a hit on ``key`` (in the caller's write transaction) and judge it."""
    now = time.time() if now is None else now
    window, previous_window = _windows(now, per_seconds)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RateLimitWindow)
        .values(key=key, window_start=window, hits=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"hits": RateLimitWindow.hits + 1},
        )
        .returning(RateLimitWindow.hits)
    )
    hits = session.execute(statement).scalar_one()
    previous = _read(session, key, previous_window)
    return _judge(hits, previous, limit=limit, per_seconds=per_seconds, now=now)


def take(
    sessions: sessionmaker[Session], rules: Sequence[Rule], *, now: float | None = None
) -> Verdict:
    """One request against every rule: refused (by a read, writing nothing) if any rule is
    over its limit; otherwise each rule counts the hit, in one write transaction."""
    if not rules:  # no limit configured: no database work at all
        return Verdict(allowed=True, retry_after=0)
    now = time.time() if now is None else now
    with read_session(sessions) as session:
        for rule in rules:
            verdict = peek(session, rule, now=now)
            if not verdict.allowed:
                return verdict
    with write_session(sessions) as session:
        verdicts = [
            hit(session, r.key, limit=r.limit, per_seconds=r.per_seconds, now=now) for r in rules
        ]
    refused = [v for v in verdicts if not v.allowed]
    return refused[0] if refused else Verdict(allowed=True, retry_after=0)


def forget_old(session: Session, *, older_than: float, now: float | None = None) -> None:
    now = time.time() if now is None else now
    session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < now - older_than))
