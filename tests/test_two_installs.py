"""``pip install buybutton`` is the SDK alone; ``pip install 'buybutton[server]'`` adds the
shop. The wheel's requirements, the SDK's imports and the ``buybutton`` command without the
server's dependencies."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from buybutton.cli import main
from buybutton.tokens import LinkSigner
from tests.conftest import BASE_URL, SECRET

ROOT = Path(__file__).resolve().parent.parent
SERVER_ONLY = ("sqlalchemy", "starlette", "stripe", "uvicorn", "alembic")
# A meta-path finder that makes the server's dependencies unimportable, as on a machine with
# ``pip install buybutton`` only; then the ``buybutton`` command runs with the given arguments.
WITHOUT_SERVER = f"""
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from buybutton.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUYBUTTON_")}
    return {**env, **variables}


def _without_server(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_SERVER, *args],
        env=_environment(**variables),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_wheel_requires_only_the_sdk_without_extras(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.sqlite3*")
    for folder in ("buybutton", "server", "widgets", "demo_site", "build_hooks"):
        shutil.copytree(ROOT / folder, source / folder, ignore=junk)
    # Offline: no build isolation (the test extra installs setuptools), no index.
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("buybutton-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        # The build compiled every catalog (build_hooks/buybutton_build.py).
        compiled = {n.split("/")[2] for n in archive.namelist() if n.endswith("/messages.mo")}
        assert compiled == {"ar", "de", "en", "es", "fr", "it", "nl"}, compiled
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    requirements = re.findall(r"^Requires-Dist: (.+)$", metadata, re.MULTILINE)
    always = {
        re.match(r"[A-Za-z0-9._-]+", r).group(0).lower()  # type: ignore[union-attr]
        for r in requirements
        if "extra ==" not in r
    }
    assert always == {"itsdangerous", "httpx"}
    for name in SERVER_ONLY:
        assert any(r.lower().startswith(name) and 'extra == "server"' in r for r in requirements), (
            name
        )
    assert "[buybutton.commands]" in entry_points
    assert "orders = buybutton_server.commands.orders:ORDERS" in entry_points


def test_importing_the_sdk_and_signing_loads_no_server_code(tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "import buybutton\n"
        "bb = buybutton.BuyButton(secret_keys=['k' * 32], base_url='https://shop.example')\n"
        "assert bb.checkout_link('MUG-01', source='blog').startswith('https://shop.example/c/')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    assert loaded.isdisjoint({*SERVER_ONLY, "buybutton_server"}), loaded


def test_offline_link_without_the_server_is_the_link_the_server_signs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["link", "MUG-01", "--source", "instagram", "--quantity", "2"]
    offline = _without_server(
        *args, cwd=tmp_path, BUYBUTTON_SECRET_KEYS=SECRET, BUYBUTTON_BASE_URL=BASE_URL
    )
    assert offline.returncode == 0 and offline.stderr == "", offline.stderr
    url = offline.stdout.strip()
    assert url.startswith(BASE_URL + "/c/")
    link = LinkSigner([SECRET]).verify(url.rsplit("/", 1)[1])
    assert (link.sku, link.quantity, link.source) == ("MUG-01", 2, "instagram")

    for name in [k for k in os.environ if k.startswith("BUYBUTTON_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # the server's default SQLite file, if it opened one
    # With the server (not checking the catalog): its development key and base URL.
    assert main([*args, "--offline"]) == 0
    with_server = capsys.readouterr().out.strip()
    assert _without_server(*args, cwd=tmp_path).stdout.strip() == with_server


def test_offline_snippet_without_the_server(tmp_path: Path) -> None:
    done = _without_server(
        "snippet", "MUG-01", "--surface", "card", "--label", "Buy <now>", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert 'data-buybutton-layout="card"' in done.stdout and "Buy &lt;now&gt;" in done.stdout
    assert 'src="http://127.0.0.1:8000/widgets/buybutton.js"' in done.stdout


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["orders", "list"], "orders"),
        (["serve", "--port", "9"], "serve"),
        (["demo", "--help"], "demo"),
        (["link", "MUG-01", "--short"], "link --short or --qr"),
        (["snippet", "MUG-01", "--surface", "email"], "snippet --surface email"),
    ],
)
def test_server_commands_without_the_server_say_so_in_one_line(
    args: list[str], what: str, tmp_path: Path
) -> None:
    done = _without_server(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"buybutton: {what} needs the server: pip install 'buybutton[server]'"
    ]


def test_help_without_the_server_lists_every_command(tmp_path: Path) -> None:
    done = _without_server("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = ("admin", "catalog", "db", "demo", "init", "keys", "orders", "serve", "stats", "worker")
    for name in names:
        assert re.search(rf"^\s+{name}\s+\(server\)$", done.stdout, re.MULTILINE), name
    assert re.search(r"^\s+link\s+print a signed checkout link", done.stdout, re.MULTILINE)
    assert "need pip install 'buybutton[server]'" in done.stdout


def test_production_refuses_the_development_key_offline(tmp_path: Path) -> None:
    done = _without_server("link", "MUG-01", cwd=tmp_path, BUYBUTTON_ENV="production")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "buybutton: BUYBUTTON_SECRET_KEYS holds the development key; production needs its own"
    )
