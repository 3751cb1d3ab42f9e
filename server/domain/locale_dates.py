"""Dates and times as a locale writes them (issue 16 item 2; docs/languages.md), for
:mod:`.locales`: a moment with its time of day, and the dates and times the domain writes
into its English sentences (``Returns for this order closed on 2026-11-20``, ``Held for you
until 2026-11-26 10:14``, ``ready on Monday at 10:00``) rewritten for the shopper's locale
when :func:`.locales.localize` translates the sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

# How the domain writes a date or a (store-local) time in its English sentences.
DATE_FORMS = ("%Y-%m-%d", "%d %B %Y")  # returns' windows; discount codes (domain/discounts)
TIME_FORM = "%Y-%m-%d %H:%M"  # domain/pickup.local_time, " UTC" added when in UTC
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def format_datetime(value: datetime, zone: str | None, locale: Locale, form: str = "medium") -> str:
    """``26.11.2026, 10:14`` in German, ``Nov 26, 2026, 10:14 AM`` in English: the date in
    ``form``, the time short (no seconds), in ``zone`` (None: ``value`` is already a
    wall-clock time; a naive value with a zone is UTC)."""
    if zone is not None:
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    day = str(format_date(value.date(), format=form, locale=locale))
    clock = str(format_time(value.time(), format="short", locale=locale))
    pattern = str(locale.datetime_formats.get(form, "{1} {0}")).replace("'", "")
    return pattern.replace("{1}", day).replace("{0}", clock)


def moment_value(key: str, value: str, locale: Locale) -> str:
    """A value of a domain sentence: a ``date``, ``time``, ``clock`` or ``weekday`` as
    ``locale`` writes it; anything else (or one that does not parse) unchanged."""
    try:
        if key == "date":
            for form in DATE_FORMS:
                try:
                    parsed = datetime.strptime(value, form)
                except ValueError:
                    continue
                return str(format_date(parsed.date(), format="medium", locale=locale))
        elif key == "time":
            wall = datetime.strptime(value.removesuffix(" UTC"), TIME_FORM)
            utc = " UTC" if value.endswith(" UTC") else ""
            return format_datetime(wall, None, locale) + utc
        elif key == "clock":
            wall = datetime.strptime(value, "%H:%M")
            return str(format_time(wall.time(), format="short", locale=locale))
        elif key == "weekday":
            return str(locale.days["format"]["wide"][WEEKDAYS.index(value)])  # Monday is 0
    except ValueError:
        pass
    return value
