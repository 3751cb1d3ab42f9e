"""A payee's statement for a period: their sales and refunds from the ledger, and the
transfers made to them. It names orders by number and products by sku and title, and holds
nothing about the shopper (no name, email or address): a creator sees the sales their posts
made, not who bought."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from buybutton.cli import csv_cell
from buybutton.money import decimal_string
from buybutton_server.db.models import CommissionLine, LedgerEntry, Order, Payee, Transfer
from buybutton_server.domain.outbox.events import iso_time
from buybutton_server.domain.vocabulary import money_json


@dataclass(frozen=True, slots=True)
class StatementLine:
    at: datetime
    order: str
    kind: str  # sale, refund
    items: str  # "MUG-01 x2 (24.00)" per frozen line, for sales
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class StatementTransfer:
    order: str
    status: str
    amount: int
    reversed: int
    owed: int
    currency: str
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Statement:
    payee: Payee
    start: datetime
    end: datetime
    lines: list[StatementLine]
    transfers: list[StatementTransfer]

    def totals(self) -> dict[str, int]:
        """Net per currency over the period."""
        sums: dict[str, int] = {}
        for line in self.lines:
            sums[line.currency] = sums.get(line.currency, 0) + line.amount
        return sums


def statement(session: Session, payee: Payee, start: datetime, end: datetime) -> Statement:
    """``payee``'s entries with ``start <= created_at < end``."""
    rows = session.execute(
        select(LedgerEntry, Order.number)
        .join(Order, Order.id == LedgerEntry.order_id)
        .where(
            LedgerEntry.payee_id == payee.id,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    order_ids = {entry.order_id for entry, _ in rows}
    items: dict[int, list[str]] = {}
    for frozen in session.scalars(
        select(CommissionLine)
        .where(CommissionLine.payee_id == payee.id, CommissionLine.order_id.in_(order_ids))
        .order_by(CommissionLine.id)
    ):
        share = decimal_string(frozen.amount, frozen.currency)
        base = decimal_string(frozen.base_amount, frozen.currency)
        items.setdefault(frozen.order_id, []).append(f"{frozen.sku}: {share} of {base}")
    lines = [
        StatementLine(
            at=entry.created_at,
            order=number,
            kind=entry.kind,
            items="; ".join(items.get(entry.order_id, [])) if entry.kind == "sale" else "",
            amount=entry.amount,
            currency=entry.currency,
        )
        for entry, number in rows
    ]
    transfers = [
        StatementTransfer(
            order=number,
            status=t.status,
            amount=t.amount,
            reversed=t.reversed_amount,
            owed=t.owed_amount,
            currency=t.currency,
            sent_at=t.sent_at,
        )
        for t, number in session.execute(
            select(Transfer, Order.number)
            .join(Order, Order.id == Transfer.order_id)
            .where(Transfer.payee_id == payee.id, Transfer.order_id.in_(order_ids))
            .order_by(Transfer.id)
        )
    ]
    return Statement(payee, start, end, lines, transfers)


def statement_json(found: Statement) -> dict[str, Any]:
    return {
        "payee": found.payee.code,
        "from": iso_time(found.start),
        "to": iso_time(found.end),
        "lines": [
            {
                "at": iso_time(line.at),
                "order": line.order,
                "kind": line.kind,
                "items": line.items,
                "amount": money_json(line.amount, line.currency),
            }
            for line in found.lines
        ],
        "transfers": [
            {
                "order": t.order,
                "status": t.status,
                "amount": money_json(t.amount, t.currency),
                "reversed": money_json(t.reversed, t.currency),
                "owed": money_json(t.owed, t.currency),
                "sent_at": iso_time(t.sent_at),
            }
            for t in found.transfers
        ],
        "totals": [money_json(v, c) for c, v in sorted(found.totals().items())],
    }


def statement_csv(found: Statement) -> str:
    """``date,order,kind,items,amount,currency`` rows, cells safe from spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", "order", "kind", "items", "amount", "currency"])
    for line in found.lines:
        writer.writerow(
            [
                iso_time(line.at),
                csv_cell(line.order),
                line.kind,
                csv_cell(line.items),
                decimal_string(line.amount, line.currency),
                line.currency,
            ]
        )
    return buffer.getvalue()
