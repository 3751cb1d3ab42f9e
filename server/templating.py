"""Jinja2 templates, loaded from the installed package, with autoescaping on."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from buybutton import __version__
from buybutton.money import decimal_string, format_amount
from buybutton_server.domain.vocabulary import is_low_stock


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("buybutton_server", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship inside the package; checking their mtime on every render costs
        # a stat() per template per request.
        auto_reload=False,
    )
    env.filters["money"] = format_amount
    env.filters["decimal"] = decimal_string
    env.globals["shop_name"] = "buybutton"
    env.globals["asset_version"] = __version__
    # ``{% if product.available is low_stock %}``: "Only N left", at the shop's one threshold.
    env.tests["low_stock"] = is_low_stock
    autocomplete = {
        "email": "email",
        "name": "name",
        "line1": "shipping address-line1",
        "line2": "shipping address-line2",
        "city": "shipping address-level2",
        "postal_code": "shipping postal-code",
        "country": "shipping country-name",
    }
    env.globals["AUTOCOMPLETE"] = autocomplete
    # type, inputmode and required, per field, so the template has no branches for them.
    # Constant strings of our own, not data: safe to mark as markup.
    env.globals["INPUT_KIND"] = {
        name: Markup(  # noqa: S704
            ('type="email" inputmode="email"' if name == "email" else 'type="text"')
            + ("" if name == "line2" else " required")
        )
        for name in autocomplete
    }
    return Jinja2Templates(env=env)


class RenderCache:
    """Rendered HTML keyed by everything that went into it, for pages whose only
    per-response parts are placeholder strings (attempt key, CSP nonce).

    The key holds the full rows read from the database for this request, so a change of
    price or stock is a different key: nothing is ever served stale, a render is only
    skipped when it would produce the same bytes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.pages: OrderedDict[Hashable, str] = OrderedDict()

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        page = self.pages.get(key)
        if page is None:
            page = self.pages[key] = render()
            if len(self.pages) > self.size:
                self.pages.popitem(last=False)
        return page
