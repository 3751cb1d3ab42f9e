"""The shopper's language for one request (issue 16; docs/languages.md).

:func:`choose` settles it once per request, in this order: the switcher's choice just made
(``?lang=de`` on the checkout, which also sets the cookie), the locale signed into the link,
the switcher's cookie, ``Accept-Language``, the shop's default, English. It puts the answer
on ``request.state.lang`` (templates read it) and in :data:`locales.CURRENT` (money that a
service formats, e.g. a quote's totals, follows it; the context is the request's own task,
copied into thread-pool calls, so no other request sees it).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from buybutton_server.domain import locales
from buybutton_server.domain.locales import Lang

SWITCH_PARAM = "lang"


def switched(request: Request) -> Lang | None:
    """The language the switcher just asked for (``?lang=de``), if it is one we ship."""
    raw = request.query_params.get(SWITCH_PARAM)
    return locales.parse_tag(raw) if raw else None


def choose(request: Request, link_locale: str | None = None) -> Lang:
    shop = getattr(request.state, "shop_identity", None)
    lang = switched(request) or locales.negotiate(
        link=link_locale,
        cookie=request.cookies.get(locales.COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=getattr(shop, "default_locale", None),
    )
    request.state.lang = lang
    locales.CURRENT.set(lang)
    return lang


def mark(request: Request, response: Response, lang: Lang) -> Response:
    """``Content-Language`` and ``Vary`` on a shopper's answer; the switcher's cookie when
    this request made a choice."""
    response.headers["Content-Language"] = lang.tag
    vary = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
    for name in ("Accept-Language", "Cookie"):
        if name.lower() not in {v.lower() for v in vary}:
            vary.append(name)
    response.headers["Vary"] = ", ".join(vary)
    chosen = switched(request)
    if chosen is not None:
        settings = request.app.state.settings
        embedded = request.query_params.get("embed") == "1"
        response.set_cookie(
            locales.COOKIE,
            chosen.language,
            max_age=locales.COOKIE_MAX_AGE,
            path="/",
            secure=bool(settings.secure_cookies) or embedded,
            httponly=True,
            samesite="none" if embedded else "lax",
        )
    return response
