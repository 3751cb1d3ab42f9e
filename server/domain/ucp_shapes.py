"""UCP 2026-04-08 shapes: what an agent's create and update bodies choose
(:class:`Choices`, never a price), and the checkout object we answer with, built from a
:class:`~.checkout_model.Quote`.

Totals are integers in minor units. ``subtotal`` is the goods at their prices, ``discount``
(negative) everything the codes take off, goods and shipping, ``fulfillment`` the shipping
option's price, ``tax`` the tax added on top, and ``total`` their sum. A tax-inclusive shop
(EU-style prices) has its tax inside the other amounts: it shows no ``tax`` entry (that
would count it twice) and itemises the total into the amount without VAT and the VAT it
includes (``total.lines``, which add up to the total).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from buybutton_server.domain import ucp_profiles
from buybutton_server.domain.checkout_model import CartLine, Message, Quote, Severity
from buybutton_server.domain.pricing import NO_SHIPPING_TO_COUNTRY, SHIPPING_OPTION_CHANGED
from buybutton_server.domain.ucp_profiles import Agent
from buybutton_server.errors import BadRequest

MAX_REQUEST_LINES = 100  # more than a checkout holds: the quote names the limit
MAX_CODES = 20
MAX_TEXT = 254
POSTAL_FIELDS = (
    "street_address",
    "extended_address",
    "address_locality",
    "address_region",
    "address_country",
    "postal_code",
    "first_name",
    "last_name",
    "phone_number",
)
BUYER_FIELDS = ("email", "first_name", "last_name", "phone_number")
METHOD_ID = "shipping_1"
GROUP_ID = "group_1"
DESTINATION_ID = "dest_1"
_CODES = {
    NO_SHIPPING_TO_COUNTRY: "address_undeliverable",
    SHIPPING_OPTION_CHANGED: "fulfillment_changed",
}
DESTINATION_PATH = "$.fulfillment.methods[0].destinations[0]"


class BadShape(BadRequest):
    """A request body that is not a UCP checkout request (400, ``invalid_request``)."""

    code = "invalid_request"


@dataclass(frozen=True, slots=True)
class Choices:
    """What the agent chose. ``destination`` holds UCP postal-address fields plus ``id``."""

    lines: tuple[tuple[str, int], ...]
    buyer: Mapping[str, str] = field(default_factory=dict)
    destination: Mapping[str, str] | None = None
    option: str | None = None
    codes: tuple[str, ...] = ()
    # The currency asked for (``context.currency``, a hint; else the session's): priced in
    # when every line has a price in it (domain/price_lists.py), else the products' own.
    currency: str | None = None


# -- reading requests --------------------------------------------------------------------------


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadShape(f"{path} must be a JSON object.")
    return value


def _list(value: object, path: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise BadShape(f"{path} must be an array.")
    if len(value) > limit:
        raise BadShape(f"{path} holds at most {limit} entries.")
    return value


def _text(value: object, path: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise BadShape(f"{path} must be printable text of at most {limit} characters.")
    return value.strip()


def _fields(value: object, path: str, names: Sequence[str]) -> dict[str, str]:
    data = _object(value, path)
    return {n: _text(data[n], f"{path}.{n}") for n in names if data.get(n) not in (None, "")}


def read_choices(body: object, agent: Agent, previous: Choices | None = None) -> Choices:
    """The choices of a create (``previous`` None) or update body: an update replaces the
    whole session, except that a destination named by ``selected_destination_id`` alone (no
    ``destinations``) stays the one chosen before. Unknown fields are ignored; ``payment``,
    ``context``, ``signals`` and ``attribution`` are read by no one yet. Raises
    :class:`BadShape`."""
    data = _object(body, "$")
    lines: list[tuple[str, int]] = []
    for n, raw in enumerate(_list(data.get("line_items"), "$.line_items", MAX_REQUEST_LINES)):
        line = _object(raw, f"$.line_items[{n}]")
        item = _object(line.get("item"), f"$.line_items[{n}].item")
        sku = _text(item.get("id"), f"$.line_items[{n}].item.id", 64)
        quantity = line.get("quantity")
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= 10**6
        ):
            raise BadShape(f"$.line_items[{n}].quantity must be a whole number from 1.")
        lines.append((sku, quantity))
    if not lines:
        raise BadShape("$.line_items must hold at least one line.")
    buyer = _fields(data["buyer"], "$.buyer", BUYER_FIELDS) if data.get("buyer") else {}
    codes: tuple[str, ...] = ()
    if agent.discounts and data.get("discounts") is not None:
        wanted = _object(data["discounts"], "$.discounts").get("codes", [])
        listed = _list(wanted, "$.discounts.codes", MAX_CODES)
        codes = tuple(_text(c, f"$.discounts.codes[{n}]", 64) for n, c in enumerate(listed))
    destination, option = None, None
    if agent.fulfillment and data.get("fulfillment") is not None:
        destination, option = _read_fulfillment(data["fulfillment"], previous)
    hint = data.get("context")
    asked = hint.get("currency") if isinstance(hint, dict) else None
    currency = asked.upper() if isinstance(asked, str) and len(asked) == 3 else None
    currency = currency or (previous.currency if previous else None)
    return Choices(tuple(lines), buyer, destination, option, codes, currency)


def _read_fulfillment(
    value: object, previous: Choices | None
) -> tuple[Mapping[str, str] | None, str | None]:
    methods = _list(_object(value, "$.fulfillment").get("methods", []), "$.fulfillment.methods", 4)
    for n, raw in enumerate(methods):
        method = _object(raw, f"$.fulfillment.methods[{n}]")
        if method.get("type", "shipping") != "shipping":
            continue  # pickup: not offered; the answer lists shipping only
        path = f"$.fulfillment.methods[{n}]"
        chosen_id = method.get("selected_destination_id")
        if chosen_id is not None:
            chosen_id = _text(chosen_id, f"{path}.selected_destination_id", 64)
        destination: Mapping[str, str] | None = None
        sent = _list(method.get("destinations", []), f"{path}.destinations", 8)
        for m, entry in enumerate(sent):
            fields = _fields(entry, f"{path}.destinations[{m}]", (*POSTAL_FIELDS, "id"))
            if destination is None or (chosen_id and fields.get("id") == chosen_id):
                destination = fields
        if destination is None and previous is not None and previous.destination is not None:
            if chosen_id and chosen_id == previous.destination.get("id"):
                destination = previous.destination
        if destination is not None:
            destination = {**destination, "id": destination.get("id") or DESTINATION_ID}
        option = None
        for m, raw_group in enumerate(_list(method.get("groups", []), f"{path}.groups", 8)):
            group = _object(raw_group, f"{path}.groups[{m}]")
            if group.get("selected_option_id") is not None:
                option = _text(group["selected_option_id"], f"{path}.groups[{m}]", 64)
        return destination, option
    return None, None


# -- answering ---------------------------------------------------------------------------------


def envelope(agent: Agent, handlers: Mapping[str, Any]) -> dict[str, Any]:
    """``ucp``: the negotiated version, capabilities (checkout ones only) and handlers."""
    capabilities = {}
    for name, version in agent.capabilities.items():
        entry = dict(ucp_profiles.BUSINESS_CAPABILITIES[name][0])
        entry.pop("config", None)
        entry["version"] = version
        capabilities[name] = [entry]
    return {"version": agent.version, "capabilities": capabilities, "payment_handlers": handlers}


def message(note: Message, severity: str = "recoverable") -> dict[str, Any]:
    """A UCP message from one of ours: an error (with ``severity``), a warning or info."""
    kind = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}
    out: dict[str, Any] = {"type": kind[note.severity], "code": _CODES.get(note.code, note.code)}
    if note.path:
        out["path"] = note.path
    elif note.code == NO_SHIPPING_TO_COUNTRY:
        out["path"] = DESTINATION_PATH
    out["content"] = note.content
    if note.severity is Severity.ERROR:
        out["severity"] = severity
    return out


def error_response(
    version: str, messages: Sequence[Mapping[str, Any]], continue_url: str | None = None
) -> dict[str, Any]:
    """The envelope for "no resource" (created impossible, unknown id): HTTP 200."""
    out: dict[str, Any] = {
        "ucp": {"version": version, "status": "error"},
        "messages": list(messages),
    }
    if continue_url:
        out["continue_url"] = continue_url
    return out


def line_items(quote: Quote, images: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(quote.lines, start=1):
        item: dict[str, Any] = {"id": line.sku, "title": line.title, "price": line.unit_amount}
        if images.get(line.sku):
            item["image_url"] = images[line.sku]
        totals: list[dict[str, Any]] = [{"type": "subtotal", "amount": line.subtotal}]
        if line.discount:
            totals.append({"type": "discount", "amount": -line.discount})
        if not quote.totals.prices_include_tax and line.tax.amount:
            totals.append({"type": "tax", "amount": line.tax.amount})
        totals.append({"type": "total", "amount": line.total})
        out.append({"id": f"li_{n}", "item": item, "quantity": line.quantity, "totals": totals})
    return out


def totals(quote: Quote) -> list[dict[str, Any]]:
    """The checkout's totals; the entries other than ``total`` add up to it."""
    sums = quote.totals
    shipping = quote.selected_shipping.amount if quote.selected_shipping else 0
    taken = sums.discount + (shipping - sums.fulfillment)
    out: list[dict[str, Any]] = [{"type": "subtotal", "amount": sums.subtotal}]
    if taken:
        out.append({"type": "discount", "amount": -taken})
    if quote.selected_shipping is not None:
        title = quote.selected_shipping.title
        out.append({"type": "fulfillment", "display_text": title, "amount": shipping})
    total: dict[str, Any] = {"type": "total", "amount": sums.total}
    if sums.prices_include_tax:
        if sums.tax:
            total["lines"] = [
                {"display_text": "Without VAT", "amount": sums.total - sums.tax},
                {"display_text": "VAT included", "amount": sums.tax},
            ]
    else:
        out.append({"type": "tax", "amount": sums.tax})
    out.append(total)
    return out


