"""Copying a whole shop from one database to another (``buybutton db copy``).

Every table of the metadata is copied in foreign-key order (``sorted_tables``), rows by
primary key, in batches: the source is streamed (``yield_per``) so memory stays flat
whatever its size, and each batch is one multi-row ``INSERT`` on PostgreSQL (SQLAlchemy's
"insertmanyvalues"; ``executemany`` on SQLite). The source is read in one snapshot (a
deferred ``BEGIN`` on SQLite, ``REPEATABLE READ`` on PostgreSQL), so a shop still serving
copies consistently. The target is written in one transaction: the rows its migrations
seeded (the main location, the roll-up mark) are replaced by the source's, PostgreSQL's
sequences are moved past the copied ids, and the counts are compared before the commit, so a
copy that does not add up leaves nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)

from buybutton_server.db.models import Base
from buybutton_server.db.schema import migrate
from buybutton_server.db.sessions import database_url, make_engine

Database = Engine  # what the service layer holds, without importing SQLAlchemy
BATCH = 1000
_MAX_PARAMETERS = 30_000  # under SQLite's 32,766 and PostgreSQL's 65,535 per statement
TABLES: list[Table] = list(Base.metadata.sorted_tables)


@dataclass(frozen=True)
class Progress:
    """Where a copy is: the table being copied, rows copied of it, rows copied in all."""

    table: str
    table_done: int
    table_total: int
    done: int
    total: int


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int


def backend(url: str) -> str:
    """``sqlite`` or ``postgresql`` (a bad URL or unknown scheme raises
    :class:`buybutton.errors.ConfigurationError`)."""
    return str(database_url(url).get_backend_name())


def same_database(a: str, b: str) -> bool:
    """Whether two URLs name one database (SQLite files by their absolute path)."""
    first, second = database_url(a), database_url(b)
    if first.get_backend_name() != second.get_backend_name():
        return False
    if first.get_backend_name() == "sqlite":
        return _sqlite_path(first.database) == _sqlite_path(second.database)
    return (first.host or "", first.port or 5432, first.database) == (
        second.host or "",
        second.port or 5432,
        second.database,
    )


def _sqlite_path(database: str | None) -> str:
    return os.path.realpath(database) if database and database != ":memory:" else ":memory:"


def sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names (None for other databases)."""
    parsed = database_url(url)
    return _sqlite_path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def open_source(url: str) -> Engine:
    """An engine that reads ``url`` in one snapshot per connection and writes nothing."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            parsed,
            hide_parameters=True,
            isolation_level="REPEATABLE READ",
            execution_options={"postgresql_readonly": True},
        )
    engine = create_engine(parsed, hide_parameters=True, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN, below, decides

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no write lock

    return engine


def open_target(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        # Batches as multi-row INSERTs rather than one statement per row.
        engine.dialect.use_insertmanyvalues_wo_returning = True
        engine.dialect.insertmanyvalues_page_size = BATCH
    return engine


def ping(engine: Engine) -> None:
    """Connect once (raises the driver's error when the database cannot be reached)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def revision(engine: Engine) -> str | None:
    """The Alembic revision of a database (None when it has never been migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from buybutton_server.db.schema import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return str(head)


def seeded_counts() -> dict[str, int]:
    """Rows per table in a freshly migrated database (what migrations seed)."""
    with tempfile.TemporaryDirectory(prefix="buybutton-copy-") as folder:
        url = f"sqlite:///{os.path.join(folder, 'fresh.sqlite3')}"
        migrate(url)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                return {name: n for name, n in counts(connection).items() if n}
        finally:
            engine.dispose()


def counts(connection: Connection, tables: list[Table] | None = None) -> dict[str, int]:
    """Rows per table, for the tables that exist."""
    present = set(inspect(connection).get_table_names())
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
        for table in tables or TABLES
        if table.name in present
    }


def occupied(engine: Engine, seeded: dict[str, int]) -> tuple[str, int] | None:
    """The first table holding more rows than migrations seed, with its count."""
    with engine.connect() as connection:
        for name, n in counts(connection).items():
            if n > seeded.get(name, 0):
                return name, n
    return None


class _Mismatch(Exception):
    """Raised inside the target's transaction to roll it back."""


def copy(
    source: Engine,
    target: Engine,
    *,
    seeded: dict[str, int],
    batch: int = BATCH,
    progress: Callable[[Progress], None] = lambda _: None,
) -> tuple[bool, list[TableCount]]:
    """Copy every table from ``source`` to the migrated, empty ``target``. Returns whether
    it was committed and the counts per table, compared in the target's transaction
    (committed only when every count matches, rolled back otherwise)."""
    report: list[TableCount] = []
    with source.connect() as reading, reading.begin():
        expected = counts(reading)
        total = sum(expected.values())
        try:
            with target.begin() as writing:
                for table in reversed(TABLES):  # what migrations seeded makes way
                    if seeded.get(table.name):
                        writing.execute(table.delete())
                done = 0
                for table in TABLES:
                    copied = 0
                    for rows in _batches(reading, table, batch):
                        writing.execute(table.insert(), rows)
                        copied += len(rows)
                        done += len(rows)
                        progress(Progress(table.name, copied, expected[table.name], done, total))
                    if not copied:
                        progress(Progress(table.name, 0, expected[table.name], done, total))
                _advance_sequences(writing)
                found = counts(writing)
                report = [TableCount(t.name, expected[t.name], found[t.name]) for t in TABLES]
                if any(row.source != row.target for row in report):
                    raise _Mismatch()
        except _Mismatch:
            return False, report
    return True, report


def _batches(reading: Connection, table: Table, batch: int) -> Iterator[list[dict[str, Any]]]:
    columns = list(table.columns)
    size = max(1, min(batch, _MAX_PARAMETERS // max(1, len(columns))))
    fixes: list[Callable[[Any], Any] | None] = [
        _datetime_fix if isinstance(c.type, DateTime) else None for c in columns
    ]
    query = select(*columns).order_by(*table.primary_key.columns)
    result = reading.execution_options(yield_per=size).execute(query)
    for part in result.partitions(size):
        yield [_row(columns, fixes, row) for row in part]


def _row(
    columns: list[Column[Any]], fixes: list[Callable[[Any], Any] | None], row: Any
) -> dict[str, Any]:
    return {
        column.key: (fix(value) if fix and value is not None else value)
        for column, fix, value in zip(columns, fixes, row, strict=True)
    }


def _datetime_fix(value: datetime) -> datetime:
    """Every time in UTC: SQLite hands back naive UTC values, and a naive value sent to
    PostgreSQL would be read in the server's time zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _advance_sequences(connection: Connection) -> None:
    """PostgreSQL: each table's id sequence past the copied ids (the next insert gets a new
    id). SQLite needs nothing: it takes the next rowid after the largest."""
    if connection.dialect.name != "postgresql":
        return
    for table in TABLES:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            top = connection.execute(select(func.max(column))).scalar()
            connection.execute(
                text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
                {"sequence": sequence, "value": top or 1, "called": top is not None},
            )
