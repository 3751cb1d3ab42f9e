"""The server's errors: one root, a few kinds, and the specific errors a person may meet.

::

    ShopError                      every error the server raises on purpose
    ├── BadRequest                 the request cannot be read   (400)
    │   └── LinkNotValid
    ├── InvalidInput               a value breaks a rule         (422)
    ├── Unauthorized               no valid credential           (401)
    ├── Forbidden                  a credential without the right (403)
    ├── NotFound                   nothing there                 (404)
    │   └── ProductUnavailable
    ├── Gone                       there once, not any more      (410)
    │   └── LinkExpired
    ├── Conflict                   the state does not allow it   (409)
    │   ├── SoldOut, NotEnoughStock, OutOfStock
    │   └── RefundRefused, FulfillRefused
    ├── TooLarge                   a body over its limit         (413)
    ├── RateLimited                too many tries                (429)
    ├── NotImplementedHere         a valid request we don't serve (501)
    ├── Unavailable                a part we depend on is down   (503)
    │   ├── ServiceUnavailable
    │   └── PaymentUnavailable
    └── InternalError              a bug                         (500)

Errors know nothing of HTTP: ``buybutton_server.views.errors`` maps each kind to a status in
one table, and to a page for shoppers or ``{"error": {"code", "message"}}`` for the API. The
command line prints ``message`` on one line. An error is never changed after it is raised:
everything it carries is given to its constructor.

``code`` is stable and machine-readable; ``title`` heads a page; ``message`` says, in words a
shopper or a merchant can act on, what happened and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ShopError(Exception):
    """Root of every error the server raises on purpose.

    ``context`` carries extra values for the page that explains the error (the expired link's
    product, for example); it is read, never written, after construction.
    """

    code = "bad_request"
    title = "Something is not right"
    message = "We could not handle that request."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.context: Mapping[str, Any] = dict(context or {})
        super().__init__(self.message)


# -- kinds ----------------------------------------------------------------------------------


class BadRequest(ShopError):
    code = "bad_request"


class InvalidInput(ShopError):
    code = "invalid_request"
    title = "Please check what you entered"


class Unauthorized(ShopError):
    code = "unauthorized"
    title = "Sign in first"
    message = "Send a valid API key: Authorization: Bearer bb_…"


class Forbidden(ShopError):
    code = "forbidden"
    title = "Not allowed"
    message = "You are not allowed to do that."


class NotFound(ShopError):
    code = "not_found"
    title = "Page not found"
    message = "There is nothing at this address."


class Gone(ShopError):
    code = "gone"
    title = "No longer here"
    message = "This is no longer available."


class Conflict(ShopError):
    code = "conflict"
    title = "That can't be done now"
    message = "The request conflicts with the current state."


class TooLarge(ShopError):
    code = "too_large"
    title = "Too much data"
    message = "The request is larger than this address accepts."


class RateLimited(ShopError):
    """Too many tries; ``retry_after`` is in seconds."""

    code = "rate_limited"
    title = "Too many tries"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        minutes = max(1, round(self.retry_after / 60))
        super().__init__(
            message
            or f"There have been too many payment attempts. Nothing was charged; please try "
            f"again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


class NotImplementedHere(ShopError):
    code = "not_implemented"
    title = "Not available"
    message = "This server does not offer that."


class Unavailable(ShopError):
    code = "service_unavailable"
    title = "We can't take orders right now"
    message = (
        "The shop is having a technical problem. Nothing was charged. Please try again in a "
        "few minutes."
    )


class InternalError(ShopError):
    code = "internal_error"
    title = "Something went wrong"
    message = "Something went wrong on our side. Nothing was charged; please try again."


# -- specific errors ------------------------------------------------------------------------


class LinkNotValid(BadRequest):
    code = "invalid_link"
    title = "This link is not valid"
    message = (
        "This checkout link has been changed or cut short, so we can't trust it. "
        "Go back to where you found it and tap it again."
    )


class LinkExpired(Gone):
    """``context["expired_link"]`` holds the expired link, so the page can offer a fresh one."""

    code = "link_expired"
    title = "This link has expired"
    message = "The offer in this link has ended, but the product may still be available."


class ProductUnavailable(NotFound):
    code = "product_unavailable"
    title = "This product is no longer available"
    message = "The shop has taken this product down. Nothing was charged."


class SoldOut(Conflict):
    code = "sold_out"
    title = "Sold out"
    message = "Sorry, this product just sold out. Nothing was charged."


class NotEnoughStock(Conflict):
    code = "not_enough_stock"
    title = "Not enough in stock"

    def __init__(self, available: int) -> None:
        self.available = available
        super().__init__(
            f"Only {available} left. Lower the quantity and try again; nothing was charged."
        )


class TotalChanged(Conflict):
    """The total priced when paying is not the one the shopper was shown (the address
    changed the shipping or the tax, a code ran out, a price changed): nothing is charged,
    and ``quote`` holds the new prices to show."""

    code = "total_changed"
    title = "The total changed"

    def __init__(self, quote: Any) -> None:
        self.quote = quote
        super().__init__(
            "The total changed with your address or the shop's prices. Check the new total "
            "and pay again; nothing was charged."
        )


class OutOfStock(Conflict):
    """A stock change the merchant asked for would go below what checkouts hold."""

    code = "out_of_stock"


class RefundRefused(Conflict):
    code = "refund_refused"


class FulfillRefused(Conflict):
    code = "fulfill_refused"


class ServiceUnavailable(Unavailable):
    code = "service_unavailable"


class PaymentUnavailable(Unavailable):
    code = "payment_unavailable"
    title = "Payments are not reachable right now"
    message = "We could not reach the payment service. Nothing was charged; please try again."
