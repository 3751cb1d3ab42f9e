"""The merchant's funnel dashboard: buffered events written first, then the report."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.domain import analytics, counting
from buybutton_server.domain.analytics import EventBuffer, FunnelRow, Report
from buybutton_server.errors import BadRequest, InvalidInput

CHART_WIDTH, BAR_SPACING = 560, 44


class BadRange(BadRequest):
    """The dashboard's dates cannot be read (a 400, as a bad query string)."""


def funnel(
    sessions: sessionmaker[Session], buffer: EventBuffer, since: str | None, until: str | None
) -> Report:
    """The funnel between ``since`` and ``until`` (dates or ISO times; default the last 30
    days), with every buffered impression and click counted. :class:`BadRange` for a
    range that cannot be read."""
    try:
        start, end = analytics.parse_range(since or None, until or None)
    except InvalidInput as problem:
        raise BadRange(problem.message) from None
    buffer.flush(sessions)
    return analytics.report(sessions, start, end)


def funnel_bars(totals: FunnelRow) -> list[dict[str, object]]:
    """Bars for a server-rendered SVG: no chart library, no script."""
    steps = [
        ("Impressions", totals.impressions),
        ("Clicks", totals.clicks),
        ("Checkouts", totals.checkouts),
        ("Paid", totals.paid),
    ]
    top = max((n for _, n in steps), default=0) or 1
    return [
        {
            "label": label,
            "count": n,
            "width": round(CHART_WIDTH * n / top, 1),
            "y": 10 + i * BAR_SPACING,
        }
        for i, (label, n) in enumerate(steps)
    ]


NOT_COUNTED = (
    ("bot", "Bots and link scanners (unfurls, mail security, crawlers)"),
    ("prefetch", "Prefetches and prerenders"),
    ("preview", "The snippet builder's previews"),
    ("repeat", "Repeats from one visitor within the window"),
)


def not_counted(buffer: EventBuffer) -> list[tuple[str, str, int]]:
    """What the funnel left out, by reason: ``(reason, label, count)``."""
    with buffer.lock:
        return [(reason, label, buffer.not_counted[reason]) for reason, label in NOT_COUNTED]


def window_minutes() -> int:
    return counting.COUNT_WINDOW // 60
