"""The checkout page's HTML: the product or cart, the contact and address forms, the codes,
the shipping options and the totals (issue 13).

The plain page (``GET /c/{token}``) is rendered once per link, product rows, quantity and
default country and kept (``services.checkout_page_cache.PageParts``, as bytes cut at the
attempt key and CSP nonce); it shows the goods at their prices and says how shipping and tax
will be added. checkout.js then asks ``POST /c/{token}/quote`` for the
quote. A page shown again (a refused field, "Apply", "Update", a changed total) is priced
when it is rendered, for the address and codes the form carried.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from buybutton.tokens import CheckoutLink
from buybutton.urls import absolute
from buybutton_server.domain.carts import Item
from buybutton_server.domain.catalog import ProductView
from buybutton_server.domain.checkout_model import Address
from buybutton_server.domain.locales import Lang, template_context
from buybutton_server.domain.pickup import PickupStore
from buybutton_server.domain.vocabulary import is_low_stock
from buybutton_server.services import checkout, checkout_page_cache
from buybutton_server.services.addresses import form_context
from buybutton_server.services.checkout_page_cache import (
    PageParts,
    PageSetup,
    fill,
    first_country,
)
from buybutton_server.services.checkout_quote import unpriced
from buybutton_server.services.pickup import delivers
from buybutton_server.views import languages
from buybutton_server.views.origins import shop_identity

NO_STORE = {"Cache-Control": "no-store"}
# Stand-ins rendered into cached pages and replaced on the way out.
_ATTEMPT_SLOT = "\x00attempt\x00"
_NONCE_SLOT = "\x00nonce\x00"
_ATTEMPT, _NONCE = _ATTEMPT_SLOT.encode(), _NONCE_SLOT.encode()


def prefill_country(link: CheckoutLink) -> str | None:
    """The country a link pre-fills (short links may carry one), or None."""
    found = getattr(link, "country", None)
    return found if isinstance(found, str) else None


def address_values(address: Address) -> dict[str, str]:
    """A pre-filled address as the form's values."""
    fields = ("country", "region", "city", "postal_code", "line1", "line2", "sorting_code")
    return {name: str(getattr(address, name) or "") for name in fields}


def shown_lines(
    product: ProductView, quantity: int, items: tuple[Item, ...]
) -> list[tuple[str, str, int, int]]:
    if items:
        return [(i.product.sku, i.product.title, i.quantity, i.product.price_amount) for i in items]
    return [(product.sku, product.title, quantity, product.price_amount)]


def ships(product: ProductView, items: tuple[Item, ...]) -> bool:
    if items:
        return any(item.product.requires_shipping for item in items)
    return product.requires_shipping


