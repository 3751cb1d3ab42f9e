"""The retention job: run by the server every hour (``app.py``) and by ``buybutton db
prune``; the periods are ``BUYBUTTON_RETENTION_DAYS`` (docs/security.md, "Retention")."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.domain import retention
from buybutton_server.domain.retention import Pruned
from buybutton_server.services.privacy import remove_mail_files
from buybutton_server.settings import Settings

EVERY_SECONDS = 3600.0


def prune(sessions: sessionmaker[Session], settings: Settings) -> Pruned:
    """Roll up and delete whatever is past its period, now (with the development mail
    folder's copies of emails whose data was erased)."""
    done = retention.prune(sessions, settings.retention)
    remove_mail_files(settings, done.message_ids)
    return done


def periods(settings: Settings) -> list[tuple[str, int]]:
    """``(what, days)`` for every period, as the command prints them."""
    keep = settings.retention
    return [
        ("raw analytics events (counted in the report totals)", keep.analytics),
        ("analytics report totals", keep.rollups),
        ("webhook events, deliveries and attempts", keep.webhooks),
        ("processed payment-provider events", keep.provider_events),
        ("idempotency answers (UCP: at least 2), expired UCP checkout sessions", keep.idempotency),
        ("personal data on unpaid orders (then erased)", keep.unpaid_orders),
    ]
