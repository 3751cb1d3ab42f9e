"""The bare SQLite reader on the checkout's hot path: always fresh, never writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import literal_column, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import SqliteReader, close_readers, write_session
from buybutton_server.db.models import Product
from buybutton_server.domain.catalog import product_view
from tests.conftest import add_product, set_stock


def test_every_read_sees_the_latest_commit(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=5)
    first = product_view(sessions, "MUG-01")
    assert first is not None and first.available == 5 and first.active is True
    with write_session(sessions) as session:
        session.execute(update(Product).values(price_amount=2600))
    set_stock(sessions, on_hand=2)
    again = product_view(sessions, "MUG-01")
    assert again is not None and (again.available, again.price_amount) == (2, 2600)
    # ...from another thread too, which has its own connection.
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(product_view(sessions, "MUG-01")))
    worker.start()
    worker.join()
    assert seen == [again]


def test_the_reader_cannot_write(sessions: sessionmaker[Session], settings) -> None:  # type: ignore[no-untyped-def]
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the bare reader is for SQLite files")
    add_product(sessions)
    reader = SqliteReader(sessions.kw["bind"].url.database)
    with pytest.raises(Exception, match="readonly"):
        reader.all(text("DELETE FROM products"), {})
    assert product_view(sessions, "MUG-01") is not None
    reader.close()


def test_close_readers_closes_their_connections(sessions: sessionmaker[Session], settings) -> None:  # type: ignore[no-untyped-def]
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the bare reader is for SQLite files")
    from buybutton_server.db.reader import reader_for

    add_product(sessions)
    product_view(sessions, "MUG-01")
    engine = sessions.kw["bind"]
    reader = reader_for(engine)
    assert reader is not None
    connection = reader.opened[0]
    close_readers(engine)
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")
    assert product_view(sessions, "MUG-01") is not None, "a later read opens a new one"


def test_statements_built_per_call_each_get_their_own_sql(
    sessions: sessionmaker[Session],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """A statement that is garbage-collected frees its id for the next one; the compiled
    SQL cache must not hand the newcomer the old statement's SQL."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the bare reader is for SQLite files")
    reader = SqliteReader(sessions.kw["bind"].url.database)
    try:
        for number in range(200):
            assert reader.all(select(literal_column(str(number))), {}) == [(number,)]
            assert reader.all(text(f"SELECT {number} + 1000"), {}) == [(number + 1000,)]
    finally:
        reader.close()


def test_the_compiled_cache_stays_bounded(sessions: sessionmaker[Session], settings) -> None:  # type: ignore[no-untyped-def]
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the bare reader is for SQLite files")
    from buybutton_server.db.reader import MAX_COMPILED

    reader = SqliteReader(sessions.kw["bind"].url.database)
    try:
        kept = [text(f"SELECT {n}") for n in range(MAX_COMPILED * 2)]
        for number, statement in enumerate(kept):
            assert reader.all(statement, {}) == [(number,)]
        assert len(reader.compiled) <= MAX_COMPILED
    finally:
        reader.close()
