"""The build backend: setuptools, with the gettext catalogs compiled first.

Every wheel (and every ``pip install``, editable or not) compiles
``server/locale/<lang>/LC_MESSAGES/messages.po`` to ``messages.mo`` next to it and records
the SHA-256 of the ``.po`` it came from in ``messages.mo.source``.
``buybutton_server.domain.locales`` loads a ``.mo`` only when that digest matches the
``.po`` beside it, so an edited catalog is never shadowed by a stale build: it is then
compiled in memory, as before any build. Fuzzy entries are left out (they fall back to
English).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (the rest of PEP 517, unchanged)

LOCALE = Path(__file__).resolve().parent.parent / "server" / "locale"


def compile_catalogs(root: Path = LOCALE) -> list[Path]:
    """Compile every ``messages.po`` under ``root``; the ``.mo`` files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        source = po.read_bytes()
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        mo.with_name("messages.mo.source").write_text(hashlib.sha256(source).hexdigest())
        written.append(mo)
    return written


def build_wheel(
    wheel_directory: str, config_settings: Any = None, metadata_directory: Any = None
) -> str:
    compile_catalogs()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str, config_settings: Any = None, metadata_directory: Any = None
) -> str:
    compile_catalogs()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
