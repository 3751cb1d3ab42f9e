"""The settings table: one declaration per variable, from which reading, writing back and the
documentation are derived."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from buybutton.errors import ConfigurationError
from buybutton_server.settings import VARIABLES, Settings, replace_doc_section

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
STRONG = "k9#Qv2!xLm7@Rt4$Wz8%Bn3^Hy6&Jp1*Ab"  # a production-grade key
OTHER = "Zr5!pQ8@wE2#tY7$uI4%oP1^aS6&dF3*Gh"


def test_the_configuration_doc_matches_the_table() -> None:
    written = DOC.read_text(encoding="utf-8")
    assert replace_doc_section(written) == written, (
        "docs/configuration.md has drifted from server/settings.py; regenerate it with "
        "python -c 'from buybutton_server.settings import write_doc; write_doc()'"
    )


def test_every_variable_is_documented_once() -> None:
    names = [var.name for _, var in VARIABLES]
    assert len(names) == len(set(names))
    written = DOC.read_text(encoding="utf-8")
    for name in names:
        assert f"| `{name}` |" in written
    assert {attr for attr, _ in VARIABLES} == {f.name for f in fields(Settings)} - {"flush_seconds"}


def test_defaults_survive_the_round_trip() -> None:
    """Each default, written as text and parsed back, is itself: parser and writer agree."""
    defaults = Settings()
    for attr, var in VARIABLES:
        text = var.dump(getattr(defaults, attr))
        if text or not var.blank_is_unset:
            assert var.parse(var.name, text) == getattr(defaults, attr), var.name


def test_the_environment_dump_reads_back_the_same() -> None:
    settings = Settings.from_env(
        {
            "BUYBUTTON_ENV": "production",
            "BUYBUTTON_SECRET_KEYS": f"{OTHER},{STRONG}",
            "BUYBUTTON_BASE_URL": "https://shop.example/",
            "BUYBUTTON_PAYMENT_PROVIDER": "stripe",
            "BUYBUTTON_STRIPE_SECRET_KEY": "sk_test_1",
            "BUYBUTTON_STRIPE_PUBLISHABLE_KEY": "pk_test_1",
            "BUYBUTTON_STRIPE_WEBHOOK_SECRET": "whsec_1",
            "BUYBUTTON_PORT": "9001",
            "BUYBUTTON_SWEEP_SECONDS": "2.5",
            "BUYBUTTON_ALLOWED_ORIGINS": "https://blog.example",
            "BUYBUTTON_RATE_LIMIT_PAY_IP": "off",
            "BUYBUTTON_RATE_LIMIT_PAY_LINK": "5/10",
        }
    )
    environment = settings.as_environment()
    assert environment["BUYBUTTON_BASE_URL"] == "https://shop.example"
    assert environment["BUYBUTTON_RATE_LIMIT_PAY_IP"] == "off"
    assert Settings.from_env(environment) == settings


def test_empty_values_are_left_out_of_the_dump() -> None:
    environment = Settings().as_environment()
    assert "BUYBUTTON_ALLOWED_ORIGINS" not in environment
    assert "BUYBUTTON_STRIPE_SECRET_KEY" not in environment
    assert environment["BUYBUTTON_PORT"] == "8000"


def test_blank_values_mean_unset_except_where_they_say_something() -> None:
    assert Settings.from_env({"BUYBUTTON_PORT": "  "}).port == 8000
    with pytest.raises(ConfigurationError, match="must list at least one key"):
        Settings.from_env({"BUYBUTTON_SECRET_KEYS": " , "})
    with pytest.raises(ConfigurationError, match="BUYBUTTON_ENV must be one of"):
        Settings.from_env({"BUYBUTTON_ENV": ""})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {
                "BUYBUTTON_ENV": "production",
                "BUYBUTTON_BASE_URL": "http://shop.example",
                "BUYBUTTON_PORT": "eighty",
                "BUYBUTTON_WEBHOOK_SECONDS": "0",
            }
        )
    message = str(caught.value)
    assert "\n" not in message
    for part in (
        "BUYBUTTON_PORT must be a whole number, got 'eighty'",
        "BUYBUTTON_WEBHOOK_SECONDS must be a positive number of seconds",
        "BUYBUTTON_SECRET_KEYS holds the development key",
        "BUYBUTTON_BASE_URL must use https in production",
        "BUYBUTTON_PAYMENT_PROVIDER=test takes no money",
    ):
        assert part in message


def test_a_missing_stripe_key_is_not_also_called_malformed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"BUYBUTTON_PAYMENT_PROVIDER": "stripe"})
    message = str(caught.value)
    assert "BUYBUTTON_STRIPE_SECRET_KEY is required" in message
    assert "must start with" not in message


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"BUYBUTTON_PORT": "9000"}, port=9100)
    assert settings.port == 9100
