"""Settings, read once from ``BUYBUTTON_*`` environment variables.

Each setting is declared once, as a field of :class:`Settings` whose metadata is a
:class:`Variable`: its environment name, parser, one line of documentation, and the rules
its value must follow (always, and in production). :meth:`Settings.from_env`,
:meth:`Settings.as_environment` (what worker processes read back) and the table in
docs/configuration.md (:func:`markdown`) are all derived from those fields.

Every problem found is reported in one :class:`ConfigurationError` whose message names each
variable, problems separated by ``"; "``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, cast
from urllib.parse import urlsplit

from buybutton.errors import ConfigurationError
from buybutton_server import settings_doc
from buybutton_server import settings_stripe as stripe
from buybutton_server.settings_rules import (
    DEV_SECRET_KEY,
    ENVIRONMENTS,
    MIN_KEY_BITS,
    MIN_KEY_DISTINCT,
    MIN_PRODUCTION_KEY,
    PAYMENT_PROVIDERS,
    RETURN_WINDOW,
    VARIABLE_KEY,
    Retention,
    Variable,
    all_origins,
    an_origin,
    cap_text,
    https_only,
    https_origins,
    is_origin,
    joined,
    mail_address,
    named_proxies,
    no_dev_key,
    one_of,
    origin_of,
    parse_base_url,
    parse_cap,
    parse_connections,
    parse_count,
    parse_integer,
    parse_keys,
    parse_origins,
    parse_ports,
    parse_positive_number,
    parse_rate,
    parse_retention,
    parse_text,
    parse_word,
    port_range,
    ports_text,
    rate_text,
    real_provider,
    retention_floors,
    retention_text,
    smtp_url,
    some_keys,
    variable,
)

__all__ = ["DEV_SECRET_KEY", "VARIABLES", "Settings", "is_origin", "origin_of"]


# -- the settings -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Settings:
    environment: str = field(
        default="development",
        metadata=variable(
            "BUYBUTTON_ENV",
            parse_word,
            "`production` turns on the refusals below",
            blank_is_unset=False,
            check=one_of("BUYBUTTON_ENV", ENVIRONMENTS),
        ),
    )
    secret_keys: tuple[str, ...] = field(
        default=(DEV_SECRET_KEY,),
        repr=False,
        metadata=variable(
            "BUYBUTTON_SECRET_KEYS",
            parse_keys,
            "comma-separated signing keys, newest last",
            dump=joined,
            default_doc="a development key",
            blank_is_unset=False,
            check=some_keys,
            production=no_dev_key,
            production_doc=(
                "`BUYBUTTON_SECRET_KEYS` is unset or any key contains the development key",
                f"any key is shorter than {MIN_PRODUCTION_KEY} characters",
                f"any key looks typed rather than random (fewer than {MIN_KEY_DISTINCT} "
                f"distinct characters, under {MIN_KEY_BITS} bits of entropy in their spread, or "
                "a short pattern repeated)",
            ),
        ),
    )
    base_url: str = field(
        default="http://127.0.0.1:8000",
        metadata=variable(
            "BUYBUTTON_BASE_URL",
            parse_base_url,
            "the shop's public origin; links point here",
            check=an_origin,
            production=https_only,
            production_doc=("`BUYBUTTON_BASE_URL` is not `https://`",),
        ),
    )
    database_url: str = field(
        default="sqlite:///buybutton.sqlite3",
        metadata=variable(
            "BUYBUTTON_DATABASE_URL",
            parse_text,
            "any SQLAlchemy URL; PostgreSQL as `postgresql+psycopg://…`",
        ),
    )
    payment_provider: str = field(
        default="test",
        metadata=variable(
            "BUYBUTTON_PAYMENT_PROVIDER",
            parse_text,
            "`test` (built in, no money moves) or `stripe`",
            check=one_of("BUYBUTTON_PAYMENT_PROVIDER", PAYMENT_PROVIDERS),
            production=real_provider,
            production_doc=("the payment provider is `test`",),
        ),
    )
    host: str = field(
        default="127.0.0.1",
        metadata=variable(
            "BUYBUTTON_HOST",
            parse_text,
            "the address `buybutton serve` listens on; loopback only in development "
            "unless `--unsafe-public-dev`",
        ),
    )
    port: int = field(
        default=8000,
        metadata=variable(
            "BUYBUTTON_PORT",
            parse_integer,
            "the port `buybutton serve` listens on",
            check=port_range,
        ),
    )
    reservation_seconds: int = field(
        default=900,
        metadata=variable(
            "BUYBUTTON_RESERVATION_SECONDS",
            parse_integer,
            "how long a checkout holds stock while its payment runs",
        ),
    )
    action_hold_seconds: int = field(
        default=300,
        metadata=variable(
            "BUYBUTTON_ACTION_HOLD_SECONDS",
            parse_count,
            "how long stock stays held for a payment waiting on 3-D Secure",
        ),
    )
    pending_per_client: int | None = field(
        default=3,
        metadata=variable(
            "BUYBUTTON_PENDING_PER_CLIENT",
            parse_cap,
            "unfinished checkouts one client (an IP; IPv6 by /64) may hold stock with (or `off`)",
            dump=cap_text,
        ),
    )
    pending_per_link: int | None = field(
        default=50,
        metadata=variable(
            "BUYBUTTON_PENDING_PER_LINK",
            parse_cap,
            "unfinished checkouts one checkout link may hold stock with (or `off`)",
            dump=cap_text,
        ),
    )
    webhook_seconds: float = field(
        default=1,
        metadata=variable(
            "BUYBUTTON_WEBHOOK_SECONDS",
            parse_positive_number,
            "how often the server (or `buybutton worker`) sends due webhooks and emails",
        ),
    )
    smtp_url: str = field(
        default="",
        repr=False,
        metadata=variable(
            "BUYBUTTON_SMTP_URL",
            parse_text,
            "where emails go: `smtp://user:pass@host:587` (STARTTLS) or `smtps://…:465`; unset, "
            "development writes them to `BUYBUTTON_MAIL_DIR` and production keeps them queued",
            default_doc="unset",
            check=smtp_url,
        ),
    )
    mail_dir: str = field(
        default="",
        metadata=variable(
            "BUYBUTTON_MAIL_DIR",
            parse_text,
            "the folder emails are written to (`.eml`) when `BUYBUTTON_SMTP_URL` is unset in "
            "development",
            default_doc="`mail/` next to the SQLite database, else `./mail`",
        ),
    )
    mail_from: str = field(
        default="",
        metadata=variable(
            "BUYBUTTON_MAIL_FROM",
            parse_text,
            "the From of every email (`Shop <shop@example.com>`)",
            default_doc="the shop's name and support address (shop settings)",
            check=mail_address,
        ),
    )
    webhook_ports: tuple[int, ...] = field(
        default=(443, 8443),
        metadata=variable(
            "BUYBUTTON_WEBHOOK_PORTS",
            parse_ports,
            "the ports webhook URLs may use in production (comma-separated)",
            dump=ports_text,
        ),
    )
    sweep_seconds: float = field(
        default=60,
        metadata=variable(
            "BUYBUTTON_SWEEP_SECONDS",
            parse_positive_number,
            "how often the server releases reservations whose time ran out",
        ),
    )
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=variable(
            "BUYBUTTON_ALLOWED_ORIGINS",
            parse_origins,
            "the merchant's own sites, comma-separated origins: they may frame "
            '`/c/{token}?embed=1`, and only they get a "Back to …" link after paying',
            dump=joined,
            default_doc="none",
            blank_is_unset=False,
            check=all_origins,
            production=https_origins,
            production_doc=("an allowed origin is not `https://`",),
        ),
    )
    # Per IP stops card testing from one place; per link stops it from many through one link
    # (set that one high enough for a flash sale, where many buyers share a link).
    rate_limit_pay_ip: tuple[int, int] | None = field(
        default=(10, 60),
        metadata=variable(
            "BUYBUTTON_RATE_LIMIT_PAY_IP",
            parse_rate,
            "payment attempts per IP per window (`count/seconds`, or `off`)",
            dump=rate_text,
        ),
    )
    rate_limit_pay_link: tuple[int, int] | None = field(
        default=(600, 60),
        metadata=variable(
            "BUYBUTTON_RATE_LIMIT_PAY_LINK",
            parse_rate,
            "payment attempts per checkout link per window (`count/seconds`, or `off`)",
            dump=rate_text,
        ),
    )
    forwarded_allow_ips: str = field(
        default="127.0.0.1",
        metadata=variable(
            "BUYBUTTON_FORWARDED_ALLOW_IPS",
            parse_text,
            "proxies whose `X-Forwarded-*` headers are believed (comma-separated IPs or networks)",
            production=named_proxies,
            production_doc=("`BUYBUTTON_FORWARDED_ALLOW_IPS` is `*`",),
        ),
    )
    max_connections: int = field(
        default=1000,
        metadata=variable(
            "BUYBUTTON_MAX_CONNECTIONS",
            parse_connections,
            "connections and requests one server process takes at once; more get 503",
        ),
    )
    stripe_secret_key: str = field(default="", repr=False, metadata=stripe.STRIPE_SECRET_KEY)
    stripe_publishable_key: str = field(default="", metadata=stripe.STRIPE_PUBLISHABLE_KEY)
    stripe_webhook_secret: str = field(
        default="", repr=False, metadata=stripe.STRIPE_WEBHOOK_SECRET
    )
    stripe_api_base: str = field(default="", metadata=stripe.STRIPE_API_BASE)
    stripe_js_url: str = field(default="https://js.stripe.com/v3/", metadata=stripe.STRIPE_JS_URL)
    stripe_connect: bool = field(default=False, metadata=stripe.STRIPE_CONNECT)
    stripe_connect_webhook_secret: str = field(
        default="", repr=False, metadata=stripe.STRIPE_CONNECT_WEBHOOK_SECRET
    )
    retention: Retention = field(
        default=Retention(),
        metadata=variable(
            "BUYBUTTON_RETENTION_DAYS",
            parse_retention,
            "days kept: raw analytics events (then report totals), the totals, finished webhook "
            "events, provider events, idempotency answers, unpaid orders' data (then erased)",
            dump=retention_text,
            check=retention_floors,
        ),
    )
    return_window_days: int = field(default=30, metadata=RETURN_WINDOW)
    # How often buffered impressions and clicks are written (not read from the environment).
    flush_seconds: float = 1

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ConfigurationError("; ".join(problems))

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    def problems(self) -> list[str]:
        """Every rule these settings break, as sentences that name the variable."""
        found = []
        for attr, var in VARIABLES:
            if var.check is not None:
                found.append(var.check(getattr(self, attr), self))
        if self.production:
            for attr, var in VARIABLES:
                if var.production is not None:
                    found.append(var.production(getattr(self, attr)))
        return [problem for problem in found if problem]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); ``overrides`` win over it."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for attr, var in VARIABLES:
            raw = env.get(var.name)
            if raw is None or (var.blank_is_unset and not raw.strip()):
                continue
            try:
                values[attr] = var.parse(var.name, raw)
            except ConfigurationError as error:
                problems.append(str(error))
        values.update(overrides)
        if not problems:
            return cls(**values)
        try:
            cls(**values)
        except ConfigurationError as error:
            problems.append(str(error))
        raise ConfigurationError("; ".join(problems))

    def as_environment(self) -> dict[str, str]:
        """These settings as ``BUYBUTTON_*`` variables, for worker processes to read back."""
        values = {var.name: var.dump(getattr(self, attr)) for attr, var in VARIABLES}
        return {name: text for name, text in values.items() if text}


VARIABLES: tuple[tuple[str, Variable[Any]], ...] = tuple(
    (f.name, cast(Variable[Any], f.metadata[VARIABLE_KEY]))
    for f in fields(Settings)
    if VARIABLE_KEY in f.metadata
)


# -- documentation (server/settings_doc.py) ----------------------------------------------------


def markdown() -> str:
    """The generated part of docs/configuration.md: every variable, then the refusals."""
    defaults = {f.name: f.default for f in fields(Settings)}
    return settings_doc.markdown(VARIABLES, defaults)


def replace_doc_section(document: str) -> str:
    """``document`` with its generated section replaced by :func:`markdown`."""
    return settings_doc.replace_section(document, markdown())


def write_doc(path: str = "docs/configuration.md") -> None:
    """Regenerate the settings section of docs/configuration.md in place."""
    settings_doc.write(path, markdown())
