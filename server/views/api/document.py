"""The OpenAPI 3.1 document of ``/api/v1``, built from the declared operations.

Components are the JSON Schemas of the request and answer types (pydantic's), referenced
with ``$ref``; query types become parameters. Nothing here is written by hand but the words
around it, so the document cannot drift from what the routes accept and answer; schemathesis
checks the routes against it (tests/test_openapi_schemathesis.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import CoreSchema

from buybutton_server.services.api_types import Answer, Query
from buybutton_server.views.api.routing import Operation

REF = "#/components/schemas/{model}"


class ErrorDetail(Answer):
    code: str
    message: str


class Error(Answer):
    """Every refusal: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


ERROR_ANSWERS = {
    401: "no valid API key",
    403: "the key may not do this",
    404: "not found",
    409: "conflict (state, stock or idempotency key)",
    422: "invalid request",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "same key + same body → the same answer; another body → 409",
}
DESCRIPTION = (
    "Catalog, stock, links, orders and webhooks for a buybutton shop. "
    "Authenticate with `Authorization: Bearer bb_…` (`buybutton keys create`)."
)


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, without a title on every field."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _query_parameters(model: type[Query], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF, schema_generator=_Schemas)
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, spec in schema.get("properties", {}).items():
        spec = {k: v for k, v in spec.items() if k != "default"}
        description = spec.pop("description", None)
        present = [b for b in spec.get("anyOf", []) if b.get("type") != "null"]
        if len(present) == 1:  # a parameter is absent, never null
            spec = {**{k: v for k, v in spec.items() if k != "anyOf"}, **present[0]}
        parameter = {"name": name, "in": "query", "required": name in required, "schema": spec}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _operation(op: Operation, refs: Refs, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path_params
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, components)
    if op.scope == "write":
        parameters.append(IDEMPOTENCY_KEY)
    error = refs[(Error, "serialization")]
    document: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "parameters": parameters,
        "responses": {
            str(op.status): {
                "description": HTTPStatus(op.status).phrase,
                **_json(refs[(op.answer, "serialization")]),
            },
            **{str(s): {"description": ERROR_ANSWERS[s], **_json(error)} for s in op.errors},
        },
    }
    if op.body is not None:
        # A body whose every field is optional may be left out (it reads as ``{}``).
        needed = any(field.is_required() for field in op.body.model_fields.values())
        document["requestBody"] = {"required": needed, **_json(refs[(op.body, "validation")])}
    if op.scope == "write":
        document["description"] = "Needs a write key."
    return document


def document(operations: Sequence[Operation]) -> dict[str, Any]:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for op in operations:
        if op.body is not None:
            pairs.append((op.body, "validation"))
        pairs.append((op.answer, "serialization"))
    unique = list(dict.fromkeys(pairs))
    refs, definitions = models_json_schema(unique, ref_template=REF, schema_generator=_Schemas)
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "buybutton API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }
