"""``GET /api/v1/stats/locations``: pickups, reservations, collections, returns and revenue
per location (:mod:`buybutton_server.domain.location_stats`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session
from buybutton_server.domain import analytics, location_stats
from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import Answer
from buybutton_server.services.reports import Revenue, StatsQuery


class LocationStats(Answer):
    location: Annotated[str, Field(description="the location's code")]
    name: str
    pickups: Annotated[int, Field(description="paid orders to collect there")]
    reservations: Annotated[int, Field(description="reservations placed there")]
    reservations_paid: Annotated[int, Field(description="of those, paid at the counter")]
    reservations_expired: Annotated[int, Field(description="of those, whose hold ran out")]
    collected: Annotated[int, Field(description="pickups handed over in the range")]
    returns: Annotated[int, Field(description="returns received at its counter in the range")]
    revenue: Annotated[
        list[Revenue], Field(description="paid pickups and reservations, per currency")
    ]


class LocationReport(Answer):
    since: str
    until: str
    data: list[LocationStats]


def per_location(sessions: sessionmaker[Session], query: StatsQuery) -> LocationReport:
    """The report for ``since``..``until`` (default: the last 30 days)."""
    try:
        since, until = analytics.parse_range(query.since, query.until)
    except ValueError as problem:
        raise InvalidInput(str(problem)) from None
    with read_session(sessions) as session:
        rows = location_stats.per_location(session, since, until)
    return LocationReport(
        since=since.isoformat().replace("+00:00", "Z"),
        until=until.isoformat().replace("+00:00", "Z"),
        data=[
            LocationStats(
                location=row.code,
                name=row.name,
                pickups=row.pickups,
                reservations=row.reservations,
                reservations_paid=row.reservations_paid,
                reservations_expired=row.reservations_expired,
                collected=row.collected,
                returns=row.returns,
                revenue=[Revenue(currency=c, amount=a) for c, a in row.revenue.items()],
            )
            for row in rows
        ],
    )
