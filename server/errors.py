"""Domain errors. Each carries the status, a stable code and a message a person can act on;
``buybutton_server.views.errors`` turns them into an HTML page or a JSON body."""

from __future__ import annotations


class ShopError(Exception):
    status = 400
    code = "bad_request"
    title = "Something is not right"
    message = "We could not handle that request."
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class LinkNotValid(ShopError):
    status = 400
    code = "invalid_link"
    title = "This link is not valid"
    message = (
        "This checkout link has been changed or cut short, so we can't trust it. "
        "Go back to where you found it and tap it again."
    )


class ProductUnavailable(ShopError):
    status = 404
    code = "product_unavailable"
    title = "This product is no longer available"
    message = "The shop has taken this product down. Nothing was charged."


class SoldOut(ShopError):
    status = 409
    code = "sold_out"
    title = "Sold out"
    message = "Sorry, this product just sold out. Nothing was charged."


class NotEnoughStock(ShopError):
    status = 409
    code = "not_enough_stock"
    title = "Not enough in stock"

    def __init__(self, available: int) -> None:
        self.available = available
        super().__init__(
            f"Only {available} left. Lower the quantity and try again; nothing was charged."
        )


class NotFound(ShopError):
    status = 404
    code = "not_found"
    title = "Page not found"
    message = "There is nothing at this address."


class ServiceUnavailable(ShopError):
    status = 503
    code = "service_unavailable"
    title = "We can't take orders right now"
    message = (
        "The shop is having a technical problem. Nothing was charged. Please try again in a "
        "few minutes."
    )


class PaymentUnavailable(ShopError):
    status = 503
    code = "payment_unavailable"
    title = "Payments are not reachable right now"
    message = "We could not reach the payment service. Nothing was charged; please try again."


class RateLimited(ShopError):
    status = 429
    code = "rate_limited"
    title = "Too many tries"

    def __init__(self, retry_after: int) -> None:
        self.headers = {"Retry-After": str(retry_after)}
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"There have been too many payment attempts. Nothing was charged; please try "
            f"again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
