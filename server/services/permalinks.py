"""Cart permalinks (``GET /buy/{sku:qty,...}``, UCP ``dev.ucp.shopping.permalink``): the
lines and the pre-fill a permalink asks for, checked against the catalog and signed into an
ordinary checkout link. Nothing is written and nothing is reserved: the checkout page that
the link opens is where the shopper decides to pay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import SKU_PATTERN, CheckoutLink, LinkSigner
from buybutton_server.domain import carts
from buybutton_server.domain.checkout_model import MAX_LINES
from buybutton_server.errors import InvalidInput, ProductUnavailable


@dataclass(frozen=True, kw_only=True, slots=True)
class CartRequest:
    """What a permalink asks for, already parsed and checked for form (not for the
    catalog): ``lines`` as ``(item id, quantity)`` in the URL's order."""

    lines: Sequence[tuple[str, int]]
    email: str | None = None
    name: str | None = None
    codes: tuple[str, ...] = ()
    source: str | None = None
    campaign: str | None = None
    content: str | None = None


def cart_token(factory: sessionmaker[Session], signer: LinkSigner, cart: CartRequest) -> str:
    """A freshly signed checkout-link token for ``cart``. Raises ``InvalidInput`` (more than
    MAX_LINES lines, an item twice, a quantity over the product's maximum: 422) or
    ``ProductUnavailable`` (an unknown or archived product: 404), naming the line."""
    lines = list(cart.lines)
    if len(lines) > MAX_LINES:
        raise InvalidInput(
            f"A checkout holds at most {MAX_LINES} products; this link has {len(lines)}."
        )
    seen: dict[str, int] = {}
    for position, (item_id, _) in enumerate(lines, start=1):
        if item_id in seen:
            raise InvalidInput(
                f"Line {position}: {item_id} is already line {seen[item_id]}; give each "
                "product once with its quantity."
            )
        seen[item_id] = position
        if not SKU_PATTERN.match(item_id):
            raise ProductUnavailable(f"Line {position}: the shop has no product {item_id}.")
    _, problem = carts.read_items(factory, lines)
    if problem is not None:
        raise problem
    fields = {
        "email": cart.email,
        "name": cart.name,
        "source": cart.source,
        "campaign": cart.campaign,
        "content": cart.content,
        "codes": cart.codes or None,
    }
    try:
        link = CheckoutLink.for_items(lines, **fields)
    except ValueError as problem:  # quantities beyond any product's maximum, among others
        raise InvalidInput(str(problem)) from None
    return signer.sign(link)
