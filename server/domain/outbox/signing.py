"""Webhook secrets and signatures (Standard Webhooks: ``v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}``). After a rotation the previous secret signs too, for a day."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from buybutton_server.db.models import WebhookEndpoint

PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,<base64 HMAC-SHA256>`` per secret, space
    separated, over ``{id}.{timestamp}.{body}``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), content, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery to ``endpoint`` at ``now``: the current one, and the
    previous one while it is still valid."""
    keys = [endpoint.secret]
    until = endpoint.previous_secret_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=now.tzinfo)
    if endpoint.previous_secret and until is not None and until > now:
        keys.append(endpoint.previous_secret)
    return keys
