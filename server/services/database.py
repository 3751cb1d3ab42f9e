"""What views need of the database without reaching into it.

Views call services for every read and write; these two are the exceptions they share:
``run_read`` (a read runs inline on SQLite and in the thread pool on PostgreSQL, so a
local read never pays for a thread hop and a network read never holds the event loop), and
``DATABASE_DOWN`` (the exception kinds that mean the database is unreachable, answered as
503 "try again"). Both are the db layer's own, re-exported so views depend on services only.
"""

from __future__ import annotations

from buybutton_server.db import DATABASE_DOWN, run_read

__all__ = ["DATABASE_DOWN", "run_read"]
