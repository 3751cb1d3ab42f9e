"""The funnel report through the API: impressions, clicks, checkouts, paid and revenue per
product, source, campaign and content."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.domain import analytics
from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import Answer, Query


class StatsQuery(Query):
    since: Annotated[str, Field(description="a date (2026-11-01) or an ISO time")] | None = None
    until: Annotated[str, Field(description="a date (the whole day) or an ISO time")] | None = None


class Revenue(Answer):
    currency: str
    amount: int


class FunnelRow(Answer):
    sku: str
    source: str | None
    campaign: str | None
    content: str | None
    impressions: int
    clicks: int
    checkouts: int
    paid: int
    failed: int
    refunded: int
    click_rate: float | None
    conversion: Annotated[float | None, Field(description="paid orders per click")]
    revenue: list[Revenue]


class Stats(Answer):
    since: str
    until: str
    median_seconds_to_pay: float | None
    totals: FunnelRow
    rows: list[FunnelRow]


def stats(
    sessions: sessionmaker[Session], buffer: analytics.EventBuffer, query: StatsQuery
) -> Stats:
    """The report for ``since``..``until`` (default: the last 30 days), counting the
    impressions and clicks still buffered too."""
    try:
        since, until = analytics.parse_range(query.since, query.until)
    except ValueError as problem:
        raise InvalidInput(str(problem)) from None
    buffer.flush(sessions)
    return Stats.model_validate(analytics.report_json(analytics.report(sessions, since, until)))