def render_page(
    request: Request,
    *,
    token: str,
    link: CheckoutLink,
    product: ProductView,
    quantity: int,
    values: Mapping[str, str],
    embedded: bool,
    back: str | None,
    countries: tuple[str, ...] = (),
    variants: tuple[ProductView, ...] = (),
    items: tuple[Item, ...] = (),
    errors: Mapping[str, str] | None = None,
    alert: str | None = None,
    quote: Mapping[str, Any] | None = None,
    status_code: int = 200,
    pickup_stores: Sequence[PickupStore] = (),
    fulfilment: str = "",
    lang: Lang | None = None,
) -> Response:
    """The page; ``quote`` (the shape of ``services.checkout_quote.shape``) when it was
    priced, else the goods at their prices. Cached when it has no errors and no quote.
    ``lang``: what ``languages.choose`` answered for this request and link, if it ran."""
    state = request.app.state
    shop = shop_identity(request)
    low, high = link.quantity_range
    top = max(low, min(high, product.max_per_order, product.available))
    quantity = min(max(quantity, low), top)
    prefill = prefill_country(link)
    accept_language = request.headers.get("accept-language")
    ship = ships(product, items)
    lang = lang or languages.choose(request, link.locale)

    def render() -> str:
        address = form_context(
            values, prefill=prefill, accept_language=accept_language, allowed=countries
        )
        summary = quote or unpriced(
            shown_lines(product, quantity, items), product.currency, ships=ship
        )
        context: dict[str, Any] = {
            "token": token,
            "link": link,
            "product": product,
            "quantity": quantity,
            "quantity_choices": range(low, top + 1),
            # Stock only at a pickup store is not "sold out" (issue 15): pickup stays on offer.
            "sold_out": product.available <= 0 and not any(s.in_stock for s in pickup_stores),
            "low_stock": is_low_stock(product.available),
            "values": values,
            "errors": errors or {},
            "alert": alert,
            "fields": checkout.FIELDS,
            "attempt_key": _ATTEMPT_SLOT,
            "csp_nonce": _NONCE_SLOT,
            "provider": state.payments.name,
            "provider_settings": state.payments.page_settings(),
            "image_url": absolute(state.settings.base_url, product.image_url),
            "return_url": back,
            "embedded": embedded,
            "variants": variants,
            "variant_query": _query_without_variant(request),
            "page_query": request.url.query,
            # The page's query for the language switcher, the way back only once checked.
            "switch_params": [
                *(
                    (k, v)
                    for k, v in request.query_params.multi_items()
                    if k not in (languages.SWITCH_PARAM, "return")
                ),
                *((("return", back),) if back else ()),
            ],
            "shop_identity": shop,
            "ships": ship,
            "quote": summary,
            # Messages about codes sit under the code field; errors (no shipping there) in
            # the summary; the other warnings (a shipping option gone) with the options.
            "code_notes": [m for m in summary["messages"] if _about_codes(m)],
            "page_errors": [m for m in summary["messages"] if m["severity"] == "error"],
            "other_notes": [
                m for m in summary["messages"] if m["severity"] != "error" and not _about_codes(m)
            ],
            "address": {**address, "errors": errors or {}},
            "codes_typed": values.get("codes", ""),
            # Pick up in store (domain/pickup.py): the stores, in stock first.
            "pickup_stores": pickup_stores,
            "fulfilment_chosen": fulfilment,
            # Delivery only when the stock that ships covers the lines (issue 15).
            "delivers": delivers(product, quantity, items),
            **_cart_context(state.settings.base_url, items),
            **template_context(lang),
        }
        return str(state.templates.get_template("checkout.html").render(context))

    kept = _page_parts(state)
    if errors or alert or quote is not None:
        parts = kept.cut(render())
    else:  # the plain page: the same bytes for the same link, product rows and country
        key = (
            token,
            product,
            variants,
            items,
            quantity,
            back,
            request.scope["query_string"],
            shop,
            first_country(prefill, accept_language, countries) if ship else None,
            countries,
            tuple(sorted(values.items())),
            tuple((s.code, s.in_stock, s.ready_text, s.reservations) for s in pickup_stores),
            lang,
            embedded,
        )
        parts = kept.get_or_render(key, render)
    slots = {_ATTEMPT: secrets.token_urlsafe(18), _NONCE: request.state.csp_nonce}
    response = HTMLResponse(fill(parts, slots), status_code=status_code, headers=NO_STORE)
    return languages.mark(request, response, lang)


async def page_setup(request: Request) -> PageSetup:
    """The shop's zones' countries and whether a store offers pickup: one read per request."""
    found: PageSetup | None = getattr(request.state, "checkout_setup", None)
    if found is None:
        found = await checkout_page_cache.read_setup(request.app.state.sessions)
        request.state.checkout_setup = found
    return found


def _page_parts(state: Any) -> PageParts:
    """The app's kept plain pages (256, as bytes cut at the slots), made at first use."""
    found: PageParts | None = getattr(state, "checkout_page_parts", None)
    if found is None:
        found = state.checkout_page_parts = PageParts(256, (_ATTEMPT_SLOT, _NONCE_SLOT))
    return found


def _about_codes(message: Mapping[str, Any]) -> bool:
    return str(message.get("path", "")).startswith("$.discounts") or "discount" in str(
        message.get("code", "")
    )


def _cart_context(base_url: str, items: tuple[Item, ...]) -> dict[str, Any]:
    """A multi-item page: its lines with their images, and the lines the shelf cannot fill
    now (the page names them and offers no payment)."""
    if not items:
        return {"items": ()}
    short = [i.product.title for i in items if i.product.available < i.quantity]
    return {
        "items": [(i, absolute(base_url, i.product.image_url)) for i in items],
        "sold_out": bool(short),
        "short_titles": short,
    }


def _query_without_variant(request: Request) -> str:
    """The page's other query parameters, for the variant links to keep (return, embed)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "variant"]
    return ("&" + urlencode(kept)) if kept else ""
