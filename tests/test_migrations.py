"""Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import re

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.exc import IntegrityError

from buybutton_server.db import alembic_config, make_engine, migrate
from buybutton_server.db.models import Base
from buybutton_server.domain.vocabulary import DeliveryStatus, OrderStatus


def test_migrated_schema_matches_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = make_engine(database_url)
    assert "products" not in inspect(engine).get_table_names()
    engine.dispose()
    migrate(database_url)
    engine = make_engine(database_url)
    assert {"products", "orders", "order_lines"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_stock_check_constraint_is_enforced_by_the_database(database_url: str) -> None:
    """Stock lives per location (``stock_levels``, migration 0025), behind the same CHECK."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        connection.exec_driver_sql(
            "INSERT INTO products (sku, title, description, image_url, price_amount, currency,"
            " requires_shipping, active, created_at, updated_at) VALUES"
            " ('X-1', 'X', '', '', 100, 'USD', true, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO stock_levels (product_id, location_id, on_hand, reserved, updated_at)"
            " SELECT p.id, l.id, 2, 0, CURRENT_TIMESTAMP FROM products p, locations l"
            " WHERE l.code = 'MAIN'"
        )
        connection.commit()
        for statement in (
            "UPDATE stock_levels SET reserved = 3",
            "UPDATE stock_levels SET reserved = -1",
            "UPDATE stock_levels SET on_hand = -1",
        ):
            with pytest.raises(IntegrityError):
                connection.exec_driver_sql(statement)
            connection.rollback()
        connection.exec_driver_sql("UPDATE stock_levels SET reserved = 2")  # the edge is allowed
        connection.commit()
    engine.dispose()


@pytest.mark.parametrize(
    ("table", "statuses"),
    [("orders", tuple(OrderStatus)), ("webhook_deliveries", tuple(DeliveryStatus))],
)
def test_status_check_constraints_list_the_vocabulary(
    table: str, statuses: tuple[str, ...]
) -> None:
    """The tables cannot import the domain's words (the database layer sits below it), so
    this holds the two lists together."""
    checks = [
        constraint
        for constraint in Base.metadata.tables[table].constraints
        if isinstance(constraint, CheckConstraint) and str(constraint.name).endswith("status_known")
    ]
    assert len(checks) == 1
    listed = re.findall(r"'([a-z_]+)'", str(checks[0].sqltext))
    assert tuple(listed) == statuses
