"""Moving a shop to another database (``buybutton db copy SOURCE TARGET``).

Everything a person can get wrong is refused before anything is written, in one line: an
unknown URL scheme, the same database twice, a database that cannot be reached, a source
that is not a buybutton database at the newest schema (``buybutton db upgrade`` it first), a
source SQLite file that does not exist. Then the target is migrated, refused if any table
holds rows beyond what its migrations seed (the table is named), and the copy runs
(:mod:`buybutton_server.db.copy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from buybutton.errors import ConfigurationError
from buybutton_server.db import DATABASE_DOWN, migrate
from buybutton_server.db import copy as db_copy
from buybutton_server.db.copy import Progress, TableCount
from buybutton_server.db.sessions import describe_url
from buybutton_server.errors import Conflict, InvalidInput

__all__ = ["CopyResult", "Progress", "TableCount", "copy_shop"]

T = TypeVar("T")


@dataclass(frozen=True)
class CopyResult:
    source: str  # both described without passwords
    target: str
    committed: bool
    counts: list[TableCount]

    @property
    def mismatched(self) -> list[TableCount]:
        return [row for row in self.counts if row.source != row.target]


def copy_shop(
    source_url: str,
    target_url: str,
    *,
    progress: Callable[[Progress], None] = lambda _: None,
    batch: int = db_copy.BATCH,
) -> CopyResult:
    """Copy the shop at ``source_url`` to the empty database at ``target_url``.

    Raises :class:`InvalidInput` for bad input (nothing written) and :class:`Conflict` when
    the target already holds a shop's rows."""
    source_name, target_name = _describe(source_url, "source"), _describe(target_url, "target")
    if db_copy.same_database(source_url, target_url):
        raise InvalidInput(f"the source and the target are the same database ({source_name})")
    path = db_copy.sqlite_file(source_url)
    if path is not None and (path == ":memory:" or not Path(path).is_file()):
        raise InvalidInput(f"no SQLite database at {source_name}")
    source = db_copy.open_source(source_url)
    target = db_copy.open_target(target_url)
    try:
        _reachable(source, "source", source_name)
        head = db_copy.head_revision()
        found = _safely(lambda: db_copy.revision(source), "source", source_name)
        if found is None:
            raise InvalidInput(f"the source {source_name} is not a buybutton database")
        if found != head:
            raise InvalidInput(
                f"the source {source_name} is at schema {found}, not the newest ({head}): "
                "run `buybutton db upgrade` with it first"
            )
        _reachable(target, "target", target_name)
        seeded = db_copy.seeded_counts()
        _refuse_occupied(target, seeded, target_name)  # before the migrations write
        migrate(target_url)
        _refuse_occupied(target, seeded, target_name)
        committed, counts = db_copy.copy(
            source, target, seeded=seeded, batch=batch, progress=progress
        )
    finally:
        source.dispose()
        target.dispose()
    return CopyResult(source_name, target_name, committed, counts)


def _describe(url: str, which: str) -> str:
    try:
        kind = db_copy.backend(url)
    except ConfigurationError as error:
        message = str(error).replace("BUYBUTTON_DATABASE_URL", f"the {which} URL")
        raise InvalidInput(message) from None
    if kind not in ("sqlite", "postgresql"):
        scheme = url.partition("://")[0]
        raise InvalidInput(
            f"the {which} URL's scheme {scheme!r} is not one buybutton copies: use sqlite:/// "
            "or postgresql+psycopg://"
        )
    return describe_url(url)


def _reachable(engine: db_copy.Database, which: str, name: str) -> None:
    _safely(lambda: db_copy.ping(engine), which, name)


def _safely(fn: Callable[[], T], which: str, name: str) -> T:
    try:
        return fn()
    except DATABASE_DOWN as error:
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines()
        reason = lines[0] if lines else "no answer"
        raise InvalidInput(f"cannot reach the {which} database {name}: {reason}") from None


def _refuse_occupied(engine: db_copy.Database, seeded: dict[str, int], name: str) -> None:
    taken = db_copy.occupied(engine, seeded)
    if taken is not None:
        table, rows = taken
        raise Conflict(
            f"the target {name} is not empty: table {table} has {rows} rows; "
            "copy into a new, empty database"
        )
