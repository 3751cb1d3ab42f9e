"""The structure holds: layers only point down, the SDK stands alone, every module is small
and the whole tree passes ``mypy --strict``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Folders named for what they are, imported under their package names.
PACKAGES = {
    "buybutton": "buybutton",
    "buybutton_server": "server",
    "buybutton_widgets": "widgets",
    "buybutton_demo_site": "demo_site",
}
MAX_LINES = 450


def test_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml: the SDK never imports the server, layers
    only point down, only the Stripe provider imports stripe."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed (the test extra has it)"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_module_is_small() -> None:
    too_long = {}
    for folder in ("buybutton", "server"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                too_long[str(path.relative_to(ROOT))] = lines
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


def test_the_whole_tree_passes_mypy_strict(tmp_path: Path) -> None:
    """mypy reads the server under its installed name through a tree of links, since the
    editable install's import hook is invisible to it."""
    for name, folder in PACKAGES.items():
        os.symlink(ROOT / folder, tmp_path / name)
    args = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    for name in PACKAGES:
        args += ["-p", name]
    done = subprocess.run(
        args,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MYPY_CACHE_DIR": str(ROOT / ".mypy_cache")},
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Success" in done.stdout
