"""Fixed-window rate limits kept in the database, so every worker process shares them.

One statement per hit: ``INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET hits =
hits + 1 RETURNING hits`` (SQLite 3.35+ and PostgreSQL both speak it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from buybutton_server.models import RateLimitWindow


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
    return Verdict(allowed=hits <= limit, retry_after=max(1, window + per_seconds - int(now)))


def forget_old(session: Session, *, older_than: float, now: float | None = None) -> None:
    now = time.time() if now is None else now
    session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < now - older_than))
