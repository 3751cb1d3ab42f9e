"""Transactional email through an outbox (docs/email.md).

- :mod:`.emails`: the shop's emails (receipt, refund, shipped, payment failed, order link,
  password reset), each queued in the transaction of the event it tells of.
- :mod:`.outbox`: :func:`enqueue` (deduplicated), :func:`send_due` (claimed, retried).
- :mod:`.messages`: subjects, the templates in ``server/templates/mail/``, multipart messages.
- :mod:`.transports`: SMTP (STARTTLS or implicit TLS) and the development folder of ``.eml``.
"""

from __future__ import annotations

from buybutton_server.domain.mail.emails import (
    queue_order_link,
    queue_password_reset,
    queue_payment_failed,
    queue_receipt,
    queue_refund,
    queue_shipped,
    resend_receipt,
    wants_payment_failed,
)
from buybutton_server.domain.mail.messages import KINDS, SECRET_KINDS, Bodies
from buybutton_server.domain.mail.outbox import (
    BATCH,
    CLAIM_FOR,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    STATUSES,
    enqueue,
    latest,
    preview,
    send_due,
)
from buybutton_server.domain.mail.transports import (
    FolderTransport,
    MailDeferred,
    MailRefused,
    SmtpTransport,
    Transport,
    mail_folder,
    transport_for,
    warning,
)

__all__ = [
    "BATCH",
    "CLAIM_FOR",
    "KINDS",
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "SECRET_KINDS",
    "STATUSES",
    "Bodies",
    "FolderTransport",
    "MailDeferred",
    "MailRefused",
    "SmtpTransport",
    "Transport",
    "enqueue",
    "latest",
    "mail_folder",
    "preview",
    "queue_order_link",
    "queue_password_reset",
    "queue_payment_failed",
    "queue_receipt",
    "queue_refund",
    "queue_shipped",
    "resend_receipt",
    "send_due",
    "transport_for",
    "wants_payment_failed",
    "warning",
]
