"""Declaring an API operation once: a typed function and one decorator line.

::

    @router.post("/products", "Create a product", status=201)
    def create_product(api: ApiContext, body: ProductCreate) -> Product: ...

The decorator reads the function's signature: ``body`` is the request body's type, ``query``
the query parameters' type, other parameters are path parameters, and the return type is the
answer's. From that one declaration come the Starlette route, the request's validation (a
422 naming the field), the answer's serialization and the operation in
``/api/openapi.json``. GET needs a read key; the other methods a write key and honour
``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from buybutton.tokens import LinkSigner
from buybutton_server.domain.analytics import EventBuffer
from buybutton_server.errors import InvalidInput, ShopError
from buybutton_server.payments import PaymentProvider
from buybutton_server.services import api_access
from buybutton_server.services.api_access import Caller, Scope, Sessions, StoredAnswer
from buybutton_server.services.api_types import Input, Query
from buybutton_server.settings import Settings
from buybutton_server.views.api.problems import parse
from buybutton_server.views.errors import error_json

PREFIX = "/api/v1"
H = TypeVar("H", bound=Callable[..., BaseModel])


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What an operation may use: the shop's parts and the caller."""

    sessions: Sessions
    settings: Settings
    payments: PaymentProvider
    link_signer: LinkSigner
    analytics: EventBuffer
    caller: Caller


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation, as declared."""

    method: str
    path: str
    scope: Scope
    summary: str
    handler: Callable[..., BaseModel]
    body: type[Input] | None
    query: type[Query] | None
    path_params: tuple[str, ...]
    answer: type[BaseModel]
    status: int
    errors: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.handler.__name__

    def route(self) -> Route:
        return Route(self.path, _endpoint(self), methods=[self.method], name=self.name)


class Router:
    """Collects the operations of one resource, in the order they are declared."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def get(self, path: str, summary: str, *, errors: Iterable[int] = ()) -> Callable[[H], H]:
        return self._declare("GET", path, summary, scope="read", status=200, errors=errors)

    def post(
        self, path: str, summary: str, *, status: int = 200, errors: Iterable[int] = ()
    ) -> Callable[[H], H]:
        return self._declare("POST", path, summary, scope="write", status=status, errors=errors)

    def patch(self, path: str, summary: str, *, errors: Iterable[int] = ()) -> Callable[[H], H]:
        return self._declare("PATCH", path, summary, scope="write", status=200, errors=errors)

    def put(self, path: str, summary: str, *, errors: Iterable[int] = ()) -> Callable[[H], H]:
        return self._declare("PUT", path, summary, scope="write", status=200, errors=errors)

    def delete(self, path: str, summary: str, *, errors: Iterable[int] = ()) -> Callable[[H], H]:
        return self._declare("DELETE", path, summary, scope="write", status=200, errors=errors)

    def _declare(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        scope: Scope,
        status: int,
        errors: Iterable[int],
    ) -> Callable[[H], H]:
        def declare(handler: H) -> H:
            self.operations.append(
                _operation(method, path, summary, scope, status, errors, handler)
            )
            return handler

        return declare


def _operation(
    method: str,
    path: str,
    summary: str,
    scope: Scope,
    status: int,
    errors: Iterable[int],
    handler: Callable[..., BaseModel],
) -> Operation:
    hints = get_type_hints(handler)
    names = list(inspect.signature(handler).parameters)
    path_params = tuple(re.findall(r"{(\w+)}", path))
    expected = {"api", *path_params} | ({"body"} & set(names)) | ({"query"} & set(names))
    if names[:1] != ["api"] or set(names) != expected:
        raise TypeError(f"{handler.__name__}: parameters must be api, body, query, {path_params}")
    body, query = hints.get("body"), hints.get("query")
    if body is not None and not issubclass(body, Input):
        raise TypeError(f"{handler.__name__}: body must be an Input type")
    if query is not None and not issubclass(query, Query):
        raise TypeError(f"{handler.__name__}: query must be a Query type")
    answer = hints["return"]
    if not issubclass(answer, BaseModel):
        raise TypeError(f"{handler.__name__}: the answer must be a pydantic model")
    documented = {401, *errors}
    if scope == "write":
        documented |= {403, 409, 422}
    if body is not None or query is not None:
        documented.add(422)
    if path_params:
        documented.add(404)
    return Operation(
        method=method,
        path=PREFIX + path,
        scope=scope,
        summary=summary,
        handler=handler,
        body=body,
        query=query,
        path_params=path_params,
        answer=answer,
        status=status,
        errors=tuple(sorted(documented)),
    )


