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
    # How often the webhook worker looks for due deliveries.
    webhook_seconds: float = 1
    # How often buffered impressions and clicks are written.
    flush_seconds: float = 1
    stripe_secret_key: str = field(default="", repr=False)
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # Proxies whose X-Forwarded-For / -Proto we believe (comma-separated IPs or networks).
    forwarded_allow_ips: str = "127.0.0.1"
    # Payment attempts allowed per window, as (count, seconds); None switches a limit off.
    # Per IP stops card testing from one place; per link stops it from many through one link
    # (set that one high enough for a flash sale, where many buyers share a link).
    # The merchant's own sites: the only origins that may frame the embedded checkout, and
    # the only places a "back to the post" link may lead.
    allowed_origins: tuple[str, ...] = ()
    rate_limit_pay_ip: tuple[int, int] | None = (10, 60)
    rate_limit_pay_link: tuple[int, int] | None = (600, 60)

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
        for origin in self.allowed_origins:
            if not is_origin(origin):
                raise ConfigurationError(
                    "BUYBUTTON_ALLOWED_ORIGINS must list origins such as https://blog.example, "
                    f"got {origin!r}"
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
        if "BUYBUTTON_ALLOWED_ORIGINS" in env:
            values["allowed_origins"] = tuple(
                o.strip().rstrip("/")
                for o in env["BUYBUTTON_ALLOWED_ORIGINS"].split(",")
                if o.strip()
            )
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
            ("BUYBUTTON_FORWARDED_ALLOW_IPS", "forwarded_allow_ips"),
        ):
            if env.get(name, "").strip():
                values[attr] = env[name].strip()
        for name, attr in (
            ("BUYBUTTON_PORT", "port"),
            ("BUYBUTTON_RESERVATION_SECONDS", "reservation_seconds"),
        ):
            if env.get(name, "").strip():
                values[attr] = _integer(name, env[name])
        if env.get("BUYBUTTON_WEBHOOK_SECONDS", "").strip():
            values["webhook_seconds"] = _positive_number(
                "BUYBUTTON_WEBHOOK_SECONDS", env["BUYBUTTON_WEBHOOK_SECONDS"]
            )
        if env.get("BUYBUTTON_SWEEP_SECONDS", "").strip():
            values["sweep_seconds"] = _positive_number(
                "BUYBUTTON_SWEEP_SECONDS", env["BUYBUTTON_SWEEP_SECONDS"]
            )
        for name, attr in (
            ("BUYBUTTON_RATE_LIMIT_PAY_IP", "rate_limit_pay_ip"),
            ("BUYBUTTON_RATE_LIMIT_PAY_LINK", "rate_limit_pay_link"),
        ):
            if env.get(name, "").strip():
                values[attr] = _rate(name, env[name])
        if "base_url" in values:
            values["base_url"] = str(values["base_url"]).rstrip("/")
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def as_environment(self) -> dict[str, str]:
        """These settings as ``BUYBUTTON_*`` variables, for worker processes to read back."""
        values = {
            "BUYBUTTON_ENV": self.environment,
            "BUYBUTTON_SECRET_KEYS": ",".join(self.secret_keys),
            "BUYBUTTON_DATABASE_URL": self.database_url,
            "BUYBUTTON_BASE_URL": self.base_url,
            "BUYBUTTON_PAYMENT_PROVIDER": self.payment_provider,
            "BUYBUTTON_HOST": self.host,
            "BUYBUTTON_PORT": str(self.port),
            "BUYBUTTON_RESERVATION_SECONDS": str(self.reservation_seconds),
            "BUYBUTTON_SWEEP_SECONDS": str(self.sweep_seconds),
            "BUYBUTTON_WEBHOOK_SECONDS": str(self.webhook_seconds),
            "BUYBUTTON_STRIPE_SECRET_KEY": self.stripe_secret_key,
            "BUYBUTTON_STRIPE_PUBLISHABLE_KEY": self.stripe_publishable_key,
            "BUYBUTTON_STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
            "BUYBUTTON_STRIPE_API_BASE": self.stripe_api_base,
            "BUYBUTTON_STRIPE_JS_URL": self.stripe_js_url,
            "BUYBUTTON_FORWARDED_ALLOW_IPS": self.forwarded_allow_ips,
            "BUYBUTTON_ALLOWED_ORIGINS": ",".join(self.allowed_origins),
            "BUYBUTTON_RATE_LIMIT_PAY_IP": _rate_text(self.rate_limit_pay_ip),
            "BUYBUTTON_RATE_LIMIT_PAY_LINK": _rate_text(self.rate_limit_pay_link),
        }
        return {k: v for k, v in values.items() if v}


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


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _positive_number(name: str, raw: str) -> float:
    try:
        number = float(raw.strip())
    except ValueError:
        number = -1
    if number <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {raw!r}")
    return number


def _rate(name: str, raw: str) -> tuple[int, int] | None:
    text = raw.strip().lower()
    if text == "off":
        return None
    count, _, seconds = text.partition("/")
    if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
        raise ConfigurationError(
            f"{name} must look like 10/60 (10 per 60 seconds) or off, got {raw!r}"
        )
    return int(count), int(seconds)


def _rate_text(rate: tuple[int, int] | None) -> str:
    return "off" if rate is None else f"{rate[0]}/{rate[1]}"
