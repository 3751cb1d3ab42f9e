"""Logging that keeps capabilities and personal data out of log files.

A checkout-link token, an order page id, a short-link code and a set-password link (a
reset or an invitation) work like passwords: whoever has one can pay with the link's
pre-fill (the shopper's email and name), read the order's address or set a login's
password. Every line written through :func:`uvicorn_log_config`'s handlers, the access log
and the error log alike, has them replaced, in its message, its arguments and its traceback,
along with signed tokens found anywhere and email addresses.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from buybutton.urls import checkout_path, order_path, short_path

REDACTED = "[redacted]"
# Addresses whose last part is a capability: checkout links, order pages, short links,
# set-password links (``/admin/password-reset/{token}``, see domain/password_reset.py).
ADMIN_LINK_PREFIX = "/admin/password-reset/"
_PREFIXES = (checkout_path(""), order_path(""), short_path(""), ADMIN_LINK_PREFIX)
_CAPABILITY_PATH = re.compile("^(" + "|".join(map(re.escape, _PREFIXES)) + r")[^/?\s]+")
_CAPABILITY_ANYWHERE = re.compile(
    "(" + "|".join(map(re.escape, _PREFIXES)) + r")(?!\[redacted\])[^/?#\s'\"<>)\]]+"
)
# An itsdangerous token anywhere (payload, optionally compressed, an optional timestamp,
# then a signature: 27 base64 characters for HMAC-SHA1, itsdangerous' default, 43 for
# SHA-256, 86 for SHA-512), e.g. a link token quoted in an exception message.
_SIGNED_TOKEN = re.compile(
    r"(?<![\w.-])\.?[\w-]{8,}(?:\.[\w-]+)?\.(?:[\w-]{86}|[\w-]{43}|[\w-]{27})(?![\w-])"
)
# A JSON payload in base64 (`{"` encodes as `eyJ`), signed or not.
_JSON_B64 = re.compile(r"eyJ[\w-]{12,}")
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# Personal fields in a repr or JSON: name='Ana', "email": "a@b.c", shipping_address=...
_PERSONAL_FIELD = re.compile(
    r"""\b(\w*(?:email|name|phone|address|line1|line2|city|postal_code))(['"]?\s*[:=]\s*)"""
    r"""(['"])(?:(?!\3).)*\3"""
)
_QUERY = re.compile(r"(/[^\s?'\"]*)\?[^\s'\"]*")


def redact_path(path: str) -> str:
    """``/c/eyJz...`` → ``/c/[redacted]``; the query string goes too."""
    path = path.split("?", 1)[0]
    return _CAPABILITY_PATH.sub(lambda m: f"{m[1]}{REDACTED}", path)


def redact_text(text: str) -> str:
    """Free text (a message, an exception, a traceback) with capability paths, signed
    tokens, query strings of paths, personal fields of a repr or JSON (``name='…'``) and
    email addresses replaced."""
    text = _CAPABILITY_ANYWHERE.sub(lambda m: f"{m[1]}{REDACTED}", text)
    text = _PERSONAL_FIELD.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _QUERY.sub(lambda m: f"{m[1]}?{REDACTED}", text)
    text = _SIGNED_TOKEN.sub(REDACTED, text)
    text = _JSON_B64.sub(REDACTED, text)
    return _EMAIL.sub("[email]", text)


def _redact_arg(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int | float) or value is None:
        return value
    shown = str(value)
    redacted = redact_text(shown)
    return value if redacted == shown else redacted


class RedactCapabilities(logging.Filter):
    """Redacts a record in place; attach it to handlers so every logger's records pass."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path, http_version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        elif isinstance(args, tuple):
            record.args = tuple(_redact_arg(a) for a in args)
        elif isinstance(args, dict):
            record.args = {k: _redact_arg(v) for k, v in args.items()}
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging, with every handler redacting, and the shop's own loggers
    (``buybutton.*``) written through the same handler as uvicorn's errors."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "buybutton_server.logs.RedactCapabilities"}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["buybutton"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def redact_command_logs() -> None:
    """The shop's loggers (``buybutton.*``) in a command such as ``buybutton worker``: one
    stream handler on standard error that redacts like the server's, so what a command logs
    carries no link token or shopper data either."""
    logger = logging.getLogger("buybutton")
    if any(getattr(h, "_buybutton_redacting", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactCapabilities())
    handler._buybutton_redacting = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
