"""Render the OpenAPI document as Markdown: ``docs/api.md``.

    python -m buybutton_server.openapi_docs > docs/api.md

A test fails when docs/api.md differs from what this prints, so the reference cannot drift
from the code.
"""

from __future__ import annotations

import json
from typing import Any

from buybutton_server.openapi import document


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"[{schema['$ref'].rsplit('/', 1)[1]}](#{schema['$ref'].rsplit('/', 1)[1].lower()})"
    if schema.get("type") == "object" and "properties" in schema:
        data = schema["properties"].get("data", {})
        if "items" in data:
            return f"list of {_schema_name(data['items'])} (`data`, `next_cursor`)"
        return "object: " + ", ".join(f"`{name}`" for name in schema["properties"])
    return f"`{json.dumps(schema)}`"


def render() -> str:
    doc = document()
    out = [
        "# API reference",
        "",
        "Generated from `/api/openapi.json` by `python -m buybutton_server.openapi_docs`; do not",
        "edit by hand. " + doc["info"]["description"],
        "",
        'Errors are `{"error": {"code", "message"}}` with 401 (no valid key), 403 (a read',
        "key tried to write), 404, 409 (state, stock or Idempotency-Key conflict) or 422 (invalid",
        "request). Lists take `limit` (1-100) and `cursor` (from `next_cursor`).",
        "",
        "## Endpoints",
        "",
    ]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            out.append(f"### `{method.upper()} {path}`")
            out.append("")
            out.append(
                op["summary"] + "." + (" " + op["description"] if "description" in op else "")
            )
            out.append("")
            params = [p for p in op.get("parameters", []) if p["in"] != "path"]
            if params:
                out.append(
                    "Parameters: " + ", ".join(f"`{p['name']}` ({p['in']})" for p in params) + "."
                )
                out.append("")
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                out.append(f"Body: {_schema_name(body)}.")
                out.append("")
            for status, answer in op["responses"].items():
                if status.startswith("2"):
                    schema = answer["content"]["application/json"]["schema"]
                    out.append(f"Answer: {status}, {_schema_name(schema)}.")
            out.append("")
    out += ["## Schemas", ""]
    for name, schema in doc["components"]["schemas"].items():
        out.append(f"### {name}")
        out.append("")
        if "description" in schema:
            out.append(schema["description"])
            out.append("")
        required = set(schema.get("required", []))
        for field, spec in schema.get("properties", {}).items():
            kind = spec.get("type") or (
                "one of " + ", ".join(map(str, spec["enum"]))
                if "enum" in spec
                else _schema_name(spec)
            )
            note = f" — {spec['description']}" if "description" in spec else ""
            star = " (required)" if field in required else ""
            out.append(
                f"- `{field}`: {kind if isinstance(kind, str) else ' or '.join(kind)}{star}{note}"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
