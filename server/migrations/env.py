"""Alembic environment: runs migrations online against ``sqlalchemy.url``."""

from __future__ import annotations

from alembic import context

from buybutton_server.db import make_engine
from buybutton_server.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # A batch migration rebuilds a table (copy, DROP, rename); with foreign keys on,
            # the DROP would first delete its rows, cascading to the rows that reference them
            # (a product's prices, images and stock). Off for this connection, before any
            # transaction begins (SQLite ignores the pragma inside one).
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("buybutton migrations run online only")
run_migrations_online()
