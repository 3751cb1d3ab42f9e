"""A tiny publisher: a coffee blog with a post, a social feed, a video and a newsletter, each
carrying the snippet its surface allows.

It runs on its own origin, as a real publisher would, so the widget is exercised
cross-origin, and it sends a strict Content-Security-Policy (no inline script or style) so
the widget is exercised under one. The snippets are generated when a page renders, because
the signing keys belong to this installation; a real publisher pastes the output of the
snippet builder or ``buybutton snippet`` once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from buybutton import BuyButton, snippets
from buybutton.money import format_amount, parse_amount
from buybutton.tokens import CheckoutLink

# (sku, source, campaign, content) -> a short link URL; the shop mints it.
Shortener = Callable[[CheckoutLink], str]

VIDEO_MOMENTS = [("DRIPPER-01", 2, 8), ("GRINDER-02", 9, 15), ("BEANS-GUJI-250", 16, 23)]
# The coffee corner in the shop-the-look post: one signed link for all three, one Buy.
LOOK = [("DRIPPER-01", 1), ("GRINDER-02", 1), ("BEANS-GUJI-250", 2)]
# The blogger's readers get the shop's welcome code with the look, signed into the link.
LOOK_CODE = "WELCOME10"
# The pick-up post: a product sold out online that one store still holds (the shop's demo
# stores: server/domain/locations.py, seed_demo_stores).
PICKUP_SKU, PICKUP_STORE = "KETTLE-03", "Porto Baixa"


def catalog() -> dict[str, dict[str, Any]]:
    """The demo products as the blog knows them (titles, prices, images for its pages)."""
    rows = json.loads(files("buybutton_demo_site").joinpath("catalog.json").read_text())
    products = {}
    for row in rows["products"]:
        amount = parse_amount(row["price"], row["currency"])
        products[row["sku"]] = {
            **row,
            "amount": amount,
            "price_text": format_amount(amount, row["currency"]),
        }
    return products


def _csp(shop: str, *, email: bool = False) -> str:
    if email:  # what a mail client allows: no script at all, inline styles, any image
        return "default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
    return (
        f"default-src 'self'; script-src 'self' {shop}; style-src 'self' {shop}; "
        f"img-src 'self' {shop} data:; connect-src {shop}; frame-src {shop}; media-src 'self'; "
        "base-uri 'none'; form-action 'self'"
    )


def create_demo_site(bb: BuyButton, *, shorten: Shortener) -> Starlette:
    env = Environment(
        loader=PackageLoader("buybutton_demo_site", "."),
        autoescape=select_autoescape(default=True),
    )
    products = catalog()

    def snippet(sku: str, **options: Any) -> Markup:
        # A card carries what it shows (title, price, image), so it paints with the page.
        if options.get("layout") == "card":
            p = products[sku]
            options["facts"] = snippets.CardFacts(p["title"], p["price_text"], p["image_url"])
        # The SDK escapes every merchant string; mark its output safe for this template.
        return Markup(bb.embed_snippet(sku, **options))  # noqa: S704

    env.globals["snippet"] = snippet
    env.globals["products"] = products

    def page(
        name: str, *, email: bool = False, request: Request | None = None, **context: Any
    ) -> Response:
        # Test switches: ?hostile (a theme at its worst), ?important (!important rules aimed
        # at the widget's host and fallback link), ?plain (no publisher stylesheet at all).
        for flag in ("hostile", "important", "plain"):
            context.setdefault(flag, request is not None and flag in request.query_params)
        html = env.get_template(name).render(**context)
        return HTMLResponse(
            html, headers={"Content-Security-Policy": _csp(bb.base_url, email=email)}
        )

    async def post(request: Request) -> Response:
        return page("post.html", request=request)

    async def look(request: Request) -> Response:
        # Plain HTML styled by the blog's stylesheet (no inline style under this CSP); the
        # shop's builder makes the same card with inline styles for pages without one.
        lines, total = [], 0
        for sku, quantity in LOOK:
            p = products[sku]
            total += p["amount"] * quantity
            lines.append({"product": p, "quantity": quantity})
        currency = products[LOOK[0][0]]["currency"]
        href = bb.checkout_link(
            items=LOOK, codes=[LOOK_CODE], source="blog", campaign="shop-the-look"
        )
        return page(
            "shop-the-look.html",
            request=request,
            lines=lines,
            total=format_amount(total, currency),
            href=href,
            code=LOOK_CODE,
        )

    async def pick_up(request: Request) -> Response:
        # A plain signed link: the checkout offers pickup where a store has the units.
        href = bb.checkout_link(PICKUP_SKU, source="blog", campaign="pick-up-today")
        return page(
            "pick-up.html",
            request=request,
            product=products[PICKUP_SKU],
            store=PICKUP_STORE,
            href=href,
        )

    async def beans(request: Request) -> Response:
        # A short article whose first heading is its <h1> and whose product card follows it:
        # the page the heading-order check and the LCP benchmark (?nocard) use.
        return page("beans.html", request=request, card="nocard" not in request.query_params)

    async def social(request: Request) -> Response:
        posts = []
        for sku, source, content in (
            ("GRINDER-02", "instagram", "ig-grinder-reel"),
            ("BEANS-GUJI-250", "tiktok", "tt-guji-tasting"),
            ("DRIPPER-01", "messenger", "chat-share"),
        ):
            product = products[sku]
            url = shorten(CheckoutLink(sku=sku, source=source, content=content))
            caption = snippets.social_text(
                title=product["title"],
                price=product["price_text"],
                url=url,
                hashtags=["pourover", "coffee"],
            )
            posts.append({"product": product, "source": source, "caption": caption, "url": url})
        qr_url = shorten(CheckoutLink(sku="DRIPPER-01", source="qr", content="cafe-poster"))
        return page(
            "social.html",
            posts=posts,
            qr=Markup(snippets.qr_snippet(short_url=qr_url, title=products["DRIPPER-01"]["title"])),  # noqa: S704
            qr_url=qr_url,
            request=request,
        )

    async def video(request: Request) -> Response:
        moments = []
        described = []
        for sku, at, until in VIDEO_MOMENTS:
            title = products[sku]["title"]
            moment = bb.moment(sku, title=title, at=at, until=until, content="yt-pour-over")
            moments.append(moment)
            link = CheckoutLink(sku=sku, source="youtube", content="yt-pour-over")
            described.append((moment, shorten(link)))
        html = bb.video_snippet(
            "/media/pour-over.webm", moments, caption="Pour-over at home, in four minutes"
        )
        return page(
            "video.html",
            video=Markup(html),  # noqa: S704
            description=snippets.video_description(described),
            request=request,
        )

    async def newsletter(request: Request) -> Response:
        # A newsletter tool merges one pre-filled link per subscriber (see BuyButton.email_links);
        # ?subscriber= plays that part here.
        subscriber = request.query_params.get("subscriber") or None
        product = products["GRINDER-02"]
        block = bb.email_snippet(
            "GRINDER-02",
            title=product["title"],
            price=product["price_text"],
            image_url=str(request.base_url).rstrip("/") + product["image_url"],
            email=subscriber,
            campaign="november-letter",
            content="issue-42",
        )
        return page("newsletter.html", email=True, block=Markup(block))  # noqa: S704

    async def home(request: Request) -> Response:
        return RedirectResponse("/blog/pour-over-at-home")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/blog/pour-over-at-home", post),
            Route("/blog/beans-for-beginners", beans),
            Route("/blog/shop-the-look", look),
            Route("/blog/pick-up-today", pick_up),
            Route("/social", social),
            Route("/videos/pour-over", video),
            Route("/newsletter", newsletter),
            Mount("/images", StaticFiles(packages=[("buybutton_demo_site", "images")])),
            Mount("/assets", StaticFiles(packages=[("buybutton_demo_site", "assets")])),
            Mount("/media", StaticFiles(packages=[("buybutton_demo_site", "media")])),
        ]
    )
