"""The bare SQLite reader on the checkout's hot path: always fresh, never writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import SqliteReader, close_readers, write_session
from buybutton_server.db.models import Product
from buybutton_server.domain.catalog import product_view
from tests.conftest import add_product


def test_every_read_sees_the_latest_commit(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=5)
    first = product_view(sessions, "MUG-01")
    assert first is not None and first.available == 5 and first.active is True
    with write_session(sessions) as session:
        session.execute(update(Product).values(on_hand=2, price_amount=2600))
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
    from buybutton_server.db import _sqlite_readers

    add_product(sessions)
    product_view(sessions, "MUG-01")
    engine = sessions.kw["bind"]
    connection = _sqlite_readers[engine].opened[0]
    close_readers(engine)
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")
    assert product_view(sessions, "MUG-01") is not None, "a later read opens a new one"
