"""The database: engines and sessions, the bare SQLite reader, migrations and models.

sessions   make_engine, session_factory, write_session, read_session, read_connection,
           run_read, open_sessions
reader     SqliteReader, fetch_all, close_readers
schema     alembic_config, migrate
models     the tables (imported as ``buybutton_server.db.models``)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db.reader import SqliteReader, close_readers, fetch_all
from buybutton_server.db.schema import alembic_config, migrate
from buybutton_server.db.sessions import (
    engine_of,
    make_engine,
    read_connection,
    read_session,
    run_read,
    session_factory,
    write_session,
)

# What callers above this layer hold and catch, so that they need no SQLAlchemy import:
# a session factory, and the errors that mean "the database cannot be reached".
Sessions = sessionmaker[Session]
DATABASE_DOWN: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

__all__ = [
    "DATABASE_DOWN",
    "Sessions",
    "SqliteReader",
    "alembic_config",
    "close_readers",
    "engine_of",
    "fetch_all",
    "make_engine",
    "migrate",
    "open_sessions",
    "read_connection",
    "read_session",
    "run_read",
    "session_factory",
    "write_session",
]


@contextmanager
def open_sessions(url: str, **engine_options: Any) -> Iterator[sessionmaker[Session]]:
    """A session factory on a fresh engine for ``url``, disposed (with its bare SQLite
    readers) on the way out: for commands and tools that open the database once."""
    engine = make_engine(url, **engine_options)
    try:
        yield session_factory(engine)
    finally:
        close_readers(engine)
        engine.dispose()
