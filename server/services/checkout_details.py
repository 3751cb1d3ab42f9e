"""The shopper's contact and shipping details on the checkout form (issue 13, "Addresses"):
what they typed, the link's pre-fill and the wallet's, checked field by field. The address
is checked with the rules of its country (:func:`..domain.addresses.validate`), so each
error sits next to its field and names what that country expects."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from buybutton.tokens import EMAIL_PATTERN, CheckoutLink
from buybutton_server.domain import addresses
from buybutton_server.domain.catalog import ProductView
from buybutton_server.domain.checkout_model import Address

FIELDS: Mapping[str, tuple[str, int, bool]] = {
    # name: (label, max length, needed only when the product ships)
    "email": ("Email", 254, False),
    "name": ("Full name", 200, False),
}
# The address form's fields (``_address_fields.html``; ``name`` is the contact's).
ADDRESS_FIELDS = ("country", "region", "city", "postal_code", "line1", "line2", "sorting_code")
# Control characters (NUL among them) that white-space collapsing leaves: PostgreSQL cannot
# store NUL in text, and none of them belongs in a name or an address.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Ships(Protocol):
    @property
    def requires_shipping(self) -> bool: ...


@dataclass(frozen=True)
class Collected:
    """A cart collected at a store (pickup, reservation): nothing ships, no address."""

    requires_shipping: bool = False


def quantity_problem(link: CheckoutLink, product: ProductView, quantity: int) -> str | None:
    """Why ``quantity`` cannot be bought through ``link``, or None: the link's quantity is
    binding unless it allows a range, and no order takes more than the product's maximum."""
    low, high = link.quantity_range
    if quantity > product.max_per_order:
        return f"At most {product.max_per_order} per order."
    if not low <= quantity <= high:
        if low == high:
            return f"This link is for a quantity of {low}."
        return f"Choose a quantity from {low} to {min(high, product.max_per_order)}."
    return None


def address_fields(typed: Mapping[str, str], wallet: Mapping[str, str] | None) -> dict[str, str]:
    """The address as typed, or the wallet's when the shopper typed no street: a wallet
    shares a whole address, never mixed field by field with a half-typed one."""
    mine = {name: " ".join(str(typed.get(name, "")).split()) for name in ADDRESS_FIELDS}
    if wallet is not None and not mine["line1"] and wallet.get("line1"):
        return {name: " ".join(str(wallet.get(name, "")).split()) for name in ADDRESS_FIELDS}
    return mine


def all_codes(link: CheckoutLink, typed: Sequence[str]) -> tuple[str, ...]:
    """The link's signed codes (always applied) followed by the typed ones, once each."""
    seen: list[str] = []
    for code in (*(link.codes or ()), *typed):
        if code.upper() not in seen:
            seen.append(code.upper())
    return tuple(seen)


def read_details(
    typed: Mapping[str, str],
    product: Ships,
    wallet: Mapping[str, str] | None,
    link: CheckoutLink,
) -> tuple[dict[str, str], dict[str, str], Address | None]:
    """``(values, errors, address)`` of the contact and shipping fields (the address only
    for carts that ship). What the shopper typed wins, then what the link pre-filled, then
    the wallet; white space is collapsed. ``errors`` maps a field to what is wrong with it;
    ``address`` is the checked address (None when it is wrong or not needed)."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, (label, limit, _) in FIELDS.items():
        value = " ".join(typed.get(name, "").split())
        if not value and name == "email":
            value = link.email or ""
        elif not value and name == "name":
            value = link.name or ""
        if not value and wallet is not None:
            value = wallet.get(name, "")
        if _CONTROL.search(value):  # shown again without them, and refused
            value = _CONTROL.sub("", value)
            errors[name] = f"{label} contains characters that cannot be used; remove them."
        values[name] = value
        if name in errors:
            continue
        if len(value) > limit:
            errors[name] = f"{label} is too long (at most {limit} characters)."
        elif not value:
            errors[name] = f"{label} is required."
    if "email" not in errors and not EMAIL_PATTERN.match(values["email"]):
        errors["email"] = "Enter an email address like name@example.com."
    if not product.requires_shipping:
        return values, errors, None
    fields = address_fields(typed, wallet)
    address, messages = addresses.validate({**fields, "name": values["name"]})
    if address is None:
        values.update({k: _CONTROL.sub("", v) for k, v in fields.items()})
        for name, message in addresses.field_errors(messages).items():
            errors.setdefault(name, message)
        return values, errors, None
    values.update(
        country=address.country,
        region=address.region,
        city=address.city,
        postal_code=address.postal_code,
        line1=address.line1,
        line2=address.line2,
        sorting_code=address.sorting_code,
    )
    return values, errors, address
