"""Where webhooks may go: the guard against server-side request forgery.

A destination is checked twice: its URL when the endpoint is created (:func:`check_url`)
and its resolved address at every connection (:func:`public_address`), which is also the
address connected to, so a DNS answer cannot change in between.

An IPv6 address can carry an IPv4 one: NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``),
IPv4-compatible (``::a.b.c.d``), IPv4-mapped (``::ffff:a.b.c.d``) and Teredo. Python's
``is_global`` judges such an address by its IPv6 prefix only (``64:ff9b::7f00:1`` counts as
global), so the embedded address is decoded and must be public too.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from buybutton_server.errors import InvalidInput

DEFAULT_PORTS = (443, 8443)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class UnsafeDestination(InvalidInput):
    """A webhook URL that would reach into our own network (``message`` says why)."""

    code = "unsafe_destination"


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (NAT64, 6to4, IPv4-compatible, IPv4-mapped,
    Teredo client), or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def is_public(address: str) -> bool:
    """True for a global unicast address whose embedded IPv4 address, if any, is too."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global or ip.is_multicast:
        return False
    inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return inner is None or (inner.is_global and not inner.is_multicast)


def port_of(url: str) -> int:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise UnsafeDestination("the URL has an invalid port") from None
    return port or (443 if parts.scheme == "https" else 80)


def check_url(url: str, *, allow_private: bool, ports: tuple[int, ...] = DEFAULT_PORTS) -> None:
    """At creation: https only (outside development), a host name, no credentials, and
    (outside development) one of ``ports``."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeDestination("the URL must be an absolute https URL")
    if parts.scheme != "https" and not allow_private:
        raise UnsafeDestination("the URL must use https")
    if parts.username or parts.password:
        raise UnsafeDestination("the URL must not carry credentials")
    port = port_of(url)
    if not allow_private and port not in ports:
        allowed = " or ".join(str(p) for p in ports)
        raise UnsafeDestination(f"the URL must use port {allowed}, not {port}")


def public_address(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve ``host`` and return an address to connect to; refuse private, loopback,
    link-local, multicast and reserved ones, also when carried inside an IPv6 address
    (every address the name resolves to is checked, and we connect to the one checked)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeDestination(f"cannot resolve {host}") from error
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not allow_private and not is_public(address):
            raise UnsafeDestination(f"{host} resolves to a non-public address ({address})")
    return addresses[0]
