"""Signed order webhooks (Standard Webhooks) through a transactional outbox.

- :mod:`.events`: :func:`record` writes an event, and one delivery per subscribed endpoint,
  inside the caller's transaction: the order change and its event commit together or not at
  all, so no paid order is ever without its ``order.paid``.
- :mod:`.signing`: secrets and the ``webhook-signature`` header.
- :mod:`.destinations`: the SSRF guard (URL, port and resolved-address checks).
- :mod:`.sender`: one POST with an overall deadline and a bounded read of the answer.
- :mod:`.delivery`: :func:`deliver_due` sends what is due (inside ``buybutton serve`` and
  ``buybutton worker``), endpoints in parallel, with retries and 410 handling.
- :mod:`.endpoints`: endpoint CRUD (disable, enable, delete), secret rotation, the delivery
  log, replay and replay since a moment.
"""

from __future__ import annotations

from buybutton_server.domain.outbox.delivery import (
    CLAIM_FOR,
    PARALLEL_ENDPOINTS,
    RETRY_DELAYS,
    deliver_due,
    pending_count,
)
from buybutton_server.domain.outbox.destinations import (
    DEFAULT_PORTS,
    UnsafeDestination,
    check_url,
    embedded_ipv4,
    is_public,
    public_address,
)
from buybutton_server.domain.outbox.endpoints import (
    MAX_DESCRIPTION,
    MAX_REPLAY,
    DeliveryRecord,
    check_description,
    check_destination,
    check_events,
    create_endpoint,
    delete_endpoint,
    deliveries,
    find_endpoint,
    list_endpoints,
    recent_deliveries,
    replay,
    replay_since,
    rotate_secret,
    set_enabled,
)
from buybutton_server.domain.outbox.events import (
    EVENT_TYPES,
    OrderRow,
    iso_time,
    order_json,
    order_line_rows,
    record,
    record_order_event,
)
from buybutton_server.domain.outbox.sender import (
    ATTEMPT_DEADLINE,
    MAX_ANSWER_BYTES,
    AttemptFailed,
    Sender,
)
from buybutton_server.domain.outbox.signing import (
    MAX_SIGNING_SECRETS,
    PREVIOUS_SECRET_LIFETIME,
    new_secret,
    sign,
    signing_secrets,
)

__all__ = [
    "ATTEMPT_DEADLINE",
    "CLAIM_FOR",
    "DEFAULT_PORTS",
    "EVENT_TYPES",
    "MAX_ANSWER_BYTES",
    "MAX_DESCRIPTION",
    "MAX_REPLAY",
    "MAX_SIGNING_SECRETS",
    "PARALLEL_ENDPOINTS",
    "PREVIOUS_SECRET_LIFETIME",
    "RETRY_DELAYS",
    "AttemptFailed",
    "DeliveryRecord",
    "OrderRow",
    "Sender",
    "UnsafeDestination",
    "check_description",
    "check_destination",
    "check_events",
    "check_url",
    "create_endpoint",
    "delete_endpoint",
    "deliver_due",
    "deliveries",
    "embedded_ipv4",
    "find_endpoint",
    "is_public",
    "iso_time",
    "list_endpoints",
    "new_secret",
    "order_json",
    "order_line_rows",
    "pending_count",
    "public_address",
    "recent_deliveries",
    "record",
    "record_order_event",
    "replay",
    "replay_since",
    "rotate_secret",
    "set_enabled",
    "sign",
    "signing_secrets",
]
