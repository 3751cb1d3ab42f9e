"""Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import re
from datetime import date

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, text
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


_DAILY_ROWS = (  # (day, kind, sku, source, currency, events, amount)
    ("2024-01-01", "impression", "MUG-01", None, None, 10, 0),
    ("2024-01-01", "click", "MUG-01", "ig", None, 3, 0),
    ("2024-01-01", "payment_succeeded", "MUG-01", "ig", "EUR", 2, 2500),
    ("2024-01-01", "payment_succeeded_line", "MUG-01", "ig", "EUR", 1, 700),
    ("2024-01-02", "click", "MUG-01", "ig", None, 1, 0),
    ("2024-01-02", "refunded", "MUG-01", "ig", "EUR", 1, 500),
)


def test_0031_folded_the_daily_totals_into_the_rollups(database_url: str) -> None:
    """Migration 0031 added every row of ``analytics_daily`` (the daily totals of events
    past their raw period) into its blocks, on each backend; 0035 carried the blocks into the
    running totals. What 0040 relies on when it drops the table."""
    config = alembic_config(database_url)
    command.downgrade(config, "0030")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for day, kind, sku, source, currency, events, amount in _DAILY_ROWS:
            connection.execute(
                text(
                    "INSERT INTO analytics_daily (day, kind, sku, source, currency, events,"
                    " amount) VALUES (:day, :kind, :sku, :source, :currency, :events, :amount)"
                ),
                {"day": date.fromisoformat(day), "kind": kind, "sku": sku, "source": source,
                 "currency": currency, "events": events, "amount": amount},
            )  # fmt: skip
    engine.dispose()
    command.upgrade(config, "0031")
    engine = make_engine(database_url)
    first = (date(2024, 1, 1) - date(1970, 1, 1)).days * 24
    with engine.connect() as connection:
        hourly = connection.execute(
            text(
                "SELECT hour, source, currency, impression, click, payment_succeeded,"
                " payment_succeeded_line, refunded, revenue, refunds FROM analytics_rollups"
                " WHERE span = 1 ORDER BY hour, source, currency"
            )
        ).all()
        whole = connection.execute(
            text(
                "SELECT sum(impression), sum(click), sum(payment_succeeded),"
                " sum(payment_succeeded_line), sum(refunded), sum(revenue), sum(refunds)"
                " FROM analytics_rollups WHERE span = 4096"
            )
        ).one()
    engine.dispose()
    assert [tuple(r) for r in hourly] == [
        (first, "", "", 10, 0, 0, 0, 0, 0, 0),
        (first, "ig", "", 0, 3, 0, 0, 0, 0, 0),
        (first, "ig", "EUR", 0, 0, 2, 1, 0, 3200, 0),
        (first + 24, "ig", "", 0, 1, 0, 0, 0, 0, 0),
        (first + 24, "ig", "EUR", 0, 0, 0, 0, 1, 0, 500),
    ]
    assert tuple(whole) == (10, 4, 2, 1, 1, 3200, 500)
    command.upgrade(config, "head")
    engine = make_engine(database_url)
    with engine.connect() as connection:
        latest = connection.execute(
            text(
                "SELECT sum(impression), sum(click), sum(payment_succeeded),"
                " sum(payment_succeeded_line), sum(refunded), sum(revenue), sum(refunds)"
                " FROM analytics_keys"
            )
        ).one()
    engine.dispose()
    assert tuple(latest) == (10, 4, 2, 1, 1, 3200, 500)
