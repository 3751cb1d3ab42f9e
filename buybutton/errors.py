"""Errors raised by the buybutton SDK.

::

    BuyButtonError
     ├── LinkError            a checkout link cannot be used
     │    ├── InvalidLink     tampered, truncated, signed with an unknown key, or malformed
     │    └── ExpiredLink     genuine but past its expiry; ``.link`` holds what it asked for
     └── ConfigurationError   a setting is missing or has an unusable value
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
