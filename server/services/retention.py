"""The retention job: run by the server every hour (``app.py``) and by ``buybutton db
prune``; the periods are ``BUYBUTTON_RETENTION_DAYS`` (docs/security.md, "Retention")."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.domain import retention
from buybutton_server.domain.retention import Pruned
from buybutton_server.settings import Settings

EVERY_SECONDS = 3600.0


def prune(sessions: sessionmaker[Session], settings: Settings) -> Pruned:
    """Roll up and delete whatever is past its period, now."""
    return retention.prune(sessions, settings.retention)


def periods(settings: Settings) -> list[tuple[str, int]]:
    """``(what, days)`` for every period, as the command prints them."""
    keep = settings.retention
    return [
        ("raw analytics events (then daily totals)", keep.analytics),
        ("daily analytics totals", keep.rollups),
        ("webhook events, deliveries and attempts", keep.webhooks),
        ("processed payment-provider events", keep.provider_events),
        ("idempotency answers", keep.idempotency),
    ]
