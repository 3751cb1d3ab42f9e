"""One signed POST to a receiver, which the receiver cannot stretch or bloat.

- An overall deadline covers the whole attempt (connect, TLS, sending, the answer): every
  socket read and write waits at most what is left of it, so a receiver dripping a byte every
  few seconds is cut off when the deadline passes, not kept alive by each byte.
- Only the status code matters: at most :data:`MAX_ANSWER_BYTES` of the body are read, never
  decompressed, and the connection is closed.
- Redirects are not followed; the address connected to is the one :func:`public_address`
  checked.

DNS resolution comes before the deadline starts and is bounded by the resolver's own
timeouts; the claim on a delivery (``CLAIM_FOR``) leaves room for both.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpcore

from buybutton_server.domain.outbox.destinations import (
    DEFAULT_PORTS,
    check_url,
    port_of,
    public_address,
)
from buybutton_server.errors import Unavailable

ATTEMPT_DEADLINE = 20.0  # seconds, for everything after DNS
MAX_ANSWER_BYTES = 4096

_FAILURES = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
    ssl.SSLError,
    OSError,
)


class AttemptFailed(Unavailable):
    """The receiver could not be reached or did not answer in time (``message`` says how)."""

    code = "delivery_failed"


class _Deadline(httpcore.NetworkBackend):
    """Plain sockets (httpcore's own), each read and write bounded by one deadline."""

    def __init__(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds
        self._sockets = httpcore.SyncBackend()

    def left(self, timeout: float | None) -> float:
        left = self._until - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the attempt ran past its deadline")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._sockets.connect_tcp(
            host, port, self.left(timeout), local_address, socket_options
        )
        return _Stream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("webhooks go over TCP")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self.left(None)))


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, self._deadline.left(timeout))
        return _Stream(stream, self._deadline)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


@dataclass(frozen=True)
class Sender:
    """Sends one signed POST. ``allow_private`` (development and tests only) turns off the
    address and port checks; ``ports`` are the ports allowed otherwise."""

    allow_private: bool = False
    ports: tuple[int, ...] = DEFAULT_PORTS
    deadline: float = ATTEMPT_DEADLINE
    max_answer_bytes: int = MAX_ANSWER_BYTES

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """The receiver's status code; raises :class:`UnsafeDestination` or
        :class:`AttemptFailed`."""
        check_url(url, allow_private=self.allow_private, ports=self.ports)
        parts = urlsplit(url)
        port = port_of(url)
        host = parts.hostname or ""
        address = public_address(host, port, allow_private=self.allow_private)
        netloc = (f"[{address}]" if ":" in address else address) + f":{port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        sent = {**headers, "Host": parts.netloc.rsplit("@", 1)[-1], "Connection": "close"}
        extensions: dict[str, object] = {
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), self.deadline)
        }
        if parts.scheme == "https":
            extensions["sni_hostname"] = host
        try:
            with (
                httpcore.ConnectionPool(network_backend=_Deadline(self.deadline)) as pool,
                pool.stream(
                    "POST", target, headers=list(sent.items()), content=body, extensions=extensions
                ) as answer,
            ):
                read = 0
                for chunk in answer.iter_stream():
                    read += len(chunk)
                    if read >= self.max_answer_bytes:
                        break  # the rest is not ours to read; closing drops it
                return answer.status
        except _FAILURES as failed:
            raise AttemptFailed(f"{type(failed).__name__}: {failed}"[:255]) from None
