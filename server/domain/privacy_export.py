"""Everything the shop holds about an email, as JSON (an access request; docs/privacy.md).

Sections: ``orders`` (as the API shows them, plus the hold keys derived from the client and
the link, and the failure the provider gave), ``short_links`` pre-filled for it, ``emails``
sent or waiting, ``returns`` of its orders, ``discount_redemptions`` (kept as a hash of the
address), ``webhook_events`` and ``idempotency_records`` whose stored JSON mentions it, UCP
checkout sessions that name it, ``other_records``: any other row of any table with the
address in a text column, and ``erasures`` already carried out for it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    Base,
    DiscountCode,
    DiscountRedemption,
    Erasure,
    IdempotencyRecord,
    MailMessage,
    Order,
    ShortLink,
    WebhookEvent,
)
from buybutton_server.domain.outbox import iso_time, order_json
from buybutton_server.domain.privacy import check_email, email_hash
from buybutton_server.domain.privacy_scrub import (
    JSON_COLUMNS,
    NOT_SWEPT,
    contains,
    loads,
    normal,
    text_columns,
)

# Tables whose rows a section of the export already shows in full.
_SHOWN = frozenset(
    {"orders", "order_lines", "short_links", "mail_messages", "discount_redemptions"}
    | {"webhook_events", "idempotency_records", "returns", "return_lines"}
    | {"ucp_checkout_sessions", "ucp_idempotency_keys"}
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(table: Table, row: Any, *, json_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """A Core row as JSON: times in ISO 8601, JSON text columns parsed."""
    out = {}
    for column in table.columns:
        value = row._mapping[column.name]
        parsed = loads(value) if column.name in json_columns else None
        out[column.name] = parsed if parsed is not None else _plain(value)
    return out


def _orders(session: Session, needle: str) -> list[Order]:
    query = select(Order).where(func.lower(Order.email) == needle).order_by(Order.id)
    return list(session.scalars(query))


def _order(order: Order) -> dict[str, Any]:
    shown = order_json(order)
    shown["hold"] = {
        "client": order.hold_client,
        "link": order.hold_link,
        "until": iso_time(order.reserved_until),
    }
    shown["failure"] = (
        None
        if order.failure_code is None and order.failure_message is None
        else {"code": order.failure_code, "message": order.failure_message}
    )
    return shown


def _emails(session: Session, needle: str, order_ids: list[int]) -> list[dict[str, Any]]:
    where = func.lower(MailMessage.to_address) == needle
    if order_ids:
        where = or_(where, MailMessage.order_id.in_(order_ids))
    rows = session.scalars(select(MailMessage).where(where).order_by(MailMessage.id))
    return [
        {
            "kind": row.kind,
            "to": row.to_address,
            "subject": row.subject,
            "status": row.status,
            "data": loads(row.data),
            "text": row.text_body,
            "error": row.last_error,
            "queued_at": iso_time(row.created_at),
            "sent_at": iso_time(row.sent_at),
        }
        for row in rows
    ]


def _returns(session: Session, order_ids: list[int]) -> list[dict[str, Any]] | None:
    """The returns of these orders with their lines; None where there is no returns table."""
    returns, lines = Base.metadata.tables.get("returns"), Base.metadata.tables.get("return_lines")
    if returns is None or not order_ids:
        return None if returns is None else []
    found = []
    for row in session.execute(
        select(returns).where(returns.c.order_id.in_(order_ids)).order_by(returns.c.id)
    ):
        shown = _row(returns, row)
        if lines is not None and "return_id" in lines.c:
            shown["lines"] = [
                _row(lines, line)
                for line in session.execute(select(lines).where(lines.c.return_id == row.id))
            ]
        found.append(shown)
    return found


def _redemptions(session: Session, needle: str, order_ids: list[int]) -> list[dict[str, Any]]:
    mine = DiscountRedemption.email_hash == email_hash(needle)
    if order_ids:
        mine = or_(mine, DiscountRedemption.order_id.in_(order_ids))
    rows = session.execute(
        select(DiscountCode.code, Order.number, DiscountRedemption)
        .join(DiscountCode, DiscountCode.id == DiscountRedemption.code_id)
        .join(Order, Order.id == DiscountRedemption.order_id)
        .where(mine)
        .order_by(DiscountRedemption.id)
    )
    return [
        {
            "code": code,
            "order": number,
            "email_hash": used.email_hash,
            "used_at": iso_time(used.created_at),
            "released_at": iso_time(used.released_at),
        }
        for code, number, used in rows
    ]


def _mentioning(session: Session, table: Table, needle: str) -> list[dict[str, Any]]:
    """Rows of a table of JSON records (:data:`JSON_COLUMNS`) whose JSON mentions ``needle``."""
    columns = [c for c in JSON_COLUMNS.get(table.name, ()) if c in table.c]
    if not columns:
        return []
    where = or_(*(contains(table.c[c], needle) for c in columns))
    return [
        _row(table, row, json_columns=tuple(columns))
        for row in session.execute(select(table).where(where))
    ]


def _others(session: Session, needle: str) -> list[dict[str, Any]]:
    """Any other row, in any table, with the address in a text column."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = text_columns(table)
        if table.name in _SHOWN | NOT_SWEPT or not columns:
            continue
        where = or_(*(contains(c, needle) for c in columns))
        for row in session.execute(select(table).where(where)):
            found.append({"table": table.name, "row": _row(table, row)})
    return found


def export(session: Session, email: str) -> dict[str, Any]:
    """Every piece of personal data held about ``email``, by kind (module docstring)."""
    needle = normal(check_email(email))
    orders = _orders(session, needle)
    ids = [order.id for order in orders]
    links = ShortLink.__table__
    tables = Base.metadata.tables
    answer: dict[str, Any] = {
        "email": needle,
        "orders": [_order(order) for order in orders],
        "short_links": [
            _row(tables["short_links"], row, json_columns=("items",))
            for row in session.execute(
                select(links).where(func.lower(links.c.email) == needle).order_by(links.c.id)
            )
        ],
        "emails": _emails(session, needle, ids),
        "returns": _returns(session, ids),
        "discount_redemptions": _redemptions(session, needle, ids),
        "webhook_events": [
            {
                "id": e["public_id"],
                "type": e["type"],
                "created_at": e["created_at"],
                "payload": e["payload"],
            }
            for e in _mentioning(session, tables[WebhookEvent.__tablename__], needle)
        ],
        "idempotency_records": [
            {
                "key": r["key"],
                "status": r["status_code"],
                "created_at": r["created_at"],
                "answer": r["response_body"],
            }
            for r in _mentioning(session, tables[IdempotencyRecord.__tablename__], needle)
        ],
        "ucp_checkout_sessions": [
            row
            for name in ("ucp_checkout_sessions", "ucp_idempotency_keys")
            if name in tables
            for row in _mentioning(session, tables[name], needle)
        ],
        "other_records": _others(session, needle),
        "erasures": [
            {"at": iso_time(done.created_at), "via": done.via, "records": done.records}
            for done in session.scalars(
                select(Erasure).where(Erasure.email_hash == email_hash(needle)).order_by(Erasure.id)
            )
        ],
    }
    answer["held"] = any(answer[k] for k in answer if k not in ("email", "erasures", "held"))
    plain: dict[str, Any] = json.loads(json.dumps(answer, default=str))
    return plain
