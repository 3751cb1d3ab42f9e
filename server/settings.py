"""Settings, read once from ``BUYBUTTON_*`` environment variables.

Every problem is reported as one :class:`ConfigurationError` line that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from buybutton.errors import ConfigurationError

# Lets the demo run with no setup; production mode refuses to start with it.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105
ENVIRONMENTS = ("development", "production")
PAYMENT_PROVIDERS = ("test", "stripe")


@dataclass(frozen=True, kw_only=True)
class Settings:
    environment: str = "development"
    secret_keys: tuple[str, ...] = field(default=(DEV_SECRET_KEY,), repr=False)
    database_url: str = "sqlite:///buybutton.sqlite3"
    base_url: str = "http://127.0.0.1:8000"
    payment_provider: str = "test"
    host: str = "127.0.0.1"
    port: int = 8000
    # Seconds a checkout holds stock while its payment is under way.
    reservation_seconds: int = 900
    # Seconds between sweeps that release reservations whose time ran out.
    sweep_seconds: float = 60
    stripe_secret_key: str = field(default="", repr=False)
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"

    def __post_init__(self) -> None:
        self.validate()

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    def validate(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"BUYBUTTON_ENV must be one of {', '.join(ENVIRONMENTS)}, got {self.environment!r}"
            )
        if not self.secret_keys:
            raise ConfigurationError("BUYBUTTON_SECRET_KEYS must list at least one key")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigurationError(
                f"BUYBUTTON_BASE_URL must be an origin such as https://shop.example, "
                f"got {self.base_url!r}"
            )
        if self.payment_provider not in PAYMENT_PROVIDERS:
            raise ConfigurationError(
                f"BUYBUTTON_PAYMENT_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}, "
                f"got {self.payment_provider!r}"
            )
        if self.payment_provider == "stripe":
            for name, value in (
                ("BUYBUTTON_STRIPE_SECRET_KEY", self.stripe_secret_key),
                ("BUYBUTTON_STRIPE_PUBLISHABLE_KEY", self.stripe_publishable_key),
                ("BUYBUTTON_STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
            ):
                if not value:
                    raise ConfigurationError(
                        f"{name} is required when BUYBUTTON_PAYMENT_PROVIDER=stripe"
                    )
            if not self.stripe_secret_key.startswith(("sk_", "rk_")):
                raise ConfigurationError("BUYBUTTON_STRIPE_SECRET_KEY must start with sk_ or rk_")
            if not self.stripe_publishable_key.startswith("pk_"):
                raise ConfigurationError("BUYBUTTON_STRIPE_PUBLISHABLE_KEY must start with pk_")
            if not self.stripe_webhook_secret.startswith("whsec_"):
                raise ConfigurationError("BUYBUTTON_STRIPE_WEBHOOK_SECRET must start with whsec_")
            for name, url in (
                ("BUYBUTTON_STRIPE_API_BASE", self.stripe_api_base),
                ("BUYBUTTON_STRIPE_JS_URL", self.stripe_js_url),
            ):
                if url and urlsplit(url).scheme not in ("http", "https"):
                    raise ConfigurationError(f"{name} must be an http(s) URL, got {url!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"BUYBUTTON_PORT must be 0-65535, got {self.port}")
        if self.production:
            if DEV_SECRET_KEY in self.secret_keys:
                raise ConfigurationError(
                    "BUYBUTTON_SECRET_KEYS holds the development key; production needs its own"
                )
            if any(len(k) < 32 for k in self.secret_keys):
                raise ConfigurationError(
                    "BUYBUTTON_SECRET_KEYS: every key must be at least 32 characters in production"
                )
            if parts.scheme != "https":
                raise ConfigurationError("BUYBUTTON_BASE_URL must use https in production")
            if self.payment_provider == "test":
                raise ConfigurationError(
                    "BUYBUTTON_PAYMENT_PROVIDER=test takes no money; choose a real provider "
                    "in production"
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if "BUYBUTTON_ENV" in env:
            values["environment"] = env["BUYBUTTON_ENV"].strip().lower()
        if "BUYBUTTON_SECRET_KEYS" in env:
            values["secret_keys"] = tuple(
                k.strip() for k in env["BUYBUTTON_SECRET_KEYS"].split(",") if k.strip()
            )
        for name, attr in (
            ("BUYBUTTON_DATABASE_URL", "database_url"),
            ("BUYBUTTON_BASE_URL", "base_url"),
            ("BUYBUTTON_PAYMENT_PROVIDER", "payment_provider"),
            ("BUYBUTTON_HOST", "host"),
            ("BUYBUTTON_STRIPE_SECRET_KEY", "stripe_secret_key"),
            ("BUYBUTTON_STRIPE_PUBLISHABLE_KEY", "stripe_publishable_key"),
            ("BUYBUTTON_STRIPE_WEBHOOK_SECRET", "stripe_webhook_secret"),
            ("BUYBUTTON_STRIPE_API_BASE", "stripe_api_base"),
            ("BUYBUTTON_STRIPE_JS_URL", "stripe_js_url"),
        ):
            if env.get(name, "").strip():
                values[attr] = env[name].strip()
        for name, attr in (
            ("BUYBUTTON_PORT", "port"),
            ("BUYBUTTON_RESERVATION_SECONDS", "reservation_seconds"),
            ("BUYBUTTON_SWEEP_SECONDS", "sweep_seconds"),
        ):
            if env.get(name, "").strip():
                values[attr] = _integer(name, env[name])
        if "base_url" in values:
            values["base_url"] = str(values["base_url"]).rstrip("/")
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
