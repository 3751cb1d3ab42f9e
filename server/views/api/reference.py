"""Render the OpenAPI document as Markdown: ``docs/api.md``.

    python -m buybutton_server.views.api.reference > docs/api.md

A test fails when docs/api.md differs from what this prints, so the reference cannot drift
from the code.
"""

from __future__ import annotations

import json
from typing import Any

from buybutton_server.views.api import openapi_document


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _link(name: str) -> str:
    return f"[{name}](#{name.lower()})"


def _kind(spec: dict[str, Any], schemas: dict[str, Any]) -> str:
    """A schema in a few words: ``string``, ``integer or null``, a link to a component..."""
    if "$ref" in spec:
        return _link(_ref_name(spec["$ref"]))
    if "anyOf" in spec:
        return " or ".join(_kind(branch, schemas) for branch in spec["anyOf"])
    if "enum" in spec:
        return "one of " + ", ".join(map(str, spec["enum"]))
    if spec.get("type") == "array":
        return "list of " + _kind(spec.get("items", {}), schemas)
    if isinstance(spec.get("type"), list):
        return " or ".join(spec["type"])
    if "type" in spec:
        return str(spec["type"]) + (f" ({spec['format']})" if "format" in spec else "")
    return f"`{json.dumps(spec)}`"


def _answer(spec: dict[str, Any], schemas: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = _ref_name(spec["$ref"])
        fields = schemas[name].get("properties", {})
        if set(fields) == {"data", "next_cursor"}:
            return f"{_link(name)}: list of {_kind(fields['data'].get('items', {}), schemas)}"
    return _kind(spec, schemas)


def _endpoints(doc: dict[str, Any]) -> list[str]:
    schemas = doc["components"]["schemas"]
    out = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            out += [f"### `{method.upper()} {path}`", ""]
            out += [op["summary"] + "." + (" " + op["description"] if "description" in op else "")]
            out.append("")
            params = [p for p in op.get("parameters", []) if p["in"] != "path"]
            if params:
                listed = ", ".join(f"`{p['name']}` ({p['in']})" for p in params)
                out += [f"Parameters: {listed}.", ""]
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                out += [f"Body: {_kind(body, schemas)}.", ""]
            for status, answer in op["responses"].items():
                if status.startswith("2"):
                    schema = answer["content"]["application/json"]["schema"]
                    out.append(f"Answer: {status}, {_answer(schema, schemas)}.")
            errors = [s for s in op["responses"] if not s.startswith("2")]
            out += [f"Errors: {', '.join(errors)}.", ""]
    return out


def _schemas(doc: dict[str, Any]) -> list[str]:
    schemas = doc["components"]["schemas"]
    out = []
    for name, schema in schemas.items():
        out += [f"### {name}", ""]
        if "description" in schema:
            out += [" ".join(schema["description"].replace("``", "`").split()), ""]
        if "enum" in schema:
            out += ["One of " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".", ""]
        required = set(schema.get("required", []))
        for field, spec in schema.get("properties", {}).items():
            described = [spec, *spec.get("anyOf", [])]
            notes = [str(d["description"]) for d in described if "description" in d]
            note = f" — {notes[0]}" if notes else ""
            star = " (required)" if field in required else ""
            out.append(f"- `{field}`: {_kind(spec, schemas)}{star}{note}")
        for choice in ("oneOf", "anyOf"):
            if choice in schema:
                names = [
                    " + ".join(f"`{f}`" for f in c.get("required", [])) for c in schema[choice]
                ]
                word = "exactly one" if choice == "oneOf" else "at least one"
                out.append(f"- Required: {word} of {', '.join(names)}.")
        out.append("")
    return out


def render() -> str:
    doc = openapi_document()
    out = [
        "# API reference",
        "",
        "Generated from `/api/openapi.json` by `python -m buybutton_server.views.api.reference`;",
        "do not edit by hand. " + doc["info"]["description"],
        "",
        'Errors are `{"error": {"code", "message"}}` with 401 (no valid key), 403 (a read',
        "key tried to write), 404, 409 (state, stock or Idempotency-Key conflict) or 422 (invalid",
        "request, with a message naming the field). Lists take `limit` (1-100) and `cursor`",
        "(from `next_cursor`).",
        "",
        "## Endpoints",
        "",
        *_endpoints(doc),
        "## Schemas",
        "",
        *_schemas(doc),
    ]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
