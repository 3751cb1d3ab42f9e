"""The bare SQLite reader: hot one-statement reads without SQLAlchemy's per-call costs."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, Executable
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db.sessions import engine_of, read_connection

# Compiled statements kept per reader. Prebuilt statements are a few dozen; a caller that
# builds statements per call would otherwise grow the cache without end.
MAX_COMPILED = 512


class SqliteReader:
    """Hot one-statement reads on SQLite through the bare ``sqlite3`` driver.

    Each thread keeps one read-only connection in true autocommit (``isolation_level=None``,
    ``PRAGMA query_only``): no transaction is ever left open, so every statement sees the
    latest commit, and no pool check-out, reset or event dispatch is paid per read. That
    is most of the cost of a one-row read through SQLAlchemy, on the checkout page's path.

    Statements are SQLAlchemy Core statements compiled once for SQLite. The compiled form is
    found by the statement's ``id()``, and each entry holds the statement itself: while an
    entry exists its statement cannot be collected, so no other statement can take its id
    and be handed its SQL.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []
        self.compiled: dict[int, tuple[Executable, str, tuple[str, ...]]] = {}
        self.lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA query_only = ON")
            self.local.connection = connection
            with self.lock:
                self.opened.append(connection)
        return connection

    def _sql(self, statement: Executable) -> tuple[str, tuple[str, ...]]:
        found = self.compiled.get(id(statement))
        if found is not None and found[0] is statement:
            return found[1], found[2]
        compiled = statement.compile(dialect=sqlite_dialect())  # type: ignore[attr-defined]
        sql, names = str(compiled), tuple(compiled.positiontup or ())
        if len(self.compiled) >= MAX_COMPILED:
            self.compiled.clear()
        self.compiled[id(statement)] = (statement, sql, names)
        return sql, names

    def all(self, statement: Executable, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        sql, names = self._sql(statement)
        values = [params[n] for n in names]
        try:
            return self._connection().execute(sql, values).fetchall()
        except sqlite3.Error as error:
            # Start afresh next time, and fail like SQLAlchemy does: the error pages know it.
            self._drop_connection()
            raise OperationalError(sql, values, error) from error

    def _drop_connection(self) -> None:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            return
        del self.local.connection
        with self.lock:
            if connection in self.opened:
                self.opened.remove(connection)
        connection.close()

    def close(self) -> None:
        with self.lock:
            for connection in self.opened:
                connection.close()
            self.opened.clear()
        self.local = threading.local()


_sqlite_readers: weakref.WeakKeyDictionary[Engine, SqliteReader] = weakref.WeakKeyDictionary()


def reader_for(engine: Engine) -> SqliteReader | None:
    """The engine's bare reader if it has one open (tests look at its connections)."""
    return _sqlite_readers.get(engine)


def fetch_all(
    factory: sessionmaker[Session], statement: Executable, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Rows of one read-only statement; on a SQLite file, through :class:`SqliteReader`.

    Build hot statements once, at module level: their compiled form is then reused for
    every call. A statement built per call works too, compiled each time."""
    engine = engine_of(factory)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        reader = _sqlite_readers.get(engine)
        if reader is None:
            reader = _sqlite_readers.setdefault(engine, SqliteReader(database))
            # Closed with the app (close_readers), or at the latest when the engine goes.
            weakref.finalize(engine, reader.close)
        return reader.all(statement, params)
    with read_connection(factory) as connection:
        return [tuple(row) for row in connection.execute(statement, params)]


def close_readers(engine: Engine) -> None:
    """Close the bare SQLite read connections of an engine (at shutdown)."""
    reader = _sqlite_readers.pop(engine, None)
    if reader is not None:
        reader.close()
