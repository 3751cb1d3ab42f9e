"""Signed order webhooks (Standard Webhooks) through a transactional outbox.

- :mod:`.events`: :func:`record` writes an event, and one delivery per subscribed endpoint,
  inside the caller's transaction: the order change and its event commit together or not at
  all, so no paid order is ever without its ``order.paid``.
- :mod:`.signing`: secrets and the ``webhook-signature`` header.
- :mod:`.delivery`: :func:`deliver_due` sends what is due (inside ``buybutton serve`` and
  ``buybutton worker``), with retries, 410 handling and the SSRF guard.
- :mod:`.endpoints`: endpoint CRUD, secret rotation, the delivery log and replay.
"""

from __future__ import annotations

from buybutton_server.domain.outbox.delivery import (
    CLAIM_FOR,
    RETRY_DELAYS,
    Sender,
    UnsafeDestination,
    check_url,
    deliver_due,
    pending_count,
    public_address,
)
from buybutton_server.domain.outbox.endpoints import (
    DeliveryRecord,
    check_destination,
    check_events,
    create_endpoint,
    deliveries,
    find_endpoint,
    list_endpoints,
    replay,
    rotate_secret,
)
from buybutton_server.domain.outbox.events import (
    EVENT_TYPES,
    OrderRow,
    iso_time,
    order_json,
    record,
    record_order_event,
)
from buybutton_server.domain.outbox.signing import (
    PREVIOUS_SECRET_LIFETIME,
    new_secret,
    sign,
    signing_secrets,
)

__all__ = [
    "CLAIM_FOR",
    "EVENT_TYPES",
    "PREVIOUS_SECRET_LIFETIME",
    "RETRY_DELAYS",
    "DeliveryRecord",
    "OrderRow",
    "Sender",
    "UnsafeDestination",
    "check_destination",
    "check_events",
    "check_url",
    "create_endpoint",
    "deliver_due",
    "deliveries",
    "find_endpoint",
    "iso_time",
    "list_endpoints",
    "new_secret",
    "order_json",
    "pending_count",
    "public_address",
    "record",
    "record_order_event",
    "replay",
    "rotate_secret",
    "sign",
    "signing_secrets",
]
