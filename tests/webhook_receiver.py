"""A merchant's webhook receiver on a real port: records what arrives, answers as told."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    answer: int = 200
    received: list[Received] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append(Received(await request.body(), dict(request.headers)))
            return Response(status_code=self.answer, headers=self.extra)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    @property
    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]
