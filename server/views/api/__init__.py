"""The merchant's REST API under ``/api/v1``, described by ``/api/openapi.json``.

Every request carries ``Authorization: Bearer bb_…``. Read endpoints take any live key;
writes need a ``write`` key. Writes accept ``Idempotency-Key``: the same key with the same
body gets the first answer again, with another body a 409. Errors are always
``{"error": {"code", "message"}}``.

Each resource module declares its operations (:mod:`.routing`); this module lists them in the
order the document shows them. The views only adapt: parse with the declared types, call a
service (:mod:`buybutton_server.services`), serialize the answer.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from buybutton_server.views.api import (
    discounts,
    links,
    locations,
    orders,
    payees,
    privacy,
    products,
    returns,
    webhooks,
)
from buybutton_server.views.api.document import document
from buybutton_server.views.api.routing import Operation

OPERATIONS: tuple[Operation, ...] = (
    *products.router.operations,
    *links.router.operations,
    *orders.router.operations,
    *locations.router.operations,
    *discounts.router.operations,
    *returns.router.operations,
    *payees.router.operations,
    *privacy.router.operations,
    *webhooks.router.operations,
)


def routes() -> list[Route]:
    return [operation.route() for operation in OPERATIONS]


@functools.cache
def openapi_document() -> dict[str, Any]:
    return document(OPERATIONS)


@functools.cache
def _document_bytes() -> bytes:
    return json.dumps(openapi_document(), ensure_ascii=False, separators=(",", ":")).encode()


async def openapi_json(request: Request) -> Response:
    """``/api/openapi.json``."""
    return Response(_document_bytes(), media_type="application/json")