# -- the request's way through ------------------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any]:
    if request.method in ("GET", "DELETE"):
        return {}
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("The body is not valid JSON.") from None
    except RecursionError:  # "[[[[…": deeper than the decoder goes
        raise InvalidInput(f"The body is nested deeper than {MAX_DEPTH} levels.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    if _too_deep(data):
        raise InvalidInput(f"The body is nested deeper than {MAX_DEPTH} levels.")
    return data


MAX_DEPTH = 32
MAX_QUERY_VALUE = 1000


def _too_deep(data: object) -> bool:
    """Whether ``data`` nests lists and objects deeper than :data:`MAX_DEPTH` (no recursion:
    what is deep enough to matter would exhaust the stack)."""
    level: list[object] = [data]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return any(isinstance(node, dict | list) for node in level)


def _query(request: Request) -> dict[str, str]:
    for name, value in request.query_params.items():
        if len(value) > MAX_QUERY_VALUE:
            raise InvalidInput(f"{name} is longer than {MAX_QUERY_VALUE} characters.")
    return dict(request.query_params)


def _answer(operation: Operation, result: BaseModel) -> Response:
    return Response(
        result.model_dump_json(exclude_unset=True),
        status_code=operation.status,
        media_type="application/json",
    )


def _endpoint(operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = request.app.state
        caller = await run_in_threadpool(
            api_access.authenticate,
            state.sessions,
            request.headers.get("authorization", ""),
            operation.scope,
        )
        data = await _json_object(request)
        arguments: dict[str, Any] = {n: request.path_params[n] for n in operation.path_params}
        if operation.body is not None:
            arguments["body"] = parse(operation.body, data)
        if operation.query is not None:
            arguments["query"] = parse(operation.query, _query(request))
        api = ApiContext(
            sessions=state.sessions,
            settings=state.settings,
            payments=state.payments,
            link_signer=state.link_signer,
            analytics=state.analytics,
            caller=caller,
        )
        run = partial(operation.handler, api, **arguments)
        key = request.headers.get("idempotency-key")
        if operation.scope == "write" and key:
            fingerprint = json.dumps([request.method, request.url.path, data], sort_keys=True)
            return await _idempotent(operation, api, key, fingerprint, run)
        return _answer(operation, await run_in_threadpool(run))

    endpoint.__name__ = operation.name
    return endpoint


async def _idempotent(
    operation: Operation,
    api: ApiContext,
    key: str,
    request: str,
    run: Callable[[], BaseModel],
) -> Response:
    """Answer once per Idempotency-Key: a retry gets the stored answer (also a refusal's);
    a failure on our side (5xx) forgets the key so that the request can be tried again."""
    fingerprint = hashlib.sha256(request.encode()).hexdigest()
    earlier = await run_in_threadpool(api_access.claim, api.sessions, api.caller, key, fingerprint)
    if earlier is not None:
        return Response(
            earlier.body,
            status_code=earlier.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = _answer(operation, await run_in_threadpool(run))
    except ShopError as error:
        response = error_json(error)
        if response.status_code >= 500:
            await run_in_threadpool(api_access.forget, api.sessions, api.caller, key)
            raise
    except Exception:
        await run_in_threadpool(api_access.forget, api.sessions, api.caller, key)
        raise
    answer = StoredAnswer(status=response.status_code, body=bytes(response.body).decode())
    await run_in_threadpool(api_access.remember, api.sessions, api.caller, key, answer)
    return response
