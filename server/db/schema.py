"""Migrations: the schema is brought up to date with Alembic.

Alembic is imported when a migration runs, not with the app: a worker process that only
serves requests starts without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "buybutton_server:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    from alembic import command

    from buybutton_server.db.sessions import database_url

    database_url(url)  # a bad URL or a missing driver: one line, before Alembic starts
    command.upgrade(alembic_config(url), "head")
