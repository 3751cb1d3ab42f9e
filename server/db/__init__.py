"""Engine, sessions and migrations.

SQLite is the embedded default: WAL journal, foreign keys on, a busy timeout, and write
transactions opened with ``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on a
lock upgrade. Read-only work uses :func:`read_session`, whose statements run in autocommit
(each sees a consistent snapshot; a page that needs several related rows reads them in one
statement). PostgreSQL needs nothing special.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

_READONLY = "buybutton_readonly"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads run in autocommit: each SELECT sees one consistent snapshot by itself, and
        # skipping BEGIN/ROLLBACK halves the cost of a page's product look-up.
        if not conn.get_execution_options().get(_READONLY, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


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


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any exception.

    SQLite has one writer at a time. Threads of one process queue on a lock here, which
    wakes the next writer at once; left to SQLite's busy handler they would sleep and retry
    (1, 2, 5 ... 100 ms), which under load costs far more than the writes. Several worker
    processes still meet at SQLite's own lock, with the busy timeout.
    """
    engine: Engine = factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        with factory() as session, session.begin():
            yield session
        return
    lock = _write_locks.get(engine)
    if lock is None:
        lock = _write_locks.setdefault(engine, threading.Lock())
    with lock, factory() as session, session.begin():
        yield session


_readonly_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _readonly(factory: sessionmaker[Session]) -> Engine:
    engine: Engine = factory.kw["bind"]
    readonly = _readonly_engines.get(engine)
    if readonly is None:
        readonly = _readonly_engines[engine] = engine.execution_options(**{_READONLY: True})
    return readonly


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """An ORM session for reads; on SQLite it takes no write lock."""
    with Session(_readonly(factory)) as session:
        yield session


@contextmanager
def read_connection(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A Core connection for hot reads, skipping the ORM's unit of work."""
    with _readonly(factory).connect() as connection:
        yield connection


class SqliteReader:
    """Hot one-statement reads on SQLite through the bare ``sqlite3`` driver.

    Each thread keeps one read-only connection in true autocommit (``isolation_level=None``,
    ``PRAGMA query_only``): no transaction is ever left open, so every statement sees the
    latest commit, and no pool check-out, reset or event dispatch is paid per read. That
    is most of the cost of a one-row read through SQLAlchemy, on the checkout page's path.
    Statements are SQLAlchemy Core statements compiled once for SQLite.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []
        self.compiled: dict[int, tuple[str, tuple[str, ...]]] = {}
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
        if found is None:
            compiled = statement.compile(dialect=sqlite_dialect())  # type: ignore[attr-defined]
            found = (str(compiled), tuple(compiled.positiontup or ()))
            self.compiled[id(statement)] = found
        return found

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


def fetch_all(
    factory: sessionmaker[Session], statement: Executable, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """Rows of one prebuilt read-only statement (module-level, built once: its compiled
    form is cached by identity). On a SQLite file, through :class:`SqliteReader`."""
    engine: Engine = factory.kw["bind"]
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


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "buybutton_server:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    command.upgrade(alembic_config(url), "head")


async def run_read(factory: sessionmaker[Session], fn: Callable[..., T], *args: Any) -> T:
    """Run a read: inline on SQLite, in the thread pool elsewhere.

    In WAL mode a SQLite reader never waits for a writer, so a local read of a row or two is
    CPU work of about 100 µs, cheaper than a trip through the thread pool. A PostgreSQL read
    waits on the network and must not hold the event loop.
    """
    engine: Engine = factory.kw["bind"]
    if engine.dialect.name == "sqlite":
        return fn(*args)
    return await run_in_threadpool(fn, *args)
