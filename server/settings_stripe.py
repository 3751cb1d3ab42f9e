"""The Stripe settings' declarations (their fields are in :class:`~.settings.Settings`)."""

from __future__ import annotations

from buybutton.errors import ConfigurationError
from buybutton_server.settings_rules import (
    https_urls,
    parse_text,
    stripe_key,
    stripe_url,
    variable,
)

_YES, _NO = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def parse_flag(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in _YES or word in _NO:
        return word in _YES
    raise ConfigurationError(f"{name} must be 1 or 0, got {raw!r}")


def dump_flag(value: bool) -> str:
    return "1" if value else ""


STRIPE_SECRET_KEY = variable(
    "BUYBUTTON_STRIPE_SECRET_KEY",
    parse_text,
    "`sk_…` or `rk_…`; required with `stripe`",
    check=stripe_key("BUYBUTTON_STRIPE_SECRET_KEY", ("sk_", "rk_")),
)

STRIPE_PUBLISHABLE_KEY = variable(
    "BUYBUTTON_STRIPE_PUBLISHABLE_KEY",
    parse_text,
    "`pk_…`; required with `stripe`",
    check=stripe_key("BUYBUTTON_STRIPE_PUBLISHABLE_KEY", ("pk_",)),
)

STRIPE_WEBHOOK_SECRET = variable(
    "BUYBUTTON_STRIPE_WEBHOOK_SECRET",
    parse_text,
    "`whsec_…` of the webhook endpoint; required with `stripe`",
    check=stripe_key("BUYBUTTON_STRIPE_WEBHOOK_SECRET", ("whsec_",)),
)

STRIPE_API_BASE = variable(
    "BUYBUTTON_STRIPE_API_BASE",
    parse_text,
    "another API origin (tests point it at localstripe)",
    default_doc="Stripe's",
    check=stripe_url("BUYBUTTON_STRIPE_API_BASE"),
    production=https_urls("BUYBUTTON_STRIPE_API_BASE"),
    production_doc=("`BUYBUTTON_STRIPE_API_BASE` is set and not `https://`",),
)

STRIPE_JS_URL = variable(
    "BUYBUTTON_STRIPE_JS_URL",
    parse_text,
    "where the checkout loads Stripe.js from",
    check=stripe_url("BUYBUTTON_STRIPE_JS_URL"),
    production=https_urls("BUYBUTTON_STRIPE_JS_URL"),
    production_doc=("`BUYBUTTON_STRIPE_JS_URL` is not `https://`",),
)

STRIPE_CONNECT = variable(
    "BUYBUTTON_STRIPE_CONNECT",
    parse_flag,
    "`1`: pay sellers and creators through Stripe Connect (docs/commissions.md)",
    dump=dump_flag,
)
STRIPE_CONNECT_WEBHOOK_SECRET = variable(
    "BUYBUTTON_STRIPE_CONNECT_WEBHOOK_SECRET",
    parse_text,
    "`whsec_…` of the Connect webhook endpoint (`account.updated` from connected accounts)",
    check=lambda value, settings: (
        "BUYBUTTON_STRIPE_CONNECT_WEBHOOK_SECRET must start with whsec_"
        if value and not value.startswith("whsec_")
        else None
    ),
)
