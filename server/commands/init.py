"""``buybutton init``: a working folder in one command.

It writes, in the current folder, a ``.env`` with a fresh secret key and a SQLite database
(the ``buybutton`` command reads it from the folder it runs in), and a sample
``products.csv``; it keeps files that exist already, and prints the next commands."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from buybutton.cli import DOTENV
from buybutton_server.commands.base import note, server_command

SAMPLE_CATALOG = "products.csv"
DATABASE_FILE = "buybutton.sqlite3"
SAMPLE_ROWS = """\
sku,title,description,price,currency,stock
MUG-01,Stoneware Mug,"Hand-glazed, 350 ml.",18.00,USD,40
TEE-01,Organic Cotton Tee,Heavyweight jersey in natural white.,29.00,USD,25
"""
NEXT_STEPS = (
    f"buybutton catalog import {SAMPLE_CATALOG}",
    "buybutton link MUG-01 --source newsletter",
    "buybutton serve",
)


def dotenv_text() -> str:
    return (
        "# Written by buybutton init. Keep it secret: the key signs your checkout links.\n"
        "# Variables set in the environment win over this file.\n"
        f"BUYBUTTON_SECRET_KEYS={secrets.token_urlsafe(32)}\n"
        f"BUYBUTTON_DATABASE_URL=sqlite:///{DATABASE_FILE}\n"
        "BUYBUTTON_BASE_URL=http://127.0.0.1:8000\n"
    )


def _define(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", nargs="?", type=Path, default=Path(), help="where (default: here)"
    )


def _write_new(path: Path, text: str) -> bool:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        note(f"kept the existing {path}")
        return False
    return True


def _run(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    if _write_new(folder / DOTENV, dotenv_text()):
        (folder / DOTENV).chmod(0o600)
        print(f"wrote {folder / DOTENV} (a fresh secret key, a SQLite database)")
    if _write_new(folder / SAMPLE_CATALOG, SAMPLE_ROWS):
        print(f"wrote {folder / SAMPLE_CATALOG} (two sample products; edit them)")
    print("Next, in this folder:" if folder == Path() else f"Next, in {folder}:")
    for step in NEXT_STEPS:
        print(f"  {step}")
    return 0


INIT = server_command("create .env and a sample products.csv here", _define, _run, database=False)
