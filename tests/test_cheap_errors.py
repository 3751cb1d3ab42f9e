"""Malformed input answers 4xx, never a 500, and no log line carries a link token, an order
id or an email address."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings
from buybutton_server.db import make_engine
from buybutton_server.logs import RedactCapabilities, redact_text
from tests.conftest import SECRET, add_product, path_of
from tests.live_server import free_port
from tests.test_api import make_key

EMAIL = "ana.secret@example.com"


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'write')}"
    return client


@pytest.mark.parametrize(
    "query", ["limit=²", "limit=١٢", "limit=" + "9" * 5000, "limit=-1", "limit=1e3", "cursor=²"]
)
def test_odd_numbers_in_api_queries_are_a_422(api: TestClient, query: str) -> None:
    answer = api.get(f"/api/v1/orders?{query}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"]


ODD_VALUES = ["²", "١٢", "9" * 5000, "-1", "1e3", "0x10", " 7", "\x00", "x" * 5000, "2026-13-45"]


def test_no_query_value_makes_any_api_read_fail(api: TestClient) -> None:
    from buybutton_server.views.api import OPERATIONS

    for operation in OPERATIONS:
        if operation.method != "GET" or operation.query is None:
            continue
        path = operation.path.replace("{", "").replace("}", "")
        for name in operation.query.model_fields:
            for value in ODD_VALUES:
                answer = api.get(path, params={name: value})
                assert answer.status_code < 500, (path, name, value[:20], answer.text)


def test_a_deeply_nested_api_body_is_refused_cleanly(api: TestClient) -> None:
    for body in ("[" * 15_000, '{"a":' * 15_000, "[" * 15_000 + "]" * 15_000):
        answer = api.post(
            "/api/v1/products", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code in (400, 422), answer.text


def test_a_beacon_of_brackets_is_a_400(client: TestClient) -> None:
    for body in ("[" * 15_000, "[" * 5_000 + "]" * 5_000, '{"impressions":' * 1_000):
        answer = client.post(
            "/api/public/events", content=body, headers={"Content-Type": "text/plain"}
        )
        assert answer.status_code == 400, answer.text


def test_sql_parameters_never_reach_an_error_message(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (email TEXT UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES (:e)"), {"e": EMAIL})
    with pytest.raises(SQLAlchemyError) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (:e)"), {"e": EMAIL})
    assert EMAIL not in str(caught.value)
    engine.dispose()


def test_free_text_loses_tokens_ids_and_emails(bb: BuyButton) -> None:
    url = bb.checkout_link("MUG-01", email=EMAIL, name="Ana")
    token = path_of(url).removeprefix("/c/")
    line = (
        f"GET {path_of(url)}?quantity=2 failed: cannot read {token!r} for {EMAIL}; "
        "see /orders/Xy12ab34Cd56ef78Gh90ij and /l/AbCdEf1234"
    )
    redacted = redact_text(line)
    for secret in (token, token[:40], EMAIL, "Xy12ab34Cd56ef78Gh90ij", "AbCdEf1234"):
        assert secret not in redacted
    assert "/c/[redacted]" in redacted


def test_an_error_record_is_redacted_with_its_traceback(bb: BuyButton) -> None:
    token = path_of(bb.checkout_link("MUG-01", email=EMAIL)).removeprefix("/c/")
    try:
        raise ValueError(f"bad quantity for /c/{token} ({EMAIL})")
    except ValueError:
        record = logging.LogRecord(
            "buybutton",
            logging.ERROR,
            __file__,
            1,
            "failed on %s",
            (f"/c/{token}",),
            sys.exc_info(),
        )
    assert RedactCapabilities().filter(record)
    shown = logging.Formatter().format(record)
    assert "ValueError" in shown
    assert token not in shown and EMAIL not in shown


# A real `uvicorn` serving the app with the log configuration `buybutton serve` uses; the
# checkout page fails with an exception whose message holds the token and the email.
SERVER = """
import sys, uvicorn
from buybutton_server import Settings, create_app
from buybutton_server.logs import uvicorn_log_config
from buybutton_server.services import checkout

async def broken(sessions, link, variant):
    raise ValueError(f"cannot price {link!r}")

checkout.read_offer = broken
uvicorn.run(create_app(Settings.from_env()), host="127.0.0.1", port=int(sys.argv[1]),
            log_config=uvicorn_log_config())
"""


def test_the_error_log_of_a_real_server_names_no_token_or_email(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    port = free_port()
    env = {
        **os.environ,
        "BUYBUTTON_DATABASE_URL": settings.database_url,
        "BUYBUTTON_SECRET_KEYS": SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        path = path_of(bb.checkout_link("MUG-01", email=EMAIL, name="Ana Secret"))
        answer = httpx.get(f"http://127.0.0.1:{port}{path}?quantity=%C2%B2&email={EMAIL}")
        assert answer.status_code == 500
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    token = path.removeprefix("/c/")
    assert "ValueError" in output  # the trace is there ...
    assert "unexpected error on GET /c/[redacted]" in output
    assert token not in output and token[:40] not in output  # ... without the capability
    assert EMAIL not in output and "Ana Secret" not in output
    assert not re.search(r"eyJ[\w-]{20,}", output)


def test_a_command_logs_through_the_redacting_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """``buybutton worker`` is not served by uvicorn: its log lines are redacted too."""
    import logging

    from buybutton_server.logs import redact_command_logs

    logger = logging.getLogger("buybutton")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        redact_command_logs()
        redact_command_logs()  # twice: still one handler
        logging.getLogger("buybutton.outbox").warning(
            "delivery failed for /c/eyJzIjoiTVVHLTAxIn0.secret-token?email=ann@example.com"
        )
        err = capsys.readouterr().err
        assert err.count("delivery failed") == 1
        assert "secret-token" not in err and "ann@example.com" not in err
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
