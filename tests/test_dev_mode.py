"""Development mode stays on loopback; production refuses weak settings, all reported at once."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from buybutton.errors import ConfigurationError
from buybutton_server.runner import check_binding, is_loopback
from buybutton_server.settings import DEV_SECRET_KEY, Settings
from tests.live_server import free_port

STRONG = "k9#Qv2!xLm7@Rt4$Wz8%Bn3^Hy6&Jp1*Ab"
PRODUCTION = {
    "BUYBUTTON_ENV": "production",
    "BUYBUTTON_SECRET_KEYS": STRONG,
    "BUYBUTTON_BASE_URL": "https://shop.example",
    "BUYBUTTON_PAYMENT_PROVIDER": "stripe",
    "BUYBUTTON_STRIPE_SECRET_KEY": "sk_live_x",
    "BUYBUTTON_STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "BUYBUTTON_STRIPE_WEBHOOK_SECRET": "whsec_x",
}


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "buybutton.cli", "serve", *args],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("BUYBUTTON_")},
            "BUYBUTTON_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("how", [("--host", "0.0.0.0"), ()])
def test_development_mode_refuses_a_public_address(tmp_path: Path, how: tuple[str, ...]) -> None:
    env = {} if how else {"BUYBUTTON_HOST": "0.0.0.0"}
    process = _serve(tmp_path, *how, "--port", str(free_port()), **env)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError("a development server started on 0.0.0.0:\n" + output) from None
    assert process.returncode == 2
    assert "BUYBUTTON_HOST=0.0.0.0 is not a loopback address" in output
    assert "--unsafe-public-dev" in output
    assert not (tmp_path / "shop.sqlite3").exists()  # refused before migrating anything


def test_the_unsafe_flag_serves_publicly_and_says_so_loudly(tmp_path: Path) -> None:
    process = _serve(
        tmp_path, "--host", "0.0.0.0", "--port", str(free_port()), "--unsafe-public-dev"
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Uvicorn running" in line:
                break
    finally:
        process.terminate()
        process.communicate(timeout=15)
    output = "".join(lines)
    assert "Uvicorn running on http://0.0.0.0" in output
    assert "UNSAFE: serving DEVELOPMENT mode on 0.0.0.0" in output


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_is_fine_in_development(host: str) -> None:
    assert is_loopback(host)
    check_binding(Settings(host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "shop.example", ""])
def test_anything_else_needs_production_or_the_flag(host: str) -> None:
    with pytest.raises(ConfigurationError, match="not a loopback address"):
        check_binding(Settings(host=host))
    check_binding(Settings(host=host), unsafe_public_dev=True)
    check_binding(Settings.from_env({**PRODUCTION, "BUYBUTTON_HOST": host or "0.0.0.0"}))


def test_production_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {
                **PRODUCTION,
                "BUYBUTTON_SECRET_KEYS": "x" * 32,
                "BUYBUTTON_STRIPE_JS_URL": "http://js.stripe.example/v3/",
                "BUYBUTTON_STRIPE_API_BASE": "http://api.stripe.example",
                "BUYBUTTON_FORWARDED_ALLOW_IPS": "*",
                "BUYBUTTON_ALLOWED_ORIGINS": "https://blog.example,http://old.example",
            }
        )
    message = str(caught.value)
    assert "\n" not in message
    for part in (
        "BUYBUTTON_SECRET_KEYS: a key looks typed, not random",
        "BUYBUTTON_STRIPE_JS_URL must use https in production",
        "BUYBUTTON_STRIPE_API_BASE must use https in production",
        "BUYBUTTON_FORWARDED_ALLOW_IPS='*'",
        "BUYBUTTON_ALLOWED_ORIGINS must be https in production, got http://old.example",
    ):
        assert part in message, part
    assert "https://blog.example" not in message


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("x" * 32, "looks typed"),
        ("ab" * 24, "looks typed"),
        ("0123456789abcdef" * 2, "looks typed"),
        ("abcdefgh" * 4, "looks typed"),
        (DEV_SECRET_KEY + "-but-longer-now-honest", "holds the development key"),
        ("v2-" + DEV_SECRET_KEY + "-rotated", "holds the development key"),
    ],
)
def test_production_refuses_weak_keys(key: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**PRODUCTION, "BUYBUTTON_SECRET_KEYS": f"{STRONG},{key}"})


def test_production_takes_generated_keys() -> None:
    for _ in range(300):
        for key in (secrets.token_hex(16), secrets.token_urlsafe(32)):
            Settings.from_env({**PRODUCTION, "BUYBUTTON_SECRET_KEYS": key})


def test_an_https_stripe_and_named_proxies_are_fine() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "BUYBUTTON_STRIPE_API_BASE": "https://stripe-proxy.example",
            "BUYBUTTON_FORWARDED_ALLOW_IPS": "10.0.0.1,10.0.0.2",
            "BUYBUTTON_ALLOWED_ORIGINS": "https://blog.example",
        }
    )
    assert settings.production
