"""Funnel analytics: which post, video or email sold what.

Events are counts with a product and a placement (source, campaign, content) and a time; no
personal data and no visitor id. Impressions (from the widget's beacons) and clicks (a
checkout page opened) are buffered in memory and written in batches, so the checkout page
stays fast; checkout starts, payments and refunds are written in the same transaction as the
order change they describe, so they agree with the orders table.

Attribution: an order's ``source``/``campaign``/``content`` come from the link that opened
its checkout (last touch). The first touch of the same browser within
:data:`ATTRIBUTION_WINDOW` is kept in a first-party cookie on the checkout origin (signed, not
set when the browser sends DNT or GPC) and stored on the order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import statistics
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import format_amount
from buybutton.tokens import CheckoutLink
from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, Order, OrderLine, utcnow
from buybutton_server.domain import counting, funnel_query, rollups
from buybutton_server.domain.first_touch import ATTRIBUTION_WINDOW as ATTRIBUTION_WINDOW
from buybutton_server.domain.first_touch import FIRST_TOUCH_COOKIE as FIRST_TOUCH_COOKIE
from buybutton_server.domain.first_touch import first_touch_cookie as first_touch_cookie
from buybutton_server.domain.first_touch import read_first_touch as read_first_touch
from buybutton_server.domain.first_touch import set_cookie_header as set_cookie_header
from buybutton_server.domain.first_touch import tracking_allowed as tracking_allowed
from buybutton_server.errors import InvalidInput

KINDS = (
    "impression",
    "click",
    "checkout_started",
    "payment_succeeded",
    "payment_failed",
    "refunded",
)
# A multi-item order or link records one event per line, each for its own product; the lines
# after the first carry ``<kind>_line``, so a product row counts all its events while the
# totals count orders and visits (one per order, not one per line).
LINE_KINDS = {kind: f"{kind}_line" for kind in KINDS}
_EVENTS = cast(Table, AnalyticsEvent.__table__)
_INSERT = insert(_EVENTS)


def line_kind(kind: str, index: int) -> str:
    """The kind of the event for line ``index`` (0-based) of an order or link."""
    return kind if index == 0 else LINE_KINDS[kind]


def event_row(
    kind: str,
    link: CheckoutLink | None = None,
    *,
    sku: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "sku": sku or (link.sku if link else ""),
        "source": link.source if link else None,
        "campaign": link.campaign if link else None,
        "content": link.content if link else None,
        "amount": amount,
        "currency": currency,
        "occurred_at": at or utcnow(),
    }


def record(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write events in the caller's transaction."""
    if rows:
        session.connection().execute(_INSERT, list(rows))


def record_order_event(session: Session, kind: str, order: Any, amount: int | None = None) -> None:
    """One event per line of an order, each for its own product and attributed to the link
    that opened the checkout. ``amount`` (a payment, a refund) is shared out over the lines
    in proportion to their totals (:func:`split_amount`), so every product is credited with
    its part and the parts add up to ``amount``."""
    lines = list(getattr(order, "lines", None) or [])
    skus = [line.sku for line in lines] or [""]
    shares: list[int | None] = [None] * len(skus)
    if amount is not None:
        shares = list(split_amount(amount, [line.total_amount for line in lines] or [1]))
    now = utcnow()
    rows = [
        {
            "kind": line_kind(kind, index),
            "sku": sku,
            "source": order.source,
            "campaign": order.campaign,
            "content": order.content,
            "amount": share,
            "currency": order.currency if share is not None else None,
            "occurred_at": now,
        }
        for index, (sku, share) in enumerate(zip(skus, shares, strict=True))
    ]
    record(session, rows)


