"""The shopper's language: which one a request gets, its gettext catalog, and numbers, money
and dates written the way that language writes them (issue 16; docs/languages.md).

- :data:`LANGUAGES` are the shipped catalogs (``server/locale/<lang>/LC_MESSAGES/
  messages.po``). English is the source language; Arabic proves right-to-left pages.
- :func:`negotiate` picks one per request: a locale signed into the link, then the
  language switcher's cookie, then ``Accept-Language`` (``de-AT`` matches ``de``; a
  malformed header counts as absent), then the shop's default.
- :func:`translations` compiles a catalog once per process, in memory, the first time a
  language is asked for (the ``.po`` files are the package data; nothing is written to
  disk, so a read-only install or a wheel works the same).
- :func:`format_money` uses Babel's patterns for the locale but OUR minor-unit exponents
  (``buybutton.money.exponent``, ISO 4217): Babel's own currency digits disagree with ISO
  for 13 currencies (IQD 12.345 would print as "IQD12").

Nothing here installs a language globally: callers pass a :class:`Lang` (pages) or set
the request's :data:`CURRENT` (formatting deep in a service, e.g. a quote's totals).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files
from io import BytesIO
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_territory_currencies
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from buybutton.money import exponent, format_amount

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "ar")
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
# What each language is called in itself, for the switcher.
NATIVE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "ar": "العربية",
}
# The switcher's cookie: a language code from LANGUAGES, nothing else is read from it.
COOKIE = "bb_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# A BCP 47 tag as links and headers carry it: language, optional script and region.
TAG_PATTERN = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")
_REGION = re.compile(r"^(?:[A-Za-z]{2}|[0-9]{3})$")
ACCEPT_LANGUAGE_MAX = 512  # characters of the header looked at
_ACCEPT_ENTRIES_MAX = 16


@dataclass(frozen=True, slots=True)
class Lang:
    """A shipped language plus the region the shopper asked for (``de`` + ``AT``)."""

    language: str = DEFAULT_LANGUAGE
    region: str | None = None

    @property
    def tag(self) -> str:
        """For ``<html lang>`` and ``Content-Language``: ``de-AT``, ``en``."""
        return f"{self.language}-{self.region}" if self.region else self.language

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RIGHT_TO_LEFT else "ltr"

    @property
    def babel(self) -> Locale:
        return _babel_locale(self.language, self.region)

    @property
    def currency(self) -> str | None:
        """The currency of the shopper's region (``de-CH``: CHF), else of the language's
        likely region (``de``: EUR, ``en``: USD)."""
        return _currency(self.language, self.region)


ENGLISH = Lang()
# The language a shopper's request settled on (views/languages.py sets it); None outside
# one (the admin, the API, the worker): money then keeps the SDK's plain form.
CURRENT: ContextVar[Lang | None] = ContextVar("buybutton_lang", default=None)


def current() -> Lang:
    return CURRENT.get() or ENGLISH


def parse_tag(raw: object) -> Lang | None:
    """A well-formed tag whose language we ship (``de-AT`` → de + AT), else None."""
    if not isinstance(raw, str) or len(raw) > 35 or not TAG_PATTERN.match(raw):
        return None
    parts = raw.replace("_", "-").split("-")
    language = parts[0].lower()
    if language not in LANGUAGES:
        return None
    region = next((p.upper() for p in parts[1:] if _REGION.match(p)), None)
    if region is not None and not _known_region(language, region):
        region = None
    return Lang(language, region)


def is_shipped(raw: object) -> bool:
    return parse_tag(raw) is not None


@functools.lru_cache(maxsize=512)
def from_accept_language(header: str | None) -> Lang | None:
    """The best shipped language of an ``Accept-Language`` header (q-values honoured,
    ``*`` and garbage skipped), or None. Cached: browsers send a handful of spellings."""
    if not header:
        return None
    wanted: list[tuple[float, int, str]] = []
    for position, entry in enumerate(header[:ACCEPT_LANGUAGE_MAX].split(",")):
        if position >= _ACCEPT_ENTRIES_MAX:
            break
        tag, _, params = entry.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = -1.0
        if 0 < weight <= 1:
            wanted.append((-weight, position, tag.strip()))
    for _weight, _position, tag in sorted(wanted):
        found = parse_tag(tag)
        if found is not None:
            return found
    return None


def negotiate(
    *,
    link: str | None = None,
    cookie: str | None = None,
    accept_language: str | None = None,
    default: str | None = None,
) -> Lang:
    """The request's language: the link's, the switcher's cookie, the browser's, the
    shop's default, English. An unknown or malformed value at any step is skipped."""
    return (
        parse_tag(link)
        or parse_tag(cookie)
        or from_accept_language(accept_language)
        or parse_tag(default)
        or ENGLISH
    )


