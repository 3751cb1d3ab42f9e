"""Engines and sessions.

SQLite is the embedded default: WAL journal, foreign keys on, a busy timeout, and write
transactions opened with ``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on a
lock upgrade. Read-only work uses :func:`read_session`, whose statements run in autocommit
(each sees a consistent snapshot; a page that needs several related rows reads them in one
statement). PostgreSQL needs nothing special.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from buybutton.errors import ConfigurationError

T = TypeVar("T")
P = ParamSpec("P")

_READONLY = "buybutton_readonly"


POSTGRES_INSTALL = "pip install 'buybutton[postgres]'"
_URL_EXAMPLES = "sqlite:///buybutton.sqlite3 or postgresql+psycopg://user:password@host/database"


def database_url(url: str) -> URL:
    """``BUYBUTTON_DATABASE_URL`` parsed, or a one-line :class:`ConfigurationError`.

    ``postgres://`` (what Heroku and others hand out) and ``postgresql://`` mean PostgreSQL
    through psycopg 3, the driver ``buybutton[postgres]`` installs."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ConfigurationError(
            f"BUYBUTTON_DATABASE_URL is not a database URL ({_redacted(url)!r}); "
            f"write {_URL_EXAMPLES}"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe_url(url: str) -> str:
    """The database a person can recognise, without its password."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return str(parsed.set(database=os.path.abspath(parsed.database or "")).render_as_string())
    return str(parsed.render_as_string(hide_password=True))


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url if len(url) <= 80 else url[:77] + "..."


def make_engine(url: str, **kwargs: Any) -> Engine:
    # SQL parameters hold emails and addresses: keep them out of exceptions and so of logs.
    kwargs.setdefault("hide_parameters", True)
    parsed = database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30}, **kwargs)
            _tune_sqlite(engine)
            return engine
        if "prepare_threshold" in parsed.query:  # ?prepare_threshold=none behind PgBouncer
            value = str(parsed.query["prepare_threshold"]).strip().lower()
            parsed = parsed.difference_update_query(["prepare_threshold"])
            if value not in ("", "none", "off") and not value.isdigit():
                raise ConfigurationError("prepare_threshold in the database URL: a number or none")
            threshold = None if not value.isdigit() else int(value)
            kwargs["connect_args"] = {
                **kwargs.get("connect_args", {}),
                "prepare_threshold": threshold,
            }
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    except ImportError as error:
        if parsed.get_backend_name() == "postgresql":
            raise ConfigurationError(
                f"PostgreSQL needs the psycopg driver ({error.name or 'psycopg'} is not "
                f"installed): {POSTGRES_INSTALL}"
            ) from None
        raise ConfigurationError(
            f"the driver for {parsed.drivername} is not installed ({error.name})"
        ) from None
    except NoSuchModuleError:
        raise ConfigurationError(
            f"BUYBUTTON_DATABASE_URL names an unknown database {parsed.drivername!r}; "
            f"write {_URL_EXAMPLES}"
        ) from None


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
    def _on_begin(conn: Connection) -> None:
        # Reads run in autocommit: each SELECT sees one consistent snapshot by itself, and
        # skipping BEGIN/ROLLBACK halves the cost of a page's product look-up.
        if not conn.get_execution_options().get(_READONLY, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def engine_of(factory: sessionmaker[Session]) -> Engine:
    """The engine a session factory made by :func:`session_factory` is bound to."""
    return cast(Engine, factory.kw["bind"])


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
    engine = engine_of(factory)
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
    engine = engine_of(factory)
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


async def run_read(
    factory: sessionmaker[Session], fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a read: inline on SQLite, in the thread pool elsewhere.

    In WAL mode a SQLite reader never waits for a writer, so a local read of a row or two is
    CPU work of about 100 µs, cheaper than a trip through the thread pool. A PostgreSQL read
    waits on the network and must not hold the event loop.
    """
    if engine_of(factory).dialect.name == "sqlite":
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)
