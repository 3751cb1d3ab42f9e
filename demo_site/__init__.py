"""Pages a publisher would have, embedding buybutton snippets; served by ``buybutton demo``."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def catalog_path() -> Path:
    with as_file(files(__name__).joinpath("catalog.json")) as path:
        return Path(path)