@contextmanager
def active(lang: Lang) -> Iterator[Lang]:
    """``lang`` as :data:`CURRENT` for a block (tests, the mail worker)."""
    token = CURRENT.set(lang)
    try:
        yield lang
    finally:
        CURRENT.reset(token)


# -- catalogs ---------------------------------------------------------------------------------


def catalog_path(language: str) -> str:
    return f"locale/{language}/LC_MESSAGES/messages.po"


@functools.lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The compiled catalog of a shipped language (compiled from its ``.po`` once per
    process; fuzzy entries are left out, so they fall back to English)."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not a shipped language")
    source = files("buybutton_server").joinpath(catalog_path(language))
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain="messages")


def gettext(message: str, lang: Lang | None = None) -> str:
    """``message`` in ``lang`` (default: the request's :data:`CURRENT`)."""
    return translations((lang or current()).language).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: Lang | None = None) -> str:
    return translations((lang or current()).language).ngettext(singular, plural, n)


# -- words that reach a shopper's page from code rather than from a template ------------------


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs (babel.cfg extracts ``N_``); translated where
    shown (``{{ _(error.title) }}``, checkout.js's words)."""
    return message


# Error pages: the titles and stock messages of the errors a shopper meets (server/errors.py).
ERROR_WORDS = (
    N_("Something is not right"),
    N_("We could not handle that request."),
    N_("Please check what you entered"),
    N_("Not allowed"),
    N_("You are not allowed to do that."),
    N_("Page not found"),
    N_("There is nothing at this address."),
    N_("No longer here"),
    N_("This is no longer available."),
    N_("That can't be done now"),
    N_("Too much data"),
    N_("Too many tries"),
    N_("Not available"),
    N_("We can't take orders right now"),
    N_(
        "The shop is having a technical problem. Nothing was charged. Please try again in a "
        "few minutes."
    ),
    N_("Something went wrong"),
    N_("Something went wrong on our side. Nothing was charged; please try again."),
    N_("This link is not valid"),
    N_(
        "This checkout link has been changed or cut short, so we can't trust it. "
        "Go back to where you found it and tap it again."
    ),
    N_("This link has expired"),
    N_("The offer in this link has ended, but the product may still be available."),
    N_("This product is no longer available"),
    N_("The shop has taken this product down. Nothing was charged."),
    N_("Sold out"),
    N_("Sorry, this product just sold out. Nothing was charged."),
    N_("Not enough in stock"),
    N_("The total changed"),
    N_("Payments are not reachable right now"),
    N_("We could not reach the payment service. Nothing was charged; please try again."),
    N_("We could not find that order. Check the link in your confirmation."),
)
# Form labels: the contact fields (services/checkout_details.FIELDS) and the address fields
# of every country (domain/address_rules.py), which checkout.js also shows.
LABEL_WORDS = (
    N_("Email"),
    N_("Full name"),
    N_("Street address"),
    N_("Apartment, suite, unit"),
    N_("City"),
    N_("Town/City"),
    N_("District"),
    N_("Suburb"),
    N_("Neighborhood"),
    N_("Village township"),
    N_("State"),
    N_("Province"),
    N_("County"),
    N_("Area"),
    N_("Department"),
    N_("Prefecture"),
    N_("Island"),
    N_("Parish"),
    N_("Emirate"),
    N_("Oblast"),
    N_("Do/Si"),
    N_("ZIP code"),
    N_("PIN code"),
    N_("Eircode"),
    N_("Postal code"),
    N_("Postcode"),
    N_("Sorting code (CEDEX)"),
)
# What checkout.js writes into the page itself (the page carries them translated).
SCRIPT_WORDS = (
    N_("With your address"),
    N_("Free"),
    N_("No shipping for this address."),
    N_("Shipping options and tax appear once we know your country and postal code."),
    N_("(optional)"),
    N_("Choose…"),
    N_("For example %(example)s"),
    N_("Enter the expiry date as MM / YY."),
    N_("Processing…"),
    *LABEL_WORDS,
)
# The widget's words (the product JSON carries them: widgets/buybutton.js and the card).
WIDGET_WORDS = (N_("Sold out"), N_("only %(num)d left"), N_("sold out"), N_("In stock"))


# -- templates: gettext passed with each render, never installed in an environment -------------


def jinja_gettext(lang: Lang) -> dict[str, Any]:
    """gettext/ngettext as Jinja's "newstyle" expects them (``%(name)s`` filled in, the
    text marked safe under autoescape so the filled-in values are escaped instead)."""
    catalog = translations(lang.language)

    known = getattr(catalog, "_catalog", {})

    @pass_context
    def gettext(context: Context, message: str, /, **values: Any) -> str:
        if message not in known:  # not ours (an error's dynamic message): plain text, escaped
            return escape(message) if context.eval_ctx.autoescape else message
        text = catalog.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our catalog's text; values are escaped by %
        return text % values  # still Markup under autoescape: not escaped twice

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, n: int, /, **values: Any) -> str:
        text = catalog.ngettext(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704
        values.setdefault("num", n)
        return text % values  # still Markup under autoescape: not escaped twice

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


_CALLABLES: dict[Lang, dict[str, Any]] = {}


def template_context(lang: Lang) -> dict[str, Any]:
    """What a shopper's template needs for ``lang``: its gettext, ``lang`` (for the money,
    number and date filters, ``<html lang dir>``) and the switcher's choices."""
    found = _CALLABLES.get(lang)
    if found is None:
        catalog = translations(lang.language)
        found = _CALLABLES[lang] = {
            **jinja_gettext(lang),
            "lang": lang,
            "languages": [(code, NATIVE_NAMES[code]) for code in LANGUAGES],
            "script_words": {"t": {w: catalog.gettext(w) for w in SCRIPT_WORDS}},
        }
    return found


# -- numbers, money, dates --------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _babel_locale(language: str, region: str | None) -> Locale:
    if region:
        try:
            return Locale.parse(f"{language}_{region}")
        except (UnknownLocaleError, ValueError):
            pass
    return Locale.parse(language)


@functools.lru_cache(maxsize=256)
def _known_region(language: str, region: str) -> bool:
    try:
        Locale.parse(f"{language}_{region}")
    except (UnknownLocaleError, ValueError):
        return bool(get_territory_currencies(region)) if region.isalpha() else False
    return True


@functools.lru_cache(maxsize=256)
def _currency(language: str, region: str | None) -> str | None:
    if region is None:
        likely = get_global("likely_subtags").get(language, "")
        region = likely.split("_")[-1] if "_" in likely else None
    if region is None:
        return None
    found = get_territory_currencies(region, tender=True)
    return found[0] if found else None


_FRACTION = re.compile(r"([#,]*0)(?:\.[0#]+)?")


@functools.lru_cache(maxsize=512)
def money_pattern(language: str, region: str | None, places: int) -> str:
    """The locale's currency pattern with ``places`` decimals (ISO 4217's, not Babel's)."""
    pattern = str(_babel_locale(language, region).currency_formats["standard"].pattern)
    fraction = "." + "0" * places if places else ""
    return _FRACTION.sub(lambda m: m.group(1) + fraction, pattern)


def format_money(amount: int, currency: str, lang: Lang | None = None) -> str:
    """``123450, "EUR"`` in de: ``1.234,50 €``; in en: ``€1,234.50``. Minor units in, the
    currency's ISO 4217 exponent decides the decimals (JPY 0, IQD 3). Without a language
    (none given, none set for the request) the SDK's plain form: ``€1,234.50``."""
    lang = lang or CURRENT.get()
    if lang is None:
        return format_amount(amount, currency)
    places = exponent(currency)
    try:
        return str(
            format_currency(
                Decimal(amount).scaleb(-places),
                currency,
                format=money_pattern(lang.language, lang.region, places),
                locale=lang.babel,
                currency_digits=False,
            )
        )
    except (ValueError, KeyError):  # a code Babel has never heard of: our plain form
        return format_amount(amount, currency)


def format_number(value: int | float | Decimal, lang: Lang | None = None) -> str:
    return str(format_decimal(value, locale=(lang or current()).babel))


def format_date(value: date | datetime, lang: Lang | None = None, form: str = "medium") -> str:
    """``12 Mar 2026`` / ``12.03.2026`` as the locale writes a date (``form``: short,
    medium, long)."""
    if isinstance(value, datetime):
        value = value.date()
    return str(babel_format_date(value, format=form, locale=(lang or current()).babel))
