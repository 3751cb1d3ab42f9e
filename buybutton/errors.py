"""Errors raised by the buybutton SDK.

::

    BuyButtonError
     ├── LinkError            a checkout link cannot be used
     │    ├── InvalidLink     tampered, truncated, signed with an unknown key, or malformed
     │    └── ExpiredLink     genuine but past its expiry; ``.link`` holds what it asked for
     ├── ConfigurationError   a setting is missing or has an unusable value
     ├── ApiError             the REST API said no (``.status``, ``.code``, ``.message``)
     │    ├── AuthenticationError   401: no valid API key
     │    ├── PermissionDenied      403: the key's scope does not allow it
     │    ├── NotFoundError         404
     │    ├── ConflictError         409: state or idempotency-key conflict
     │    │    └── OutOfStockError  409: stock would drop below what checkouts hold
     │    ├── InvalidRequestError   422
     │    ├── RateLimitedError      429; ``.retry_after`` in seconds
     │    └── ServerError           5xx, or the server could not be reached
     └── WebhookVerificationError   a webhook's signature or timestamp is wrong
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from buybutton.tokens import CheckoutLink


class BuyButtonError(Exception):
    """Root of every error this package raises on purpose."""


class LinkError(BuyButtonError):
    """A checkout link cannot be used."""


class InvalidLink(LinkError):
    """The link was not signed by us, was altered, or does not decode to a valid request."""


class ExpiredLink(LinkError):
    """The link is genuine but expired.

    ``link`` is the verified payload, so the server can offer the same product again.
    """

    def __init__(self, link: CheckoutLink) -> None:
        super().__init__(f"checkout link for {link.sku!r} expired at {link.expires_at}")
        self.link = link


class ConfigurationError(BuyButtonError):
    """A setting is missing or invalid. The message names the setting."""


class ApiError(BuyButtonError):
    """The REST API answered with an error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class AuthenticationError(ApiError):
    pass


class PermissionDenied(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class OutOfStockError(ConflictError):
    pass


class InvalidRequestError(ApiError):
    pass


class RateLimitedError(ApiError):
    def __init__(self, status: int, code: str, message: str, retry_after: float) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class ServerError(ApiError):
    pass


class WebhookVerificationError(BuyButtonError):
    """The webhook was not signed with our secret, or is too old or too new."""
