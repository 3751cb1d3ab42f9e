"""The checkout page's hot path (issue 13, "Performance"): the shop's set-up in one read, and
the long option lists of the address form rendered once.

- :func:`read_setup`: the countries the shop ships to (the zones with an active rate) and
  whether any store offers pickup, in ONE prebuilt statement per request (on SQLite through
  the bare reader, inline). Nothing is kept between requests, so a zone or a store written
  a moment ago shows on the next page, in every worker; prices and stock are read
  elsewhere, from the database, every time.
- :class:`PageParts`: the plain page (no errors, no quote) rendered once per everything that
  went into it and kept as UTF-8 bytes cut at its per-response slots (the attempt key, the
  CSP nonce), so a response is one join, with no search through the page and no encoding.
- :func:`country_options` / :func:`region_options`: the ``<option>`` lists of the country
  picker (252 countries when the shop has no zones) and of a country's regions, escaped
  once per set of countries (or per country) and kept as :class:`~markupsafe.Markup`; the
  chosen option is marked on the way out. The key is the content itself (the countries'
  codes; the names come from the address data, which only changes with a new release of
  the package), so a new zone is a new key: nothing to invalidate, nothing served stale.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape
from sqlalchemy import Executable, literal_column, null, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import fetch_all, run_read
from buybutton_server.db.models import Location, ShippingRate, ShippingZoneArea
from buybutton_server.domain import addresses, locales

# Row kinds of _SETUP.
_COUNTRY, _PICKUP = 0, 1
# One statement for the page's set-up: a row per country of a zone with an active rate, and
# one marker row when an active store offers pickup (the pickup list is only read then).
_SETUP: Executable = union_all(
    select(ShippingZoneArea.country, literal_column(str(_COUNTRY)))
    .join(ShippingRate, ShippingRate.zone_id == ShippingZoneArea.zone_id)
    .where(ShippingRate.active.is_(True)),
    select(null(), literal_column(str(_PICKUP))).where(
        select(Location.id)
        .where(Location.active.is_(True), Location.pickup_enabled.is_(True))
        .exists()
    ),
)


@dataclass(frozen=True, slots=True)
class PageSetup:
    """What the checkout page needs of the shop's configuration."""

    # The countries the shop ships to, sorted, once each (empty: it ships anywhere).
    countries: tuple[str, ...]
    # An active store offers pickup: the page reads the pickup list for the cart.
    pickup: bool


def page_setup(factory: sessionmaker[Session]) -> PageSetup:
    rows = fetch_all(factory, _SETUP, {})
    countries = sorted({str(row[0]) for row in rows if int(row[1]) == _COUNTRY})
    return PageSetup(countries=tuple(countries), pickup=any(int(row[1]) == _PICKUP for row in rows))


async def read_setup(factory: sessionmaker[Session]) -> PageSetup:
    """:func:`page_setup` for the page's hot path (inline on SQLite, else the thread pool)."""
    return await run_read(factory, page_setup, factory)


class PageParts:
    """Rendered pages keyed by everything that went into them (the key holds the rows read
    for the request, so a change of price or stock is a new key: nothing is served stale),
    kept as bytes split at ``slots``: even positions are the page's text, odd ones the slot
    a response fills in. At most ``size`` pages, the oldest dropped first."""

    def __init__(self, size: int, slots: Sequence[str]) -> None:
        self.size = size
        self.pages: OrderedDict[Hashable, tuple[bytes, ...]] = OrderedDict()
        self.split = re.compile(b"(" + b"|".join(re.escape(s.encode()) for s in slots) + b")")

    def cut(self, page: str) -> tuple[bytes, ...]:
        """``page`` as bytes cut at the slots (a page that is not kept)."""
        return tuple(self.split.split(page.encode()))

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> tuple[bytes, ...]:
        parts = self.pages.get(key)
        if parts is None:
            parts = self.pages[key] = self.cut(render())
            if len(self.pages) > self.size:
                self.pages.popitem(last=False)
        return parts


def fill(parts: Sequence[bytes], values: Mapping[bytes, str]) -> bytes:
    """The page of :meth:`PageParts.get_or_render` with each slot replaced by its value."""
    return b"".join(part if i % 2 == 0 else values[part].encode() for i, part in enumerate(parts))


# Longer Accept-Language headers are worked out each time, never kept (memory stays small
# whatever a client sends).
_KEPT_HEADER = 200


def first_country(
    prefill: str | None, accept_language: str | None, allowed: tuple[str, ...]
) -> str:
    """:func:`..domain.addresses.default_country`, remembered for the browsers' few
    ``Accept-Language`` values (a pure function of its arguments)."""
    if accept_language is not None and len(accept_language) > _KEPT_HEADER:
        return addresses.default_country(prefill, accept_language, allowed)
    return _first_country(prefill, accept_language, allowed)


@lru_cache(maxsize=1024)
def _first_country(
    prefill: str | None, accept_language: str | None, allowed: tuple[str, ...]
) -> str:
    return addresses.default_country(prefill, accept_language, allowed)


@lru_cache(maxsize=64)
def _country_list(allowed: tuple[str, ...], language: str, region: str | None) -> str:
    wanted, lang = set(allowed), locales.Lang(language, region)
    named = [
        (c.code, c.name if language == "en" else _local_name(c.code, c.name, lang))
        for c in addresses.countries()
        if not wanted or c.code in wanted
    ]
    if language != "en":  # English keeps the address data's own order and names
        named.sort(key=lambda pair: pair[1].casefold())
    return "".join(
        f'<option value="{escape(code)}">{escape(name)}</option>' for code, name in named
    )


@lru_cache(maxsize=512)
def _region_list(country: str, field: str) -> str:
    found = addresses.layout(country).field(field)
    choices = found.choices if found is not None else ()
    return "".join(f'<option value="{escape(r.code)}">{escape(r.name)}</option>' for r in choices)


def _local_name(code: str, english: str, lang: locales.Lang) -> str:
    found = locales.territory_name(code, lang)
    return english if found == code else found  # a code CLDR has no name for


def _chosen(options: str, selected: str | None) -> Markup:
    if selected:
        value = f'<option value="{escape(selected)}">'
        options = options.replace(value, value[:-1] + " selected>", 1)
    return Markup(options)  # noqa: S704 - every part was escaped above


def country_options(allowed: Sequence[str], selected: str | None) -> Markup:
    """The country picker's options: every country (``allowed`` empty) or only ``allowed``
    (upper-case ISO codes), named and ordered in the request's language (Babel's names;
    ``locales.CURRENT``), ``selected`` chosen."""
    lang = locales.current()
    wanted = tuple(sorted({a.upper() for a in allowed}))
    return _chosen(_country_list(wanted, lang.language, lang.region), selected)


def region_options(country: str, field: str, selected: str | None) -> Markup:
    """The options of a country's field with choices (its regions), ``selected`` chosen."""
    return _chosen(_region_list(country, field), selected)
