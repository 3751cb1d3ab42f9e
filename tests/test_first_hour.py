"""Issue 12, items 1-3: commands that work where they are run, one-line errors, links that
check their products."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton.cli import load_dotenv, main, read_dotenv
from buybutton.client import DEV_SECRET_KEY
from buybutton.errors import ConfigurationError
from buybutton_server.db.sessions import database_url, make_engine
from tests.conftest import BASE_URL, SECRET, add_product

# -- the SDK's keys -------------------------------------------------------------------------------


def test_a_string_for_secret_keys_is_refused_with_the_fix() -> None:
    # Before: accepted, and signed with its last character.
    with pytest.raises(TypeError, match=r"secret_keys=\[key\]"):
        BuyButton(secret_keys="k" * 40, base_url="https://shop.example")  # type: ignore[arg-type]


def test_short_keys_are_refused_but_the_development_key_works() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        BuyButton(secret_keys=["abc"], base_url="https://shop.example")
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        BuyButton(secret_keys=["k" * 40, "k" * 31], base_url="https://shop.example")
    BuyButton(secret_keys=["k" * 32], base_url="https://shop.example").checkout_link("MUG-01")
    BuyButton(secret_keys=[DEV_SECRET_KEY], base_url="https://shop.example").checkout_link("A-1")


# -- .env ---------------------------------------------------------------------------------------


def test_dotenv_lines_and_the_environment_wins(tmp_path: Path) -> None:
    assert read_dotenv("# c\n\nexport A=1\nB = 'two words'\nC=\"x=y\"\n") == {
        "A": "1",
        "B": "two words",
        "C": "x=y",
    }
    with pytest.raises(ConfigurationError, match="line 2"):
        read_dotenv("A=1\nnonsense\n")
    (tmp_path / ".env").write_text("BUYBUTTON_PORT=1\nBUYBUTTON_HOST=h\n")
    env = {"BUYBUTTON_PORT": "2"}
    load_dotenv(tmp_path, env)
    assert env == {"BUYBUTTON_PORT": "2", "BUYBUTTON_HOST": "h"}
    load_dotenv(tmp_path / "nowhere", env)  # no .env: nothing happens


# -- every command migrates first -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["orders", "list"], ["stats"], ["keys", "list"], ["snippet", "MUG-01", "--surface", "card"]],
)
def test_commands_work_on_a_fresh_database(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: "buybutton: cannot reach the database: no such table: ...".
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", f"sqlite:///{tmp_path}/fresh.sqlite3")
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.chdir(tmp_path)
    status = main(argv)
    err = capsys.readouterr().err
    assert "no such table" not in err
    if argv[0] == "snippet":  # a fresh catalog has no MUG-01: said in one line
        assert status == 2 and len(err.strip().splitlines()) == 1, err
    else:
        assert status == 0, err


# -- one-line errors -------------------------------------------------------------------------


def run_cli(
    *args: str, cwd: Path, stdin: str | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUYBUTTON_")}
    return subprocess.run(
        [sys.executable, "-m", "buybutton.cli", *args],
        cwd=cwd,
        env={**env, **variables},
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr.strip()


def test_postgres_scheme_is_read_as_postgresql() -> None:
    assert database_url("postgres://u:p@db.example/shop").drivername == "postgresql+psycopg"
    assert database_url("postgresql://u:p@db.example/shop").drivername == "postgresql+psycopg"
    engine = make_engine("postgres://u:p@db.example/shop")  # before: NoSuchModuleError
    assert engine.dialect.name == "postgresql"
    engine.dispose()


def test_bad_database_urls_are_one_line(tmp_path: Path) -> None:
    done = run_cli("orders", "list", cwd=tmp_path, BUYBUTTON_DATABASE_URL="not a url")
    assert done.returncode == 2
    assert "BUYBUTTON_DATABASE_URL is not a database URL" in one_line(done)
    done = run_cli("db", "upgrade", cwd=tmp_path, BUYBUTTON_DATABASE_URL="mongodb://x/y")
    assert done.returncode == 2 and "unknown database" in one_line(done)


def test_a_missing_driver_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
        "from buybutton.cli import main; raise SystemExit(main(['orders', 'list']))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUYBUTTON_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "BUYBUTTON_DATABASE_URL": "postgresql://shop:pw@127.0.0.1:1/shop"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "pip install 'buybutton[postgres]'" in one_line(done)


def test_admin_create_without_a_terminal_suggests_password_stdin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shop.sqlite3"
    done = run_cli("admin", "create", "a@shop.example", cwd=tmp_path, BUYBUTTON_DATABASE_URL=url)
    assert done.returncode == 2  # before: an EOFError traceback
    assert "--password-stdin" in one_line(done)
    done = run_cli(
        "admin",
        "create",
        "a@shop.example",
        "--password-stdin",
        cwd=tmp_path,
        stdin="correct horse battery staple\n",
        BUYBUTTON_DATABASE_URL=url,
    )
    assert done.returncode == 0, done.stderr


# -- links check their products ---------------------------------------------------------------


@pytest.fixture
def shop_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


def test_link_refuses_unknown_and_archived_skus(
    shop_env: None, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add_product(sessions)
    add_product(sessions, sku="OLD-01", active="false")
    assert main(["link", "MUG-01"]) == 0
    assert capsys.readouterr().out.startswith(f"{BASE_URL}/c/")
    # Before: printed a link (and --short minted one) that shoppers saw as "taken down".
    for argv in (["link", "NOPE-99"], ["link", "NOPE-99", "--short"]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and "no product NOPE-99" in err and "--offline" in err
    assert main(["link", "OLD-01"]) == 2
    assert "OLD-01 is archived" in capsys.readouterr().err
    assert main(["link", "NOPE-99", "--offline"]) == 0
    assert capsys.readouterr().out.startswith(f"{BASE_URL}/c/")


def test_link_with_an_unreachable_database_says_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "BUYBUTTON_DATABASE_URL",
        f"postgresql+psycopg://shop:hunter2@/shop?host={tmp_path}/none&connect_timeout=2",
    )
    assert main(["link", "MUG-01"]) == 2
    err = capsys.readouterr().err
    assert "--offline" in err and "hunter2" not in err and len(err.strip().splitlines()) == 1
    assert main(["link", "MUG-01", "--offline"]) == 0


def test_the_api_refuses_links_to_archived_products(sessions: sessionmaker[Session]) -> None:
    from buybutton.tokens import LinkSigner
    from buybutton_server.errors import NotFound
    from buybutton_server.services.links import LinkInput, create_link

    add_product(sessions)
    add_product(sessions, sku="OLD-01", active="false")
    signer = LinkSigner([SECRET])
    assert create_link(sessions, signer, BASE_URL, LinkInput(sku="MUG-01")).url
    for short in (False, True):  # before: a link, or a short link, to a taken-down product
        with pytest.raises(NotFound, match="archived"):
            create_link(sessions, signer, BASE_URL, LinkInput(sku="OLD-01", short=short))
    with pytest.raises(NotFound):
        create_link(sessions, signer, BASE_URL, LinkInput(sku="NOPE-99"))