def split_amount(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` in whole minor units shared in proportion to ``weights`` (largest
    remainder: the parts add up to ``amount`` exactly; equal weights split evenly)."""
    total = sum(weights)
    if total <= 0:
        return [amount] + [0] * (len(weights) - 1)
    parts = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(amount * weights[i] % total))
    for i in order[: amount - sum(parts)]:
        parts[i] += 1
    return parts


RETRY_WINDOW = timedelta(hours=1)
_UNPAID = ("pending", "failed", "canceled")


_ORDERS: Table = cast(Table, Order.__table__)
_LINES: Table = cast(Table, OrderLine.__table__)
# Starts from recent unpaid orders (status, created_at): coalesce() keeps planners off the
# email index, which a shared address turns into a scan of every paid order.
_EARLIER_TRY = (
    select(_ORDERS.c.id)
    .where(
        _ORDERS.c.status.in_(_UNPAID),
        _ORDERS.c.created_at >= bindparam("since"),
        func.coalesce(_ORDERS.c.email, "") == bindparam("email"),
        _ORDERS.c.id != bindparam("order_id"),
        _ORDERS.c.source.is_not_distinct_from(bindparam("source")),
        _ORDERS.c.campaign.is_not_distinct_from(bindparam("campaign")),
        _ORDERS.c.content.is_not_distinct_from(bindparam("content")),
        select(_LINES.c.id)
        .where(_LINES.c.order_id == _ORDERS.c.id, _LINES.c.sku == bindparam("sku"))
        .exists(),
    )
    .limit(1)
)


def record_checkout_started(session: Session, link: CheckoutLink, order: Any) -> None:
    """A checkout, unless it is the same shopper trying again: an unpaid order with the same
    email, product and placement placed within :data:`RETRY_WINDOW` (a declined card, an
    abandoned 3-D Secure) means this order is a retry of that checkout, not another one."""
    params = {"since": utcnow() - RETRY_WINDOW, "email": order.email, "order_id": order.id}
    params.update(source=link.source, campaign=link.campaign, content=link.content, sku=link.sku)
    if session.connection().execute(_EARLIER_TRY, params).first() is None:
        rows = [
            event_row(line_kind("checkout_started", i), link, sku=sku)
            for i, (sku, _) in enumerate(link.lines)
        ]
        record(session, rows)


class EventBuffer:
    """Impressions and clicks wait here and go to the database in one insert per flush.

    :meth:`count` is the way in for requests: bots, prefetches and previews are not counted,
    and a client is counted once per link within :data:`counting.COUNT_WINDOW`. What was
    left out is tallied in ``not_counted`` (since the process started) for the dashboard."""

    def __init__(self, limit: int = 100_000) -> None:
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.limit = limit
        self.dropped = 0
        self.seen = counting.RecentlySeen()
        self.not_counted: Counter[str] = Counter()

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            for row in rows:
                if len(self.rows) >= self.limit:  # a stuck database must not eat the memory
                    self.dropped += 1
                    continue
                self.rows.append(row)

    def count(
        self,
        kind: str,
        links: Iterable[tuple[str, CheckoutLink]],
        headers: Mapping[str, str],
        client: tuple[str, int] | None,
    ) -> int:
        """Buffer one ``kind`` event per ``(token, link)`` seen by a person, once per client
        and token within the window (a variant switch or a reload is the same token).
        Returns how many were counted."""
        links = list(links)
        reason = counting.not_counted(headers)
        if reason is not None:
            with self.lock:
                self.not_counted[reason] += len(links)
            return 0
        who = counting.client_key(client[0] if client else None, headers.get("user-agent", ""))
        fresh: list[dict[str, Any]] = []
        with self.lock:
            for token, link in links:
                key = hashlib.blake2b(f"{kind}\x00{token}".encode(), key=who, digest_size=16)
                if self.seen.first_time(key.digest()):  # a multi-item link: each product
                    fresh.extend(
                        event_row(line_kind(kind, i), link, sku=sku)
                        for i, (sku, _) in enumerate(link.lines)
                    )
                else:
                    self.not_counted["repeat"] += 1
        self.add(fresh)
        return len(fresh)

    def flush(self, sessions: sessionmaker[Session]) -> int:
        with self.lock:
            rows, self.rows = self.rows, []
        if rows:
            try:
                with write_session(sessions) as session:
                    record(session, rows)
            except Exception:
                self.add(rows)  # try again next time
                raise
        rollups.roll_up(sessions)  # these and the order events, into the report's rollups
        return len(rows)


# -- reports ----------------------------------------------------------------------------------


@dataclass(slots=True)
class FunnelRow:
    sku: str
    source: str | None
    campaign: str | None
    content: str | None
    impressions: int = 0
    clicks: int = 0
    checkouts: int = 0
    paid: int = 0
    failed: int = 0
    refunded: int = 0
    revenue: dict[str, int] = field(default_factory=dict)
    # The counts above without the further lines of multi-item orders and links, in the
    # same order: what the totals add up, so a three-product order is one paid order and
    # one click.
    firsts: tuple[int, ...] = (0, 0, 0, 0, 0, 0)

    @property
    def first_lines(self) -> Counter[str]:
        return Counter(dict(zip(_NAMES, self.firsts, strict=True)))

    @property
    def click_rate(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion(self) -> float | None:
        """Paid orders per click: what share of the people who tapped bought."""
        return self.paid / self.clicks if self.clicks else None

    def revenue_text(self) -> str:
        return ", ".join(format_amount(a, c) for c, a in sorted(self.revenue.items())) or "0"


@dataclass
class Report:
    since: datetime
    until: datetime
    rows: list[FunnelRow]
    median_seconds_to_pay: float | None
    totals: FunnelRow


_NAMES = list(funnel_query.COUNTS)
assert _NAMES == [f.name for f in fields(FunnelRow)][4:10]  # report() passes them in order


def _added(parts: list[Any]) -> tuple[tuple[int, ...], tuple[int, ...], dict[str, int]]:
    """The counts, first-line counts and revenue per currency of a place's parts (rows of
    ``funnel_query.FUNNEL_COLUMNS``). Money counts in a currency where payments or
    refunds were counted (money without a currency is not revenue)."""
    first, *rest = parts
    both = first[5:17]  # the counts, then the first-line counts
    for r in rest:
        both = [a + b for a, b in zip(both, r[5:17], strict=True)]
    revenue: dict[str, int] = {}
    for r in parts:
        if r[4] and (r[8] or r[10]):
            revenue[r[4]] = revenue.get(r[4], 0) + r[17]
    return tuple(both[:6]), tuple(both[6:]), revenue


_WAITS = select(Order.paid_at, Order.first_touch_at).where(
    Order.paid_at >= bindparam("since"),
    Order.paid_at < bindparam("until"),
    Order.first_touch_at.is_not(None),
)


def _by_revenue(row: FunnelRow) -> tuple[int, int, str]:
    return -sum(row.revenue.values()), -row.clicks, row.sku


def report(
    sessions: sessionmaker[Session],
    since: datetime,
    until: datetime,
    *,
    sku: str | None = None,
    rolled: bool = True,
) -> Report:
    """The funnel per product, source, campaign and content between ``since`` and ``until``:
    the running totals of the whole 15-minute slots in the range and the raw events of the
    rest (:mod:`buybutton_server.domain.rollups`), in one statement that answers the
    figures per key (:mod:`buybutton_server.domain.funnel_query`). ``rolled=False``:
    from the raw events alone (what the tests and the benchmark compare with)."""
    with sessions() as session:
        found = funnel_query.funnel_rows(session, since, until, sku, rolled=rolled)
        waits = [
            (paid - first).total_seconds()
            for paid, first in session.execute(_WAITS, {"since": since, "until": until})
            if paid and first
        ]
    # A place: its key (or a key per currency) and its raw parts, if any; most have one row.
    first_rows: dict[tuple[Any, ...], Any] = {}
    more: dict[tuple[Any, ...], list[Any]] = {}
    for found_row in found:
        place = found_row[:4]
        if place in first_rows:
            more.setdefault(place, [first_rows[place]]).append(found_row)
        else:
            first_rows[place] = found_row
    rows = []
    revenue_all: dict[str, int] = {}
    for (place_sku, source, campaign, content), r in first_rows.items():
        if more and (place_sku, source, campaign, content) in more:
            counts, firsts, revenue = _added(more[place_sku, source, campaign, content])
        else:  # r[8], r[10]: payments, refunds
            counts, firsts = r[5:11], r[11:17]
            revenue = {r[4]: r[17]} if r[4] and (r[8] or r[10]) else {}
        if revenue:
            for currency, amount in revenue.items():
                revenue_all[currency] = revenue_all.get(currency, 0) + amount
        seen, clicks, checkouts, paid, failed, refunded = counts
        rows.append(
            FunnelRow(place_sku, source or None, campaign or None, content or None, seen,
                      clicks, checkouts, paid, failed, refunded, revenue, tuple(firsts))
        )  # fmt: skip
    rows.sort(key=_by_revenue)
    # Orders and visits, not lines (the first lines' counts); revenue: every line's share.
    sums = tuple(sum(column) for column in zip(*(row.firsts for row in rows), strict=True))
    sums = sums or (0,) * len(_NAMES)
    seen, clicks, checkouts, paid, failed, refunded = sums
    totals = FunnelRow("all", None, None, None, seen, clicks, checkouts, paid, failed,
                       refunded, revenue_all, sums)  # fmt: skip
    median = statistics.median(waits) if waits else None
    return Report(since, until, rows, median, totals)


def report_json(result: Report) -> dict[str, Any]:
    def row(r: FunnelRow) -> dict[str, Any]:
        return {
            "sku": r.sku,
            "source": r.source,
            "campaign": r.campaign,
            "content": r.content,
            "impressions": r.impressions,
            "clicks": r.clicks,
            "checkouts": r.checkouts,
            "paid": r.paid,
            "failed": r.failed,
            "refunded": r.refunded,
            "click_rate": r.click_rate,
            "conversion": r.conversion,
            "revenue": [{"currency": c, "amount": a} for c, a in sorted(r.revenue.items())],
        }

    return {
        "since": result.since.isoformat(),
        "until": result.until.isoformat(),
        "median_seconds_to_pay": result.median_seconds_to_pay,
        "totals": row(result.totals),
        "rows": [row(r) for r in result.rows],
    }


def report_csv(result: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["sku", "source", "campaign", "content", "impressions", "clicks", "checkouts", "paid",
         "failed", "refunded", "click_rate", "conversion", "revenue"]
    )  # fmt: skip
    for r in result.rows:
        writer.writerow(
            [r.sku, r.source or "", r.campaign or "", r.content or "", r.impressions, r.clicks,
             r.checkouts, r.paid, r.failed, r.refunded,
             "" if r.click_rate is None else f"{r.click_rate:.4f}",
             "" if r.conversion is None else f"{r.conversion:.4f}", r.revenue_text()]
        )  # fmt: skip
    return out.getvalue()


def parse_range(
    since: str | None, until: str | None, *, days: int = 30
) -> tuple[datetime, datetime]:
    """``YYYY-MM-DD`` or ISO times; default the last ``days`` days up to now."""

    def parse(raw: str, name: str) -> datetime:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{name} must be a date like 2026-11-01") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    end = parse(until, "until") if until else utcnow() + timedelta(seconds=1)
    if until and len(until) == 10:  # a bare date means the whole of that day
        end += timedelta(days=1)
    start = parse(since, "since") if since else end - timedelta(days=days)
    if start >= end:
        raise InvalidInput("since must be before until")
    return start, end
