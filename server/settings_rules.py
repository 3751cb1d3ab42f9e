"""The parts settings are declared with: :class:`Variable` (one ``BUYBUTTON_*`` variable),
the parsers that read environment text, the writers that turn values back into it, and the
rules a value must follow. ``buybutton_server.settings`` declares the settings themselves."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

# The development key is defined once, in the SDK, which signs with it offline too.
from buybutton.client import DEV_SECRET_KEY as DEV_SECRET_KEY  # re-exported
from buybutton.errors import ConfigurationError

if TYPE_CHECKING:
    from buybutton_server.settings import Settings

T = TypeVar("T")

ENVIRONMENTS = ("development", "production")
PAYMENT_PROVIDERS = ("test", "stripe")
MIN_PRODUCTION_KEY = 32

Check = Callable[[Any, "Settings"], "str | None"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable(Generic[T]):
    """One ``BUYBUTTON_*`` variable: how it is read, written back and documented.

    ``parse(name, raw)`` turns the text into the field's value or raises
    :class:`ConfigurationError`; ``dump(value)`` is its inverse (an empty result is left out
    of :meth:`Settings.as_environment`). A blank value means "unset" unless ``blank_is_unset``
    is false. ``check`` and ``production`` return a problem (a sentence naming the variable)
    or None; ``production_doc`` lists, for the docs, what ``production`` refuses.
    """

    name: str
    parse: Callable[[str, str], T]
    doc: str
    dump: Callable[[T], str] = str
    default_doc: str | None = None
    blank_is_unset: bool = True
    check: Check | None = None
    production: Callable[[T], str | None] | None = None
    production_doc: tuple[str, ...] = ()


VARIABLE_KEY = "buybutton.variable"


def variable(
    name: str,
    parse: Callable[[str, str], T],
    doc: str,
    *,
    dump: Callable[[T], str] = str,
    default_doc: str | None = None,
    blank_is_unset: bool = True,
    check: Check | None = None,
    production: Callable[[T], str | None] | None = None,
    production_doc: tuple[str, ...] = (),
) -> dict[str, Variable[T]]:
    """Field metadata declaring the environment variable behind a :class:`Settings` field."""
    return {
        VARIABLE_KEY: Variable(
            name=name,
            parse=parse,
            doc=doc,
            dump=dump,
            default_doc=default_doc,
            blank_is_unset=blank_is_unset,
            check=check,
            production=production,
            production_doc=production_doc,
        )
    }


# -- parsers and writers ------------------------------------------------------------------------


def parse_text(name: str, raw: str) -> str:
    return raw.strip()


def parse_word(name: str, raw: str) -> str:
    return raw.strip().lower()


def parse_base_url(name: str, raw: str) -> str:
    return raw.strip().rstrip("/")


def parse_keys(name: str, raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def parse_integer(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def parse_positive_number(name: str, raw: str) -> float:
    try:
        number = float(raw.strip())
    except ValueError:
        number = -1
    if number <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {raw!r}")
    return number


def parse_rate(name: str, raw: str) -> tuple[int, int] | None:
    text = raw.strip().lower()
    if text == "off":
        return None
    count, _, seconds = text.partition("/")
    if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
        raise ConfigurationError(
            f"{name} must look like 10/60 (10 per 60 seconds) or off, got {raw!r}"
        )
    return int(count), int(seconds)


def parse_ports(name: str, raw: str) -> tuple[int, ...]:
    ports = tuple(p.strip() for p in raw.split(",") if p.strip())
    if not ports or not all(p.isdecimal() and len(p) <= 5 and 0 < int(p) < 65536 for p in ports):
        raise ConfigurationError(f"{name} must list ports, like 443,8443, got {raw!r}")
    return tuple(int(p) for p in ports)


def ports_text(ports: tuple[int, ...]) -> str:
    return ",".join(str(p) for p in ports)


def joined(values: tuple[str, ...]) -> str:
    return ",".join(values)


def rate_text(rate: tuple[int, int] | None) -> str:
    return "off" if rate is None else f"{rate[0]}/{rate[1]}"


# -- rules --------------------------------------------------------------------------------------


def is_origin(text: str) -> bool:
    parts = urlsplit(text)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.path
        and not parts.query
        and not parts.fragment
        and "@" not in parts.netloc
    )


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) URL, or None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def one_of(name: str, choices: tuple[str, ...]) -> Check:
    def check(value: str, settings: Settings) -> str | None:
        if value in choices:
            return None
        return f"{name} must be one of {', '.join(choices)}, got {value!r}"

    return check


def some_keys(keys: tuple[str, ...], settings: Settings) -> str | None:
    """At least one key, each at least 32 bytes (the SDK signs with nothing shorter, so a
    server started with one would fail at its first signature), in every mode."""
    if not keys:
        return "BUYBUTTON_SECRET_KEYS must list at least one key"
    short = [k for k in keys if k != DEV_SECRET_KEY and len(k.encode()) < MIN_PRODUCTION_KEY]
    if short:
        return (
            f"BUYBUTTON_SECRET_KEYS: each key must be at least {MIN_PRODUCTION_KEY} bytes; make "
            "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return None


MIN_KEY_BITS = 80  # of Shannon entropy over the key's own characters
MIN_KEY_DISTINCT = 8


def looks_random(key: str) -> bool:
    """A cheap test against keys a person typed: enough distinct characters, enough
    entropy in their spread, and no short pattern repeated (``abcd`` x 8)."""
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    repeats = any(
        key == (key[:p] * (len(key) // p + 1))[: len(key)] for p in range(1, len(key) // 2 + 1)
    )
    return len(counts) >= MIN_KEY_DISTINCT and bits >= MIN_KEY_BITS and not repeats


def no_dev_key(keys: tuple[str, ...]) -> str | None:
    """Every problem with the keys, joined: production reports them all at once."""
    found = []
    if any(DEV_SECRET_KEY in k for k in keys):
        found.append("BUYBUTTON_SECRET_KEYS holds the development key; production needs its own")
    if any(len(k) < MIN_PRODUCTION_KEY for k in keys):
        found.append(
            f"BUYBUTTON_SECRET_KEYS: every key must be at least {MIN_PRODUCTION_KEY} characters "
            "in production"
        )
    elif any(not looks_random(k) for k in keys if DEV_SECRET_KEY not in k):
        found.append(
            "BUYBUTTON_SECRET_KEYS: a key looks typed, not random (too few distinct characters "
            "or a repeated pattern); make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return "; ".join(found) or None


def https_urls(name: str) -> Callable[[str], str | None]:
    """In production an address, when set, must be https (Stripe.js, Stripe's API)."""

    def rule(url: str) -> str | None:
        if not url or urlsplit(url).scheme == "https":
            return None
        return f"{name} must use https in production, got {url!r}"

    return rule


def https_origins(origins: tuple[str, ...]) -> str | None:
    plain = [o for o in origins if urlsplit(o).scheme != "https"]
    if not plain:
        return None
    return f"BUYBUTTON_ALLOWED_ORIGINS must be https in production, got {', '.join(plain)}"


def named_proxies(allowed: str) -> str | None:
    if "*" not in allowed:
        return None
    return (
        "BUYBUTTON_FORWARDED_ALLOW_IPS='*' lets any client set its own address (and defeat "
        "rate limits) in production; name your proxies' addresses"
    )


def parse_connections(name: str, raw: str) -> int:
    text = raw.strip()
    if not (text.isdecimal() and text.isascii() and len(text) <= 7 and int(text) > 0):
        raise ConfigurationError(f"{name} must be a whole number above 0, got {raw!r}")
    return int(text)


def an_origin(url: str, settings: Settings) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc and parts.path in ("", "/"):
        return None
    return f"BUYBUTTON_BASE_URL must be an origin such as https://shop.example, got {url!r}"


def https_only(url: str) -> str | None:
    if urlsplit(url).scheme == "https":
        return None
    return "BUYBUTTON_BASE_URL must use https in production"


def real_provider(provider: str) -> str | None:
    if provider != "test":
        return None
    return "BUYBUTTON_PAYMENT_PROVIDER=test takes no money; choose a real provider in production"


def port_range(port: int, settings: Settings) -> str | None:
    return None if 0 <= port <= 65535 else f"BUYBUTTON_PORT must be 0-65535, got {port}"


def all_origins(origins: tuple[str, ...], settings: Settings) -> str | None:
    for origin in origins:
        if not is_origin(origin):
            return (
                "BUYBUTTON_ALLOWED_ORIGINS must list origins such as https://blog.example, "
                f"got {origin!r}"
            )
    return None


def stripe_key(name: str, prefixes: tuple[str, ...]) -> Check:
    """Required with the stripe provider, and must start with one of ``prefixes``."""

    def check(value: str, settings: Settings) -> str | None:
        if settings.payment_provider != "stripe":
            return None
        if not value:
            return f"{name} is required when BUYBUTTON_PAYMENT_PROVIDER=stripe"
        if not value.startswith(prefixes):
            return f"{name} must start with {' or '.join(prefixes)}"
        return None

    return check


def stripe_url(name: str) -> Check:
    def check(url: str, settings: Settings) -> str | None:
        if settings.payment_provider != "stripe" or not url:
            return None
        if urlsplit(url).scheme in ("http", "https"):
            return None
        return f"{name} must be an http(s) URL, got {url!r}"

    return check


def parse_count(name: str, raw: str) -> int:
    """A whole number of one or more (seconds, orders)."""
    text = raw.strip()
    if not (text.isascii() and text.isdecimal() and len(text) <= 9 and int(text) >= 1):
        raise ConfigurationError(f"{name} must be a whole number of 1 or more, got {raw!r}")
    return int(text)


def parse_cap(name: str, raw: str) -> int | None:
    """A cap of one or more, or ``off`` (None)."""
    if raw.strip().lower() == "off":
        return None
    try:
        return parse_count(name, raw)
    except ConfigurationError:
        raise ConfigurationError(f"{name} must be a whole number of 1 or more, or off") from None


def cap_text(cap: int | None) -> str:
    return "off" if cap is None else str(cap)


# -- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """Days each kind of record is kept before the retention job deletes (or, for analytics
    events, adds up) it. docs/security.md has the table, with why each period is long enough."""

    analytics: int = 90  # raw analytics events; deleted once the report totals count them
    rollups: int = 730  # the report totals (domain/rollups.py)
    webhooks: int = 30  # webhook events with their finished deliveries and attempts
    provider_events: int = 90  # processed payment-provider events (duplicate guard)
    idempotency: int = 7  # API answers stored under an Idempotency-Key
    unpaid_orders: int = 30  # personal data on orders never paid (then erased, domain/privacy)


# The shortest period that still does its job: webhook retries run about three days, Stripe
# retries an event for three days, an Idempotency-Key is for retrying within a day.
RETENTION_FLOORS = {"analytics": 1, "rollups": 1, "webhooks": 4, "provider_events": 7,
                    "idempotency": 1, "unpaid_orders": 1}  # fmt: skip


def parse_retention(name: str, raw: str) -> Retention:
    """``analytics=90,webhooks=30``: the kinds named are changed, the others keep defaults."""
    values: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        kind, _, days = part.partition("=")
        kind, days = kind.strip(), days.strip()
        if kind not in RETENTION_FLOORS or not (days.isdecimal() and len(days) <= 6):
            raise ConfigurationError(
                f"{name} must look like analytics=90,webhooks=30 (days; kinds: "
                f"{', '.join(RETENTION_FLOORS)}), got {raw!r}"
            )
        values[kind] = int(days)
    return Retention(**values)


def retention_text(retention: Retention) -> str:
    return ",".join(f"{kind}={getattr(retention, kind)}" for kind in RETENTION_FLOORS)


def retention_floors(retention: Retention, settings: Settings) -> str | None:
    short = [
        f"{kind} at least {floor}"
        for kind, floor in RETENTION_FLOORS.items()
        if getattr(retention, kind) < floor
    ]
    return f"BUYBUTTON_RETENTION_DAYS keeps too little: {', '.join(short)}" if short else None


# -- mail ---------------------------------------------------------------------------------------

SMTP_SCHEMES = ("smtp", "smtps")


def redact_url(url: str) -> str:
    """``url`` without its password (``smtp://user:***@host:587``), for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def smtp_url(url: str, settings: Settings) -> str | None:
    """Unset (folder or outbox only), or ``smtp://[user:pass@]host[:port]`` / ``smtps://``."""
    if not url:
        return None
    example = "write smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return f"BUYBUTTON_SMTP_URL is not a URL ({redact_url(url)!r}); {example}"
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        return f"BUYBUTTON_SMTP_URL must be smtp:// or smtps:// with a host; {example}"
    if (parts.username is None) != (parts.password is None):
        return "BUYBUTTON_SMTP_URL needs both a user and a password, or neither"
    return None


def mail_address(address: str, settings: Settings) -> str | None:
    """``BUYBUTTON_MAIL_FROM``, when set, is ``Name <address>`` or a bare address."""
    if not address or "@" in parseaddr(address)[1]:
        return None
    return (
        f"BUYBUTTON_MAIL_FROM must be an address such as 'Shop <shop@example.com>', got {address!r}"
    )


# The return window (docs/returns.md): counted from fulfilment, or from payment if unfulfilled.
RETURN_WINDOW = variable(
    "BUYBUTTON_RETURN_WINDOW_DAYS",
    parse_count,
    "days a shopper may ask for a return, from fulfilment (from payment if unfulfilled)",
)
