"""UCP discovery and negotiation: our business profile (``/.well-known/ucp``), the
``UCP-Agent`` header, the platform's profile fetched through the webhooks' SSRF guard, and
the capabilities both sides support.

We implement UCP **2026-04-08** (the newest release): the shopping service over REST with
``dev.ucp.shopping.checkout`` and its ``discount`` and ``fulfillment`` extensions. Every
request names its platform's profile in ``UCP-Agent`` (an RFC 8941 dictionary,
``profile="https://platform.example/.well-known/ucp"``); the profile is fetched (no
redirects, a deadline, at most :data:`MAX_PROFILE_BYTES`) and kept at least
:data:`CACHE_SECONDS`. Failures carry the spec's codes: ``invalid_profile_url`` (400),
``profile_unreachable`` (424), ``profile_malformed`` and ``version_unsupported`` (422);
``capabilities_incompatible`` when the platform lacks checkout (a 200 error envelope).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore

from buybutton_server.domain.outbox.destinations import (
    DEFAULT_PORTS,
    UnsafeDestination,
    check_url,
    port_of,
    public_address,
)
from buybutton_server.errors import ShopError

VERSION = "2026-04-08"
SHOPPING = "dev.ucp.shopping"
CHECKOUT = "dev.ucp.shopping.checkout"
DISCOUNT = "dev.ucp.shopping.discount"
FULFILLMENT = "dev.ucp.shopping.fulfillment"
# Our own test payment handler (UCP defines none): under our own reverse domain, offered only
# by the built-in ``test`` payment provider and only to platforms that declare it too.
TEST_HANDLER = "com.buybutton.test_payment"
TEST_HANDLER_ID = "buybutton_test"
SUCCESS_TOKEN = "success_token"  # noqa: S105 - a published test token, not a secret
FAILURE_TOKEN = "fail_token"  # noqa: S105

CACHE_SECONDS = 300.0  # at least the spec's floor of 60 s, whatever the platform says
CACHE_SIZE = 256
MAX_PROFILE_BYTES = 64 * 1024
FETCH_DEADLINE = 5.0
MAX_HEADER = 2048
# Profile fetches under way at once (per process); more are refused with 503 at once, so
# agents naming slow or silent hosts cannot hold every worker thread the shop has.
MAX_FETCHES = 4
_SPEC = f"https://ucp.dev/{VERSION}"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_]*)+$")
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9:/!#$%&'*+.^_`|~-]*")


class NegotiationFailed(ShopError):
    """The platform's profile could not be used; ``code`` is the spec's error code and
    ``status`` the HTTP status it answers with."""

    status = 400

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        super().__init__(message, code=code)


@dataclass(frozen=True, slots=True)
class Agent:
    """A negotiated platform: its profile URL, the protocol version, the capabilities both
    sides support (name -> version), and the payment handler names it declares."""

    profile_url: str
    version: str
    capabilities: Mapping[str, str]
    handlers: frozenset[str] = frozenset()
    multi_group: bool = False

    @property
    def discounts(self) -> bool:
        return DISCOUNT in self.capabilities

    @property
    def fulfillment(self) -> bool:
        return FULFILLMENT in self.capabilities


# -- our profile -------------------------------------------------------------------------------


def _capability(name: str, page: str, schema: str, **more: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": VERSION,
        "spec": f"{_SPEC}/specification/{page}",
        "schema": f"{_SPEC}/schemas/shopping/{schema}.json",
    }
    entry.update(more)
    return {name: [entry]}


BUSINESS_CAPABILITIES: dict[str, Any] = {
    **_capability(CHECKOUT, "checkout", "checkout"),
    **_capability(DISCOUNT, "discount", "discount", extends=CHECKOUT),
    **_capability(
        FULFILLMENT,
        "fulfillment",
        "fulfillment",
        extends=CHECKOUT,
        config={"allows_multi_destination": {"shipping": False}},
    ),
}


def test_handler(base_url: str) -> dict[str, Any]:
    return {
        "id": TEST_HANDLER_ID,
        "version": VERSION,
        "spec": f"{base_url}/ucp/handlers/test",
        "schema": f"{base_url}/ucp/handlers/test.json",
        "available_instruments": [{"type": "card"}],
        "config": {"environment": "sandbox", "tokens": [SUCCESS_TOKEN, FAILURE_TOKEN]},
    }


def business_profile(base_url: str, *, test_payments: bool) -> dict[str, Any]:
    """The document at ``/.well-known/ucp``: no per-session state, a dated version."""
    handlers = {TEST_HANDLER: [test_handler(base_url)]} if test_payments else {}
    return {
        "ucp": {
            "version": VERSION,
            "services": {
                SHOPPING: [
                    {
                        "version": VERSION,
                        "transport": "rest",
                        "spec": f"{_SPEC}/specification/overview",
                        "schema": f"{_SPEC}/services/shopping/rest.openapi.json",
                        "endpoint": f"{base_url}/ucp",
                    }
                ]
            },
            "capabilities": BUSINESS_CAPABILITIES,
            "payment_handlers": handlers,
        },
        "signing_keys": [],
    }


# -- the UCP-Agent header ----------------------------------------------------------------------


def _string(text: str, at: int) -> tuple[str, int]:
    """An RFC 8941 sf-string starting at ``text[at] == '"'``: its value and the index after."""
    out: list[str] = []
    at += 1
    while at < len(text):
        char = text[at]
        if char == "\\":
            if at + 1 >= len(text) or text[at + 1] not in '"\\':
                raise ValueError("bad escape")
            out.append(text[at + 1])
            at += 2
        elif char == '"':
            return "".join(out), at + 1
        elif not " " <= char <= "~":
            raise ValueError("bad character")
        else:
            out.append(char)
            at += 1
    raise ValueError("unterminated string")


_BARE = re.compile(r"\?[01]|-?\d+(?:\.\d+)?|" + _TOKEN.pattern)


def _bare(text: str, at: int) -> tuple[str | None, int]:
    """A bare item (string, token, number or boolean): strings as text, others as None."""
    if at < len(text) and text[at] == '"':
        return _string(text, at)
    match = _BARE.match(text, at)
    if match is None:
        raise ValueError("bad item")
    return None, match.end()


def _item(text: str, at: int) -> tuple[str | None, int]:
    """A bare item and its parameters (read and ignored)."""
    value, at = _bare(text, at)
    while at < len(text) and text[at] == ";":
        at += 1
        while at < len(text) and text[at] == " ":
            at += 1
        key = _KEY.match(text, at)
        if key is None:
            raise ValueError("bad parameter")
        at = key.end()
        if at < len(text) and text[at] == "=":
            _, at = _bare(text, at + 1)
    return value, at


def parse_dictionary(header: str) -> dict[str, str | None]:
    """An RFC 8941 dictionary's members (strings as text, other items as None). Raises
    ValueError when the header is not one. Inner lists are not accepted."""
    members: dict[str, str | None] = {}
    text, at = header.strip(" "), 0
    while at < len(text):
        key = _KEY.match(text, at)
        if key is None:
            raise ValueError("bad key")
        at = key.end()
        value: str | None = None
        if at < len(text) and text[at] == "=":
            value, at = _item(text, at + 1)
        members[key.group()] = value
        while at < len(text) and text[at] in " \t":
            at += 1
        if at < len(text):
            if text[at] != ",":
                raise ValueError("expected a comma")
            at += 1
            while at < len(text) and text[at] in " \t":
                at += 1
            if at >= len(text):
                raise ValueError("trailing comma")
    return members


def profile_url(header: str | None, *, allow_http: bool) -> str:
    """The platform profile URL in ``UCP-Agent``. Raises ``invalid_profile_url`` (400)."""
    if not header or len(header) > MAX_HEADER:
        raise NegotiationFailed(
            400, "invalid_profile_url", 'Send UCP-Agent: profile="https://…/.well-known/ucp".'
        )
    try:
        url = parse_dictionary(header).get("profile")
    except ValueError:
        url = None
    if not url:
        raise NegotiationFailed(
            400,
            "invalid_profile_url",
            'UCP-Agent must be a structured dictionary with profile="<https URL>".',
        )
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.fragment:
        raise NegotiationFailed(
            400, "invalid_profile_url", "The UCP-Agent profile must be an absolute https URL."
        )
    return url


# -- fetching and caching the platform's profile ------------------------------------------------


@dataclass
class ProfileCache:
    """Platform profiles by URL, each kept :data:`CACHE_SECONDS` (least recently used
    dropped beyond :data:`CACHE_SIZE`). Only good profiles are kept."""

    size: int = CACHE_SIZE
    seconds: float = CACHE_SECONDS
    _entries: OrderedDict[str, tuple[float, dict[str, Any]]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fetching: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAX_FETCHES)
    )

    @contextmanager
    def fetch_slot(self) -> Iterator[None]:
        """One of the :data:`MAX_FETCHES` fetch slots, or ``NegotiationFailed`` (503) at
        once when all are taken."""
        if not self._fetching.acquire(blocking=False):
            raise NegotiationFailed(
                503,
                "profile_unreachable",
                "Unable to fetch agent profile now: too many are being fetched; try again.",
            )
        try:
            yield
        finally:
            self._fetching.release()

    def get(self, url: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._entries.get(url)
            if found is None or found[0] < time.monotonic():
                self._entries.pop(url, None)
                return None
            self._entries.move_to_end(url)
            return found[1]

    def put(self, url: str, profile: dict[str, Any]) -> None:
        with self._lock:
            self._entries[url] = (time.monotonic() + self.seconds, profile)
            self._entries.move_to_end(url)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_FAILURES = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    ssl.SSLError,
    OSError,
)


def _unreachable(why: str) -> NegotiationFailed:
    return NegotiationFailed(424, "profile_unreachable", f"Unable to fetch agent profile: {why}")


def fetch_profile(
    url: str, *, allow_private: bool, ports: tuple[int, ...] = DEFAULT_PORTS
) -> bytes:
    """GET ``url`` through the SSRF guard of webhooks (https, allowed ports, a public
    address, the one connected to), following no redirect, within :data:`FETCH_DEADLINE`,
    reading at most :data:`MAX_PROFILE_BYTES`. Raises :class:`NegotiationFailed`."""
    try:
        check_url(url, allow_private=allow_private, ports=ports)
        parts = urlsplit(url)
        port = port_of(url)
        host = parts.hostname or ""
        address = public_address(host, port, allow_private=allow_private)
    except UnsafeDestination:  # one answer for every reason: no oracle of our network's names
        raise NegotiationFailed(
            400,
            "invalid_profile_url",
            "Profile URL refused: it must be an https URL on an allowed port whose host "
            "resolves to public addresses only.",
        ) from None
    netloc = (f"[{address}]" if ":" in address else address) + f":{port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    headers = [("Host", parts.netloc), ("Accept", "application/json"), ("Connection", "close")]
    extensions: dict[str, object] = {
        "timeout": dict.fromkeys(("connect", "read", "write", "pool"), FETCH_DEADLINE)
    }
    if parts.scheme == "https":
        extensions["sni_hostname"] = host
    started = time.monotonic()
    body = bytearray()
    try:
        with (
            httpcore.ConnectionPool() as pool,
            pool.stream("GET", target, headers=headers, extensions=extensions) as answer,
        ):
            if answer.status != 200:
                raise _unreachable(f"the profile answered HTTP {answer.status}")
            for chunk in answer.iter_stream():
                body.extend(chunk)
                if len(body) > MAX_PROFILE_BYTES:
                    raise NegotiationFailed(
                        422, "profile_malformed", "The agent profile is larger than 64 KB."
                    )
                if time.monotonic() - started > FETCH_DEADLINE:
                    raise _unreachable("it took too long")
    except _FAILURES as failed:
        raise _unreachable(type(failed).__name__) from None
    return bytes(body)


def read_profile(raw: bytes) -> dict[str, Any]:
    """The platform profile, checked for the shape negotiation reads. Raises
    ``profile_malformed`` (422)."""

    def malformed(why: str) -> NegotiationFailed:
        return NegotiationFailed(422, "profile_malformed", f"The agent profile {why}.")

    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise malformed("is not JSON") from None
    ucp = document.get("ucp") if isinstance(document, dict) else None
    if not isinstance(ucp, dict):
        raise malformed("has no ucp object")
    version = ucp.get("version")
    if not isinstance(version, str) or not _DATE.match(version):
        raise malformed("has no ucp.version date")
    for part in ("services", "capabilities", "payment_handlers"):
        registry = ucp.get(part, {})
        if not isinstance(registry, dict):
            raise malformed(f"has a ucp.{part} that is not an object")
        for name, entries in registry.items():
            if not _NAME.match(name) or not isinstance(entries, list):
                raise malformed(f"has a bad ucp.{part} entry ({name[:64]})")
            if not all(isinstance(e, dict) and isinstance(e.get("version"), str) for e in entries):
                raise malformed(f"has a ucp.{part}.{name} entry without a version")
    checked: dict[str, Any] = document
    return checked


def negotiate(profile: Mapping[str, Any], url: str) -> Agent:
    """The capability intersection with the platform. Raises ``version_unsupported`` (422)
    or ``capabilities_incompatible`` (HTTP 200 with an error envelope)."""
    ucp = profile["ucp"]
    if ucp["version"] != VERSION:
        raise NegotiationFailed(
            422,
            "version_unsupported",
            f"This business speaks UCP {VERSION}; the agent profile says {ucp['version']}.",
        )
    theirs: Mapping[str, list[Mapping[str, Any]]] = ucp.get("capabilities", {})
    chosen: dict[str, str] = {}
    for name, entries in BUSINESS_CAPABILITIES.items():
        ours = {entry["version"] for entry in entries}
        common = ours & {entry["version"] for entry in theirs.get(name, [])}
        if common:
            chosen[name] = max(common)
    changed = True
    while changed:  # drop extensions whose parent did not survive
        changed = False
        for name in list(chosen):
            parent = BUSINESS_CAPABILITIES[name][0].get("extends")
            if parent and parent not in chosen:
                del chosen[name]
                changed = True
    if CHECKOUT not in chosen:
        raise NegotiationFailed(
            200,
            "capabilities_incompatible",
            f"The agent profile does not list {CHECKOUT} {VERSION}.",
        )
    multi = False
    for entry in theirs.get(FULFILLMENT, []):
        config = entry.get("config")
        if isinstance(config, dict) and config.get("supports_multi_group") is True:
            multi = True
    handlers = frozenset(ucp.get("payment_handlers", {}))
    return Agent(url, VERSION, chosen, handlers, multi)
