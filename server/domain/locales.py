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
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from io import BytesIO
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_territory_currencies
from babel.numbers import format_percent as format_percent_babel
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from buybutton.money import exponent, format_amount
from buybutton_server.domain import locale_dates
from buybutton_server.domain.locale_words import SCRIPT_WORDS, message_template

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
    """The compiled catalog of a shipped language, once per process: the ``.mo`` the build
    compiled (build_hooks/buybutton_build.py) when the digest it recorded is the ``.po``'s
    beside it; otherwise (a catalog edited since, or no build) compiled from the ``.po`` in
    memory. Fuzzy entries are left out either way, so they fall back to English."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not a shipped language")
    return load_catalog(
        files("buybutton_server").joinpath(f"locale/{language}/LC_MESSAGES"), language
    )


def load_catalog(folder: Traversable, language: str) -> Translations:
    """``folder``'s ``messages.po`` compiled: its built ``messages.mo`` if current, else in
    memory."""
    text = folder.joinpath("messages.po").read_bytes()
    built = folder.joinpath("messages.mo")
    digest = folder.joinpath("messages.mo.source")
    if built.is_file() and digest.is_file():
        if digest.read_text().strip() == hashlib.sha256(text).hexdigest():
            return Translations(fp=BytesIO(built.read_bytes()), domain="messages")
    catalog = read_po(BytesIO(text), locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain="messages")


def gettext(message: str, lang: Lang | None = None) -> str:
    """``message`` in ``lang`` (default: the request's :data:`CURRENT`)."""
    return translations((lang or current()).language).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: Lang | None = None) -> str:
    return translations((lang or current()).language).ngettext(singular, plural, n)


def localize(text: str, lang: Lang | None = None) -> str:
    """A shopper message in ``lang``: a catalog message as such, or one the domain built
    with values (``Code WELCOME10 has expired.``) through its pattern
    (:data:`.locale_words.MESSAGE_PATTERNS`); anything else unchanged (plain text)."""
    lang = lang or current()
    catalog = translations(lang.language)
    if not text:  # "" is the catalog's header, never a message
        return text
    if text in getattr(catalog, "_catalog", {}):
        return catalog.gettext(text)
    found = None if lang.language == DEFAULT_LANGUAGE else message_template(text)
    if found is None:  # English is the source: the domain's own words, as written
        return text
    message, values, literal = found
    words = {
        k: locale_dates.moment_value(k, v, lang.babel)
        if k in literal
        else _word(catalog, k, v, lang)
        for k, v in values.items()
    }
    return catalog.gettext(message) % words


def _word(catalog: Translations, key: str, value: str, lang: Lang) -> str:
    """A value that is a catalog word (a field's label, "postal code", "VAT") in ``lang``,
    a percentage as the locale writes it, or a phrase with a pattern of its own."""
    if key == "percent":
        return format_percent(Decimal(value) * 100, lang)  # type: ignore[arg-type]
    known = getattr(catalog, "_catalog", {})
    for form in (value, value[:1].upper() + value[1:]):
        if form in known:
            text = catalog.gettext(form)
            lower = value[:1].islower() and lang.language != "de"  # German nouns keep caps
            return text[:1].lower() + text[1:] if lower else text
    return localize(value, lang)


def order_locale() -> str | None:
    """The language tag to record on an order placed in this request (None outside a
    shopper's request: the order's emails then use the shop's default)."""
    lang = CURRENT.get()
    return lang.tag if lang is not None else None


def for_order(order_locale: str | None, shop_default: str | None = None) -> Lang:
    """The language of an order's emails: the one it was placed in, else the shop's."""
    return negotiate(link=order_locale, default=shop_default)


# -- templates: gettext passed with each render, never installed in an environment -------------


def jinja_gettext(lang: Lang) -> dict[str, Any]:
    """gettext/ngettext as Jinja's "newstyle" expects them (``%(name)s`` filled in, the
    text marked safe under autoescape so the filled-in values are escaped instead)."""
    catalog = translations(lang.language)

    known = getattr(catalog, "_catalog", {})

    @pass_context
    def gettext(context: Context, message: str, /, **values: Any) -> str:
        if not message or message not in known:  # a dynamic message: plain text, escaped
            message = localize(message, lang)  # through its pattern, if it has one
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


def format_datetime(
    value: datetime, zone: str | None = "UTC", lang: Lang | None = None, form: str = "medium"
) -> str:
    """``26.11.2026, 10:14`` as the locale writes a moment, in ``zone`` (locale_dates)."""
    return locale_dates.format_datetime(value, zone, (lang or current()).babel, form)


def format_percent(basis_points: int, lang: Lang | None = None) -> str:
    """A rate in basis points as the locale writes a percentage (``2300``: ``23%``, in
    German ``23 %``)."""
    locale = (lang or current()).babel
    pattern = str(locale.percent_formats[None].pattern).replace("#,##0", "#,##0.###", 1)
    return str(format_percent_babel(Decimal(basis_points).scaleb(-4), pattern, locale=locale))


@functools.lru_cache(maxsize=4096)
def _territory(code: str, language: str, region: str | None) -> str | None:
    name = _babel_locale(language, region).territories.get(code)
    return str(name) if name else None


def territory_name(code: str, lang: Lang | None = None) -> str:
    """A country's name in the shopper's language (Babel's CLDR names: ``DE`` is
    ``Deutschland`` in German, ``ألمانيا`` in Arabic); the code itself if unknown."""
    lang = lang or current()
    return _territory(code.upper(), lang.language, lang.region) or code
