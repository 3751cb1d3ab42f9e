"""schemathesis generates requests from /api/openapi.json and checks every answer: no 5xx,
documented status codes and content types, bodies that match the schemas."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import make_engine, migrate, session_factory, write_session
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.catalog import upsert_products
from buybutton_server.domain.catalog_import import validate_rows
from buybutton_server.views.api import openapi_document

# The app is built at import (schemathesis reads its document to make one test per
# operation); the database is created, migrated and opened only when the tests run. The
# document is read in-process rather than through the app, so collecting this module starts
# no lifespan: its background loops would run in other threads while pytest is still
# importing (and parsing) modules, which Python 3.11.7's ast module does not survive.
URL = f"sqlite:///{Path(tempfile.mkdtemp(prefix='buybutton-schemathesis-')) / 'api.sqlite3'}"
KEYS: dict[str, str] = {}
APP = create_app(
    Settings(
        secret_keys=("schemathesis-secret-0123456789abcdef",),
        database_url=URL,
        base_url="http://shop.test",
        webhook_seconds=3600,
    )
)
schema = schemathesis.openapi.from_dict(openapi_document())
schema.app = APP
schema.location = "/api/openapi.json"


@pytest.fixture(scope="module", autouse=True)
def running_app() -> Iterator[None]:
    migrate(URL)
    engine = make_engine(URL)
    with write_session(session_factory(engine)) as session:
        KEYS["write"] = create_key(session, "write")[1]
        row = {"sku": "MUG-01", "title": "Mug", "price": "24.00", "currency": "USD", "stock": 9}
        upsert_products(session, validate_rows([("t", row)]))
    engine.dispose()
    with TestClient(APP):  # the lifespan opens the database for every generated call
        yield


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_match_the_document(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEYS['write']}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
