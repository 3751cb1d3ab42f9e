"""Jinja2 templates, loaded from the installed package, with autoescaping on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.templating import Jinja2Templates, _TemplateResponse

from buybutton import __version__
from buybutton.money import decimal_string, format_amount
from buybutton_server.domain import locales
from buybutton_server.domain.locales import Lang
from buybutton_server.domain.vocabulary import is_low_stock

# Shopper-facing answers vary by these (docs/languages.md): the switcher's cookie and the
# browser's languages choose the page's language when the link does not.
VARY = "Accept-Language, Cookie"


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("buybutton_server", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship inside the package; checking their mtime on every render costs
        # a stat() per template per request.
        auto_reload=False,
        # {% trans %} blocks; gettext itself comes with each render's context (i18n_context),
        # never installed here: one environment serves every language at once.
        extensions=["jinja2.ext.i18n"],
    )
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True
    # A render that passes no language (a partial rendered on its own, an admin page) reads
    # the source text: English's catalog is the identity. Never another language here.
    env.globals.update(locales.jinja_gettext(locales.ENGLISH))
    env.filters["money"] = money
    env.filters["number"] = number
    env.filters["date"] = local_date
    env.filters["localize"] = locales.localize  # a label the domain built, in the page's language
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
    return ShopperTemplates(env=env, context_processors=[request_i18n])


# -- languages (issue 16, docs/languages.md) -------------------------------------------------


def _lang_of(context: Context) -> Lang:
    found = context.get("lang")
    return found if isinstance(found, Lang) else locales.current()


@pass_context
def money(context: Context, amount: int, currency: str) -> str:
    """``{{ 123450 | money("EUR") }}``: ``1.234,50 €`` on a German page, ``€1,234.50`` in
    English; the plain SDK form on pages rendered without a language (the admin)."""
    if "lang" not in context:
        return format_amount(amount, currency)
    return locales.format_money(amount, currency, _lang_of(context))


@pass_context
def number(context: Context, value: int | float | Decimal) -> str:
    return locales.format_number(value, _lang_of(context))


@pass_context
def local_date(context: Context, value: date | datetime, form: str = "medium") -> str:
    return locales.format_date(value, _lang_of(context), form)


def request_lang(request: Request) -> Lang:
    """The language a view chose for this request (``request.state.lang``), else the
    switcher's cookie, the browser's languages and the shop's default."""
    chosen = getattr(request.state, "lang", None)
    if isinstance(chosen, Lang):
        return chosen
    shop = getattr(request.state, "shop_identity", None)
    return locales.negotiate(
        cookie=request.cookies.get(locales.COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=getattr(shop, "default_locale", None),
    )


def request_i18n(request: Request) -> dict[str, Any]:
    """The context processor: shopper pages get their language; the admin is English."""
    if request.url.path.startswith("/admin"):
        return {}
    return locales.template_context(request_lang(request))


def language_headers(lang: Lang) -> dict[str, str]:
    return {"Content-Language": lang.tag, "Vary": VARY}


class ShopperTemplates(Jinja2Templates):
    """Jinja2Templates whose shopper pages say their language (``Content-Language``) and
    what chose it (``Vary``); admin pages stay English and unmarked."""

    def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        response = super().TemplateResponse(
            request, name, context, status_code, headers, media_type, background
        )
        if not name.startswith("admin"):
            lang = request_lang(request)
            for key, value in language_headers(lang).items():
                if key == "Vary" and "vary" in response.headers:
                    value = f"{response.headers['vary']}, {value}"
                response.headers[key] = value
        return response
