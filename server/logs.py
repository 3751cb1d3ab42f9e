"""Logging that keeps capabilities out of log files.

A checkout-link token and an order page id work like passwords: whoever has one can pay with
the link's pre-fill or read the order's address. The access log keeps the route, not them.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from buybutton.urls import checkout_path, order_path, short_path

# Addresses whose last part is a capability: checkout links, order pages, short links.
_PREFIXES = (checkout_path(""), order_path(""), short_path(""))
_CAPABILITY_PATH = re.compile("^(" + "|".join(map(re.escape, _PREFIXES)) + r")[^/?\s]+")


def redact_path(path: str) -> str:
    """``/c/eyJz...`` → ``/c/[redacted]``; the query string goes too."""
    path = path.split("?", 1)[0]
    return _CAPABILITY_PATH.sub(lambda m: f"{m[1]}[redacted]", path)


class RedactCapabilities(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path, http_version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "buybutton_server.logs.RedactCapabilities"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config