def discounts(quote: Quote, codes: Sequence[str]) -> dict[str, Any]:
    applied = []
    for grant in quote.discounts:
        allocations = [
            {"path": f"$.line_items[{n}]", "amount": amount}
            for n, amount in enumerate(grant.line_amounts)
            if amount
        ]
        if grant.shipping_amount:
            allocations.append({"path": "$.totals.shipping", "amount": grant.shipping_amount})
        applied.append(
            {
                "code": grant.code,
                "title": grant.title,
                "amount": grant.amount,
                "method": "across",
                "allocations": allocations,
            }
        )
    return {"codes": list(codes), "applied": applied}


def fulfillment(
    quote: Quote, cart: Sequence[CartLine], destination: Mapping[str, str] | None
) -> dict[str, Any] | None:
    """One shipping method for the lines that ship (None when none do), its destination,
    and one group whose options are the quote's shipping options."""
    ids = [f"li_{n}" for n, line in enumerate(cart, start=1) if line.product.requires_shipping]
    if not ids:
        return None
    method: dict[str, Any] = {"id": METHOD_ID, "type": "shipping", "line_item_ids": ids}
    method["destinations"] = [dict(destination)] if destination else []
    method["selected_destination_id"] = destination["id"] if destination else None
    if destination and quote.shipping_options:
        options = []
        for option in quote.shipping_options:
            entry: dict[str, Any] = {"id": option.id, "title": option.title}
            if option.delivery_estimate:
                entry["description"] = f"Usually arrives in {option.delivery_estimate}."
            entry["totals"] = [{"type": "total", "amount": option.amount}]
            options.append(entry)
        chosen = quote.selected_shipping.id if quote.selected_shipping else None
        group = {"id": GROUP_ID, "line_item_ids": ids, "options": options}
        method["groups"] = [{**group, "selected_option_id": chosen}]
    return {"methods": [method]}
