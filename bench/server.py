"""The app under benchmark, plus a bare Starlette endpoint in the same process.

    python bench/server.py DATABASE_URL PORT

The bare endpoint is the framework's ceiling on this machine: the checkout page is reported
as a ratio of it, measured against the same server in the same run.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from buybutton_server import Settings, create_app

SECRET = "bench-secret-key-0123456789abcdef0123456789"


async def bare(request: Request) -> Response:
    return PlainTextResponse("ok")


def build(database_url: str, port: int):  # type: ignore[no-untyped-def]
    settings = Settings(
        secret_keys=(SECRET,),
        database_url=database_url,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        rate_limit_pay_ip=None,
        rate_limit_pay_link=None,
        pending_per_client=None,
        sweep_seconds=3600,
    )
    app = create_app(settings)
    app.router.routes.insert(0, Route("/bench/bare", bare))
    return app


if __name__ == "__main__":
    url, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(
        build(url, port),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
