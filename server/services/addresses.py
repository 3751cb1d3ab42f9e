"""Addresses for the views: the JSON a checkout script fetches when the shopper picks another
country, and the context the ``_address_fields.html`` partial renders. No database: the
rules are Google's address data (:mod:`buybutton_server.domain.addresses`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from buybutton_server.domain import addresses
from buybutton_server.domain.addresses import AddressLayout, Country
from buybutton_server.domain.checkout_model import Address, Message
from buybutton_server.errors import NotFound
from buybutton_server.services.checkout_page_cache import country_options, region_options

# How long browsers and shared caches may keep a country's format: it only changes with a
# new release of the address data package.
FORMAT_MAX_AGE = 86_400


def _field(field: addresses.AddressField) -> dict[str, object]:
    return {
        "name": field.name,
        "label": field.label,
        "required": field.required,
        "autocomplete": field.autocomplete,
        "max_length": field.max_length,
        "example": field.example,
        "choices": [{"code": r.code, "name": r.name} for r in field.choices],
    }


@cache
def _format(code: str) -> dict[str, object]:
    layout = addresses.layout(code)
    return {
        "country": layout.country,
        "name": layout.country_name,
        "fields": [_field(f) for f in layout.fields],
        "postal_code_example": layout.postal_code_example,
        "postal_code_pattern": layout.postal_code_pattern,
    }


def address_format(country: str) -> dict[str, object]:
    """``GET /api/public/address-format/{country}``: the country's form as JSON (cached per
    country; callers must not change it). Raises ``NotFound`` for an unknown country."""
    code = addresses.country_code(country) if len(country) == 2 else None
    if code is None:
        raise NotFound(
            f"We don't know the country “{country[:64]}”: use an ISO 3166 code such as DE.",
            code="unknown_country",
        )
    return _format(code)


def form_context(
    values: Mapping[str, str],
    messages: Sequence[Message] = (),
    *,
    prefill: str | None = None,
    accept_language: str | None = None,
    allowed: Sequence[str] = (),
) -> dict[str, object]:
    """What ``address_fields(layout, values, errors, countries, options=options)`` takes
    (``options``: each select's ``<option>`` list, prebuilt), for a form shown
    first (``values`` empty: the country comes from the prefill, the browser's language or
    the first allowed country) or again after :func:`validate` refused it."""
    typed = addresses.country_code(values.get("country", "")) if values.get("country") else None
    country = addresses.default_country(typed or prefill, accept_language, allowed)
    listed: tuple[Country, ...] = addresses.countries()
    if allowed:
        wanted = {code.upper() for code in allowed}
        listed = tuple(c for c in listed if c.code in wanted)
    layout: AddressLayout = addresses.layout(country)
    shown = {**values, "country": country}
    region = addresses.region_code(country, values.get("region", ""))
    if region:  # "California" typed, or sent by a wallet: the list shows it chosen
        shown["region"] = region
    # The long option lists, escaped once and kept (services/checkout_page_cache.py).
    options = {"country": country_options(allowed, country)} | {
        f.name: region_options(country, f.name, shown.get(f.name))
        for f in layout.fields
        if f.choices
    }
    return {
        "layout": layout,
        "values": shown,
        "errors": addresses.field_errors(messages),
        "countries": listed,
        "options": options,
    }


def validate(fields: Mapping[str, str]) -> tuple[Address | None, tuple[Message, ...]]:
    return addresses.validate(fields)
