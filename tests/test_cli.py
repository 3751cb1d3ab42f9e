"""The ``buybutton`` command: links, snippets, configuration errors."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.cli import main, server_missing
from buybutton.tokens import LinkSigner
from tests.conftest import BASE_URL, GOOD_CARD, SECRET, add_product, attempt_key, orders, path_of


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


def test_printed_link_opens_a_prefilled_checkout_that_pays_once(
    env: None,
    client: TestClient,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_product(sessions)
    assert (
        main(
            [
                "link",
                "MUG-01",
                "--quantity",
                "2",
                "--email",
                "ana@example.com",
                "--name",
                "Ana Lima",
                "--source",
                "newsletter",
            ]
        )
        == 0
    )
    url = capsys.readouterr().out.strip()
    assert url.startswith(BASE_URL + "/c/")
    page = client.get(path_of(url))
    assert 'value="ana@example.com"' in page.text and 'value="Ana Lima"' in page.text
    form = {
        "attempt": attempt_key(page.text),
        "quantity": "2",
        "line1": "1 Main St",
        "city": "Oslo",
        "postal_code": "0150",
        "country": "Norway",
        **GOOD_CARD,
    }
    client.post(path_of(url), data=form)
    client.post(path_of(url), data=form)
    [order] = orders(sessions)
    assert (order.status, order.email, order.source, order.total_amount) == (
        "paid",
        "ana@example.com",
        "newsletter",
        4800,
    )


def test_snippet_is_printed(
    env: None, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add_product(sessions)
    assert main(["snippet", "MUG-01", "--label", "Buy <now>", "--source", "blog"]) == 0
    out = capsys.readouterr().out
    assert 'data-buybutton-sku="MUG-01"' in out and "Buy &lt;now&gt;" in out
    assert f'src="{BASE_URL}/widgets/buybutton.js"' in out


@pytest.mark.parametrize(
    ("env_vars", "message"),
    [
        ({"BUYBUTTON_PORT": "eighty"}, "BUYBUTTON_PORT must be a whole number, got 'eighty'"),
        ({"BUYBUTTON_BASE_URL": "shop.example"}, "BUYBUTTON_BASE_URL must be an origin"),
        ({"BUYBUTTON_ENV": "staging"}, "BUYBUTTON_ENV must be one of development, production"),
        ({"BUYBUTTON_PAYMENT_PROVIDER": "paypal"}, "BUYBUTTON_PAYMENT_PROVIDER must be one of"),
        (
            {"BUYBUTTON_PAYMENT_PROVIDER": "stripe"},
            "BUYBUTTON_STRIPE_SECRET_KEY is required when BUYBUTTON_PAYMENT_PROVIDER=stripe",
        ),
        (
            {"BUYBUTTON_ENV": "production", "BUYBUTTON_BASE_URL": "https://shop.example"},
            "BUYBUTTON_SECRET_KEYS holds the development key",
        ),
    ],
)
def test_bad_settings_give_one_clear_line(
    env_vars: dict[str, str], message: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env_vars}
    done = subprocess.run(
        [sys.executable, "-m", "buybutton.cli", "link", "MUG-01"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"buybutton: {done.stderr.strip()[11:]}"]
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_link_options_are_one_line(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["link", "has space"]) == 2
    assert capsys.readouterr().err.strip() == (
        "buybutton: sku must be 1-64 letters, digits, '.', '_' or '-'"
    )


def test_unreachable_database_is_one_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "BUYBUTTON_DATABASE_URL",
        f"postgresql+psycopg://shop:hunter2@/shop?host={tmp_path}/none&connect_timeout=2",
    )
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("buybutton: cannot reach the database:")
    assert len(err.strip().splitlines()) == 1 and "hunter2" not in err


def test_demo_refuses_a_busy_port_before_touching_anything(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        database = tmp_path / "demo.sqlite3"
        assert main(["demo", "--port", str(port), "--database", str(database)]) == 2
    assert f"port {port} on 127.0.0.1 is in use; choose another with --port" in (
        capsys.readouterr().err
    )
    assert not database.exists()


def test_help_lists_every_command_with_the_server_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name, help_text in [
        ("link", "print a signed checkout link"),
        ("snippet", "print paste-ready embed code"),
        ("serve", "run the server"),
        ("demo", "seed a demo shop"),
        ("db", "database schema"),
        ("orders", "orders"),
        ("catalog", "products"),
        ("keys", "API keys"),
        ("admin", "merchant logins"),
        ("worker", "deliver order webhooks"),
        ("stats", "the funnel"),
        ("init", "create .env and a sample products.csv"),
    ]:
        assert re.search(rf"^\s+{name}\s+{help_text}", out, re.MULTILINE), name
    assert "(server)" not in out and "buybutton[server]" not in out


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("sqlalchemy", True),
        ("starlette.routing", True),
        ("buybutton_server", True),
        ("buybutton_server.commands.nope", False),  # a bug in the server, not a missing install
        ("buybutton.nope", False),
    ],
)
def test_what_counts_as_the_server_not_installed(module: str, missing: bool) -> None:
    error = ModuleNotFoundError(f"No module named {module!r}", name=module)
    assert server_missing(error) is missing


def test_recipient_links_are_real_csv_without_formulas(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 16: a comma in an address shifted columns, and ``=HYPERLINK(...)@a.co``
    became a formula in the spreadsheet the list was opened in."""
    hostile = [
        '"Lima,Ana"@example.com',
        '=HYPERLINK("https://evil.example","x")@a.co',
        "+1-555@example.com",
        "-x@example.com",
        "@x@example.com",
    ]
    listed = tmp_path / "list.csv"
    with listed.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name"])
        writer.writerows([[email, "Ana"] for email in hostile if email.count("@") == 1])
        writer.writerow(["ana@example.com", "Ana, Lima"])
    assert main(["link", "MUG-01", "--recipients", str(listed), "--offline"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["email", "link"]
    assert all(len(row) == 2 for row in rows), rows
    emails = [email for email, _ in rows[1:]]
    assert emails == [
        '"Lima,Ana"@example.com',
        '\'=HYPERLINK("https://evil.example","x")@a.co',
        "'+1-555@example.com",
        "'-x@example.com",
        "ana@example.com",
    ]
    for email, link in rows[1:]:
        assert link.startswith(BASE_URL + "/c/")
        verified = LinkSigner([SECRET]).verify(link.rsplit("/", 1)[1])
        assert verified.email == email.removeprefix("'")
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
