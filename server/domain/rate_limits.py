"""Rate limits kept in the database, so every worker process shares them.

Sliding windows, approximated from two fixed ones (as Cloudflare and others do): the count
is this window's hits plus the previous window's, weighted by how much of it still overlaps
the last ``per_seconds``. That closes the fixed window's hole, where a burst at the end of
one window and another at the start of the next would let twice the limit through.

One upsert per hit: ``INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET hits =
hits + 1 RETURNING hits`` (SQLite 3.35+ and PostgreSQL both speak it), and one read of the
previous window.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from buybutton_server.db.models import RateLimitWindow


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def hit(
    session: Session, key: str, *, limit: int, per_seconds: int, now: float | None = None
) -> Verdict:
    now = time.time() if now is None else now
    window = int(now // per_seconds * per_seconds)
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
    previous = (
        session.scalar(
            select(RateLimitWindow.hits).where(
                RateLimitWindow.key == key, RateLimitWindow.window_start == window - per_seconds
            )
        )
        or 0
    )
    elapsed = (now - window) / per_seconds
    count = hits + previous * (1 - elapsed)
    if count <= limit:
        return Verdict(allowed=True, retry_after=0)
    if hits > limit or not previous:  # this window alone is over: wait for the next one
        wait = window + per_seconds - now
    else:  # wait until enough of the previous window has slid out of view
        wait = (1 - (limit - hits) / previous - elapsed) * per_seconds
    return Verdict(allowed=False, retry_after=max(1, math.ceil(wait)))


def forget_old(session: Session, *, older_than: float, now: float | None = None) -> None:
    now = time.time() if now is None else now
    session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < now - older_than))
