"""The webhook SSRF guard: IPv4 addresses hidden inside IPv6 ones (NAT64, 6to4,
IPv4-compatible, IPv4-mapped) and ports outside the allowed list are refused."""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.errors import ConfigurationError
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.outbox import (
    Sender,
    UnsafeDestination,
    check_url,
    embedded_ipv4,
    is_public,
    public_address,
)
from buybutton_server.domain.outbox import destinations as destinations_module
from buybutton_server.payments.test_provider import TestPaymentProvider

HIDDEN_PRIVATE = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    "::ffff:10.0.0.1",  # IPv4-mapped
]


@pytest.mark.parametrize("address", HIDDEN_PRIVATE)
def test_an_ipv4_address_inside_an_ipv6_one_is_judged_by_itself(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(UnsafeDestination, match="non-public"):
        public_address(address, 443, allow_private=False)
    with pytest.raises(UnsafeDestination):
        Sender().post(f"https://[{address}]/hook", {}, b"{}")


@pytest.mark.parametrize(
    ("address", "inner"),
    [("64:ff9b::808:808", "8.8.8.8"), ("2002:808:808::1", "8.8.8.8"), ("::808:808", "8.8.8.8")],
)
def test_public_addresses_inside_ipv6_stay_allowed(address: str, inner: str) -> None:
    import ipaddress

    assert str(embedded_ipv4(ipaddress.IPv6Address(address))) == inner
    assert is_public(address)
    assert (
        is_public("2606:4700:4700::1111")
        and embedded_ipv4(ipaddress.IPv6Address("2606:4700:4700::1111")) is None
    )


def test_a_name_resolving_to_nat64_of_the_metadata_service_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", port, 0, 0))]

    monkeypatch.setattr(destinations_module.socket, "getaddrinfo", resolve)
    with pytest.raises(UnsafeDestination, match="non-public"):
        Sender().post("https://hooks.example.com/hook", {}, b"{}")


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com:22/", "https://hooks.example.com:8080/"]
)
def test_ports_other_than_443_and_8443_are_refused(url: str) -> None:
    with pytest.raises(UnsafeDestination, match="port 443 or 8443"):
        check_url(url, allow_private=False)
    with pytest.raises(UnsafeDestination, match="port"):
        Sender().post(url, {}, b"{}")
    check_url("https://hooks.example.com:8443/", allow_private=False)
    check_url("https://hooks.example.com/", allow_private=False)
    check_url(url, allow_private=False, ports=(443, 22, 8080))


def test_the_allowed_ports_are_a_setting() -> None:
    assert Settings.from_env({}).webhook_ports == (443, 8443)
    assert Settings.from_env({"BUYBUTTON_WEBHOOK_PORTS": "443, 9443"}).webhook_ports == (443, 9443)
    for raw in ("", "https", "0", "70000", "443,x"):
        with pytest.raises(ConfigurationError, match="BUYBUTTON_WEBHOOK_PORTS"):
            Settings.from_env({"BUYBUTTON_WEBHOOK_PORTS": raw or ","})


@pytest.mark.parametrize(
    ("url", "ports", "status"),
    [
        ("https://8.8.8.8:9443/hook", (443, 8443), 422),
        ("https://8.8.8.8:9443/hook", (443, 9443), 201),
        ("https://[64:ff9b::7f00:1]/hook", (443, 8443), 422),
        ("https://[2002:a9fe:a9fe::1]/hook", (443, 8443), 422),
    ],
)
def test_production_checks_ports_and_hidden_addresses_when_an_endpoint_is_created(
    settings: Settings,
    sessions: sessionmaker[Session],
    url: str,
    ports: tuple[int, ...],
    status: int,
) -> None:
    production = replace(
        settings,
        environment="production",
        base_url="https://shop.test",
        secret_keys=("k9#Qv2!xLm7@Rt4$Wz8%Bn3^Hy6&Jp1*",),
        payment_provider="stripe",
        stripe_secret_key="sk_test_unused",
        stripe_publishable_key="pk_test_unused",
        stripe_webhook_secret="whsec_unused",
        webhook_ports=ports,
    )
    with write_session(sessions) as session:
        key = create_key(session, "write")[1]
    app = create_app(production, payments=TestPaymentProvider())
    with TestClient(app, base_url="https://shop.test") as client:
        answer = client.post(
            "/api/v1/webhook-endpoints",
            json={"url": url},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == status, answer.text
    if status == 422:
        assert "url refused" in answer.json()["error"]["message"]
