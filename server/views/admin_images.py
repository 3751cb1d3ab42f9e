"""A product's pictures in the admin (upload, make primary, reorder, delete) and the public
``/media/products/<sha256>.<ext>`` address that serves them. app.py mounts ``ROUTES``.

An upload is at most 5 MB: the body-limit middleware refuses a bigger declared body before
reading it, and counts a streamed one as it arrives; the view reads at most one byte more
than the limit from the spooled file. The picture is then decoded and re-encoded
(:mod:`buybutton_server.domain.imaging`), never served as sent.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton.tokens import SKU_PATTERN
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import InvalidInput, NotFound, TooLarge
from buybutton_server.services import product_images
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render

_MEDIA_NAME = re.compile(r"^([0-9a-f]{64})\.(jpg|webp)$")
IMMUTABLE = "public, max-age=31536000, immutable"
TOO_LARGE = "That file is larger than 5 MB. Save the picture smaller (or as a JPEG) and try again."
NOTICES = {
    "uploaded": "Picture added.",
    "primary": "Primary picture set: widgets, checkout and the storefront show it.",
    "moved": "Order changed.",
    "deleted": "Picture deleted.",
}


def _sku(request: Request) -> str:
    sku = str(request.path_params["sku"])
    if not SKU_PATTERN.fullmatch(sku):
        raise NotFound(f"No product with sku {sku!r}.")
    return sku


def _image_id(request: Request) -> int:
    image_id = int(request.path_params["image_id"])
    if image_id >= 2**31:  # no such row, and more than the database's integer holds
        raise NotFound("That picture is not one of this product's.")
    return image_id


def _here(sku: str) -> str:
    return f"/admin/products/{sku}/images"


async def _page(
    request: Request,
    user: Admin,
    sku: str,
    *,
    problem: str | None = None,
    alt: str = "",
    status: int = 200,
) -> Response:
    page = await run_in_threadpool(product_images.images_page, request.app.state.sessions, sku)
    context: dict[str, Any] = {
        "page": page,
        "problem": problem,
        "alt": alt,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "max_mb": product_images.MAX_BYTES // (1024 * 1024),
    }
    return render(request, user, "admin_images.html", context, status=status)


@admin_page()
async def images(request: Request, user: Admin) -> Response:
    """``/admin/products/{sku}/images``: the product's pictures and the upload form."""
    return await _page(request, user, _sku(request))


@admin_page()
async def upload(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    try:
        form = await posted_form(request, max_fields=5, max_files=1)
    except TooLarge:  # a streamed body cut off at the route's limit
        return await _page(request, user, sku, problem=TOO_LARGE, status=413)
    alt = str(form.get("alt", ""))
    picture = form.get("picture")
    data = b""
    try:
        if isinstance(picture, UploadFile) and picture.filename:
            data = await picture.read(product_images.MAX_BYTES + 1)
    finally:
        await form.close()
    if not data:
        return await _page(
            request, user, sku, problem="Choose a picture to upload.", alt=alt, status=422
        )
    if len(data) > product_images.MAX_BYTES:
        return await _page(request, user, sku, problem=TOO_LARGE, alt=alt, status=413)
    settings = request.app.state.settings
    store = partial(product_images.upload, base_url=settings.base_url)
    try:
        await run_in_threadpool(store, request.app.state.sessions, sku, data, alt)
    except InvalidInput as problem:
        return await _page(request, user, sku, problem=problem.message, alt=alt, status=422)
    return done(_here(sku), "uploaded")


@admin_page()
async def make_primary(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    await posted_form(request, max_fields=5)
    action = partial(product_images.make_primary, base_url=request.app.state.settings.base_url)
    await run_in_threadpool(action, request.app.state.sessions, sku, _image_id(request))
    return done(_here(sku), "primary")


@admin_page()
async def move(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    form = await posted_form(request, max_fields=5)
    step = {"up": -1, "down": 1}.get(str(form.get("direction", "")))
    if step is None:
        return await _page(request, user, sku, problem="Move it up or down.", status=422)
    await run_in_threadpool(
        product_images.move,
        request.app.state.sessions,
        sku,
        _image_id(request),
        step,
    )
    return done(_here(sku), "moved")


@admin_page()
async def delete(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    await posted_form(request, max_fields=5)
    action = partial(product_images.delete, base_url=request.app.state.settings.base_url)
    await run_in_threadpool(action, request.app.state.sessions, sku, _image_id(request))
    return done(_here(sku), "deleted")


async def media(request: Request) -> Response:
    """``/media/products/<sha256>.<jpg|webp>``: public, and never changes at its address."""
    match = _MEDIA_NAME.fullmatch(str(request.path_params["name"]))
    if match is None:
        raise NotFound()
    found = await run_in_threadpool(
        product_images.media, request.app.state.sessions, match[1], match[2]
    )
    if found is None:
        raise NotFound()
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": f'"{found.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.content_type, headers=headers)


_IMAGE = "/admin/products/{sku}/images/{image_id:int}"
ROUTES: list[BaseRoute] = [
    Route("/admin/products/{sku}/images", images, methods=["GET"]),
    Route("/admin/products/{sku}/images", upload, methods=["POST"]),
    Route(_IMAGE + "/primary", make_primary, methods=["POST"]),
    Route(_IMAGE + "/move", move, methods=["POST"]),
    Route(_IMAGE + "/delete", delete, methods=["POST"]),
    Route("/media/products/{name}", media, methods=["GET"]),
]
