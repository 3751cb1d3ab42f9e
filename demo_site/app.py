"""A tiny publisher site: a coffee blog that pastes buybutton snippets into its posts.

It runs on its own origin, as a real blog would, so the widget is exercised cross-origin.
The snippets are generated when the page renders, because the signing keys belong to this
installation; a real publisher pastes the output of ``buybutton snippet`` once.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from buybutton import BuyButton


def create_demo_site(bb: BuyButton) -> Starlette:
    env = Environment(
        loader=PackageLoader("buybutton_demo_site", "."),
        autoescape=select_autoescape(default=True),
    )

    def snippet(sku: str, **options: str) -> Markup:
        # The SDK escapes every merchant string; mark its output safe for this template.
        return Markup(bb.embed_snippet(sku, **options))  # noqa: S704

    env.globals["snippet"] = snippet

    async def post(request: Request) -> Response:
        return HTMLResponse(env.get_template("post.html").render())

    async def home(request: Request) -> Response:
        return RedirectResponse("/blog/pour-over-at-home")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/blog/pour-over-at-home", post),
            Mount("/images", StaticFiles(packages=[("buybutton_demo_site", "images")])),
            Mount("/assets", StaticFiles(packages=[("buybutton_demo_site", "assets")])),
        ]
    )
