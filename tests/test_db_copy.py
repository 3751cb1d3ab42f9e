"""``buybutton db copy SOURCE TARGET`` (issue 18, item 5): a shop moves from SQLite to
PostgreSQL (or another SQLite file) whole: every table's rows, equal counts, an order that
reads the same through the service layer, a key and a login that still work, sequences past
the copied ids; a target that holds a shop is refused with the table named, and bad input is
one line, exit 2, nothing written."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import URL, func, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server import Settings
from buybutton_server.db import open_sessions, write_session
from buybutton_server.db.copy import TABLES, Progress
from buybutton_server.db.models import AdminUser, AnalyticsEvent, Order
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin, start_session
from buybutton_server.domain.orders import refund_order
from buybutton_server.errors import Conflict, InvalidInput
from buybutton_server.payments import TestPaymentProvider
from buybutton_server.runner import seed_demo_catalog
from buybutton_server.services import api_access, api_keys, checkout, orders
from buybutton_server.services.checkout import PaymentForm
from buybutton_server.services.db_copy import copy_shop
from tests.conftest import GOOD_CARD, SECRET, SHOPPER, _admin, add_product


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@dataclass
class Shop:
    url: str
    order_number: str
    api_key: str
    admin_token: str


def _pay(sessions: sessionmaker[Session], sku: str) -> str:
    form = PaymentForm(
        link=CheckoutLink(sku=sku, max_quantity=10),
        quantity=2,
        attempt_key=secrets.token_urlsafe(18),
        method="card",
        details=SHOPPER,
        payment_details=GOOD_CARD,
    )
    outcome = checkout.pay(sessions, TestPaymentProvider(), form, hold_for=timedelta(minutes=15))
    assert outcome.order is not None and outcome.order.status == "paid"
    return outcome.order.number


@pytest.fixture
def shop(tmp_path: Path, migrated_template: Path) -> Shop:
    """A demo shop on SQLite with a paid and partly refunded order, an API key, a signed-in
    admin and analytics events."""
    path = tmp_path / "source.sqlite3"
    shutil.copy(migrated_template, path)
    url = f"sqlite:///{path}"
    settings = Settings(secret_keys=(SECRET,), database_url=url, base_url="http://shop.test")
    seed_demo_catalog(settings, image_base="https://blog.test")
    with open_sessions(url) as sessions:
        add_product(sessions, price="24.00", stock=9)
        number = _pay(sessions, "MUG-01")
        _pay(sessions, "MUG-01")
        with sessions() as session:
            order_id = session.scalar(select(Order.id).where(Order.number == number))
        assert order_id is not None
        refund_order(sessions, TestPaymentProvider(), order_id, amount=500)
        key = api_keys.create_key(sessions, "ci", "write").key
        with write_session(sessions) as session:
            user = create_admin(session, "owner@shop.example", "correct horse battery staple")
        with write_session(sessions) as session:
            token = start_session(session, session.get_one(AdminUser, user.id))
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(AnalyticsEvent))
    return Shop(url, number, key, token)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database with no schema at all (the copy migrates it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.sqlite3'}"
        return
    server: URL = request.getfixturevalue("postgres_server")
    name = f"c_{uuid.uuid4().hex[:16]}"
    with _admin(server) as admin:
        admin.exec_driver_sql(f"CREATE DATABASE {name}")
    yield server.set(database=name).render_as_string(hide_password=False)
    with _admin(server) as admin:
        admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_shop_is_copied_whole(shop: Shop, empty_target: str) -> None:
    seen: list[Progress] = []
    result = copy_shop(shop.url, empty_target, progress=seen.append, batch=7)
    assert result.committed and not result.mismatched
    assert [row.table for row in result.counts] == [t.name for t in TABLES]
    by_table = {row.table: row.target for row in result.counts}
    for table in ("products", "orders", "order_lines", "refunds", "api_keys", "admin_users"):
        assert by_table[table] >= 1, table
    assert by_table["analytics_events"] > 1 and by_table["admin_sessions"] == 1
    assert seen[-1].done == seen[-1].total == sum(by_table.values())
    # Batches of 7: a table of more rows arrives in several.
    assert any(p.table_done == 7 and p.table_total > 7 for p in seen)

    with open_sessions(shop.url) as before, open_sessions(empty_target) as after:
        assert orders.get_order(after, shop.order_number) == orders.get_order(
            before, shop.order_number
        )
        assert api_access.authenticate(after, f"Bearer {shop.api_key}", "write").scope == "write"
        admin = admin_auth.user_for(after, shop.admin_token)
        assert admin is not None and admin.email == "owner@shop.example"
        # The sequences moved past the copied ids: a new order gets a new id, no conflict.
        highest = _max_order_id(after)
        number = _pay(after, "MUG-01")
        with after() as session:
            new = session.scalar(select(Order).where(Order.number == number))
        assert new is not None and new.id > highest


def _max_order_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.max(Order.id))) or 0)


def test_a_target_holding_a_shop_is_refused_with_the_table_named(
    shop: Shop, empty_target: str
) -> None:
    assert copy_shop(shop.url, empty_target).committed
    with pytest.raises(Conflict, match="not empty: table admin_users has 1 rows"):
        copy_shop(shop.url, empty_target)


def test_a_migrated_target_is_empty_enough(shop: Shop, database_url: str) -> None:
    """A target the migrations already ran on (seeded main location, roll-up mark) is empty:
    the source's versions of those rows replace the seeded ones."""
    result = copy_shop(shop.url, database_url)
    assert result.committed
    with open_sessions(database_url) as after:
        assert orders.get_order(after, shop.order_number).number == shop.order_number


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buybutton.cli", "db", "copy", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_input_is_one_line_exit_2_and_nothing_written(shop: Shop, tmp_path: Path) -> None:
    target = tmp_path / "never.sqlite3"
    cases = {
        "not a database URL": ("nonsense", f"sqlite:///{target}"),
        "scheme 'mysql'": ("mysql://u@host/shop", f"sqlite:///{target}"),
        "same database": (shop.url, f"sqlite:///{tmp_path}/./source.sqlite3"),
        "no SQLite database": (f"sqlite:///{tmp_path / 'missing.sqlite3'}", f"sqlite:///{target}"),
        "cannot reach the target": (shop.url, "postgresql://u:pw@127.0.0.1:1/shop"),
    }
    for expected, (source, to) in cases.items():
        done = _cli(source, to)
        assert done.returncode == 2, (expected, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (expected, done.stderr)
        assert "pw" not in done.stderr
        assert not target.exists()
    with pytest.raises(InvalidInput, match="same database"):
        copy_shop(shop.url, shop.url)


def test_the_command_prints_counts_and_lines_when_not_a_terminal(
    shop: Shop, tmp_path: Path
) -> None:
    done = _cli(shop.url, f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    assert done.returncode == 0, done.stderr
    assert "copied orders: 2 rows" in done.stderr
    assert "\r" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["table", "source", "target"]
    assert any(line.split() == ["orders", "2", "2"] for line in lines)
    assert lines[-1].startswith("copied ") and f" rows in {len(TABLES)} tables from " in lines[-1]
    again = _cli(shop.url, f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"buybutton: the target sqlite:///{tmp_path / 'copy.sqlite3'} is not empty: table "
        "admin_users has 1 rows; copy into a new, empty database"
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgresql_back_to_sqlite(shop: Shop, database_url: str, tmp_path: Path) -> None:
    """The other way round: PostgreSQL read in one snapshot, a SQLite file written."""
    assert copy_shop(shop.url, database_url).committed
    back = f"sqlite:///{tmp_path / 'back.sqlite3'}"
    result = copy_shop(database_url, back, batch=3)
    assert result.committed and not result.mismatched
    with open_sessions(shop.url) as before, open_sessions(back) as after:
        assert orders.get_order(after, shop.order_number) == orders.get_order(
            before, shop.order_number
        )
