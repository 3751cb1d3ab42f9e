"""Response headers and the cross-site request check, as plain ASGI middleware.

Every HTML page gets a Content-Security-Policy that allows only our own scripts and styles
(no inline code at all), refuses framing, and pins form targets to our origin. Unsafe methods
coming from another site are refused before they reach a view, except on paths meant to be
called cross-site (the JSON API with its own keys, provider webhooks).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


NONCE_PLACEHOLDER = "{nonce}"


def content_security_policy(
    *, allow_http_images: bool, extra_sources: Mapping[str, Sequence[str]] | None = None
) -> str:
    """Scripts need this response's nonce ('strict-dynamic' lets them load their own, as
    Stripe.js does; 'self' and hosts are the fallback for browsers before CSP 3). Styles come
    from our origin only. A payment provider may add origins (Stripe.js needs script-src,
    frame-src and connect-src). The result holds ``{nonce}`` for each response to fill."""
    directives: dict[str, list[str]] = {
        "default-src": ["'none'"],
        "script-src": [f"'nonce-{NONCE_PLACEHOLDER}'", "'strict-dynamic'", "'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "https:", "data:", *(["http:"] if allow_http_images else [])],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],  # the snippet builder's preview
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
    for directive, sources in (extra_sources or {}).items():
        directives.setdefault(directive, []).extend(sources)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def with_sources(csp: str, more: Mapping[str, Sequence[str]]) -> str:
    """``csp`` with ``more`` sources added to (or as) its directives."""
    directives = dict(part.split(" ", 1) for part in csp.split("; "))
    for name, sources in more.items():
        directives[name] = " ".join([*filter(None, [directives.get(name)]), *sources])
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        origin: str,
        hsts: bool,
        allow_http_images: bool,
        cross_site_paths: Iterable[str] = (),
        extra_sources: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.app = app
        self.origin = origin
        self.cross_site_paths = tuple(cross_site_paths)
        self.csp = content_security_policy(
            allow_http_images=allow_http_images, extra_sources=extra_sources
        )
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        if scope["method"] not in SAFE_METHODS and not scope["path"].startswith(
            self.cross_site_paths
        ):
            refusal = self._cross_site_refusal(Headers(scope=scope))
            if refusal:
                await PlainTextResponse(refusal, status_code=403)(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    csp = self.csp.replace(NONCE_PLACEHOLDER, nonce)
                    # A view may allow framing by listed origins (the embedded checkout).
                    framers = scope["state"].get("frame_ancestors")
                    if framers:
                        csp = csp.replace(
                            "frame-ancestors 'none'", "frame-ancestors " + " ".join(framers)
                        )
                    else:
                        headers.setdefault("X-Frame-Options", "DENY")
                    # A view may add sources for its own page (the builder's preview).
                    more = scope["state"].get("csp_sources")
                    if more:
                        csp = with_sources(csp, more)
                    headers.setdefault("Content-Security-Policy", csp)
                if self.hsts:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _cross_site_refusal(self, headers: Headers) -> str | None:
        """Browsers say where a request comes from; refuse anything not from our origin."""
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return "Cross-site request refused."
        origin = headers.get("origin")
        if origin is not None and origin != self.origin:
            return "Cross-site request refused."
        return None
