"""``GET /api/public/address-format/{country}``: a country's address form as JSON, so the
checkout's script can swap the fields when the shopper picks another country (without
script the form posts back and the server renders the new country's fields).

Public and the same for everyone: no credentials, cacheable for a day. Mount with
``*addresses.ROUTES`` in ``app.py``.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.services import addresses

CACHE_CONTROL = f"public, max-age={addresses.FORMAT_MAX_AGE}"


async def address_format(request: Request) -> Response:
    # The first read of a country parses its data file (China's takes ~40 ms): off the loop.
    data = await run_in_threadpool(addresses.address_format, request.path_params["country"])
    return JSONResponse(data, headers={"Cache-Control": CACHE_CONTROL})


ROUTES: list[BaseRoute] = [
    Route("/api/public/address-format/{country}", address_format, methods=["GET"]),
]
