"""Webhook secrets and signatures (Standard Webhooks: ``v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}``). After a rotation the replaced secret signs too, for a day; each
rotation keeps its own overlap, so two rotations in a day leave three secrets signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from buybutton_server.db.models import WebhookEndpoint, WebhookSecret

PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)
MAX_SIGNING_SECRETS = 10  # the current one and up to nine still in their overlap


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


def signing_secrets(session: Session, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery to ``endpoint`` at ``now``: the current one, then
    every replaced one still inside its overlap, newest first."""
    previous = session.scalars(
        select(WebhookSecret.secret)
        .where(WebhookSecret.endpoint_id == endpoint.id, WebhookSecret.expires_at > now)
        .order_by(WebhookSecret.expires_at.desc(), WebhookSecret.id.desc())
    )
    return [endpoint.secret, *previous]
