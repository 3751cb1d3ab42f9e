"""Settings: defaults for development, refusals for production."""

from __future__ import annotations

import pytest

from buybutton.errors import ConfigurationError
from buybutton_server.settings import DEV_SECRET_KEY, Settings

STRONG = "s" * 48


def test_development_defaults_need_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.payment_provider == "test"
    assert settings.secret_keys == (DEV_SECRET_KEY,)


def test_keys_are_a_comma_separated_list_newest_last() -> None:
    old, new = "o" * 16 + "ld-key-0123456789", "n" * 16 + "ew-key-0123456789"
    settings = Settings.from_env({"BUYBUTTON_SECRET_KEYS": f" {old} , {new} "})
    assert settings.secret_keys == (old, new)


def test_a_short_key_is_refused_in_development_too() -> None:
    """The SDK signs with no key under 32 bytes; a development server started with one
    used to start and then answer 500 on the admin's first signed link."""
    with pytest.raises(ConfigurationError, match="each key must be at least 32 bytes"):
        Settings.from_env({"BUYBUTTON_SECRET_KEYS": "abc123"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "holds the development key"),
        ({"BUYBUTTON_SECRET_KEYS": "short"}, "at least 32"),
        ({"BUYBUTTON_SECRET_KEYS": f"{STRONG},{DEV_SECRET_KEY}"}, "holds the development key"),
        (
            {"BUYBUTTON_SECRET_KEYS": STRONG, "BUYBUTTON_BASE_URL": "http://shop.example"},
            "must use https",
        ),
        ({"BUYBUTTON_SECRET_KEYS": STRONG}, "takes no money"),
    ],
)
def test_production_refuses_unsafe_settings(env: dict[str, str], message: str) -> None:
    env = {"BUYBUTTON_ENV": "production", "BUYBUTTON_BASE_URL": "https://shop.example", **env}
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env)


def test_secret_values_stay_out_of_repr() -> None:
    settings = Settings.from_env({"BUYBUTTON_SECRET_KEYS": STRONG})
    assert STRONG not in repr(settings)


@pytest.mark.parametrize(
    "origin",
    ["blog.example", "https://blog.example/path", "ftp://x.example", "https://user@blog.example"],
)
def test_allowed_origins_must_be_origins(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="BUYBUTTON_ALLOWED_ORIGINS must list origins"):
        Settings.from_env({"BUYBUTTON_ALLOWED_ORIGINS": origin})


def test_allowed_origins_parse() -> None:
    settings = Settings.from_env(
        {"BUYBUTTON_ALLOWED_ORIGINS": "https://a.example/, http://b.test:8001"}
    )
    assert settings.allowed_origins == ("https://a.example", "http://b.test:8001")
