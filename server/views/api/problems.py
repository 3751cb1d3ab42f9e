"""Reading a request with its declared type, and saying precisely what is wrong.

A refused request gets one message, naming the field and the rule, in the words of the
declaration: ``limit must be a whole number from 1 to 100.``, ``title must be a string of at
most 200 characters.``, ``Unknown or read-only field(s): colour.``. Bounds come from the
type's JSON Schema (the one the document shows); a domain rule's message is kept as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import Input, Query

M = TypeVar("M", Input, Query)

_INTEGER = {
    "int_type",
    "int_parsing",
    "int_from_float",
    "greater_than_equal",
    "less_than_equal",
    "greater_than",
    "less_than",
}
_STRING = {"string_type", "string_too_long", "string_too_short", "string_unicode"}
_BOOLEAN = {"bool_type", "bool_parsing"}
_LIST = {"list_type", "too_short", "too_long"}
_OBJECT = {"model_type", "model_attributes_type", "dict_type"}


def parse(model: type[M], data: Any) -> M:
    """``data`` as a ``model``, or :class:`InvalidInput` saying what is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(message(model, error.errors())) from None
    except RecursionError:
        raise InvalidInput("The body is nested too deeply.") from None


def message(model: type[Input] | type[Query], errors: Sequence[ErrorDetails]) -> str:
    unknown = sorted(_name(e["loc"]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"Unknown or read-only field(s): {', '.join(unknown)}. {model.extra_hint}".strip()
    first = errors[0]
    kind, loc = first["type"], first["loc"]
    if kind == "rule":
        return str(first.get("ctx", {}).get("message", first["msg"]))
    if len(loc) == 1 and str(loc[0]) in model.problems:
        return model.problems[str(loc[0])]
    if not loc and kind in _OBJECT:
        return "The body must be a JSON object."
    name, spec = _name(loc), _field_schema(model, tuple(loc))
    if kind == "missing" or first.get("input", ...) is None:  # null where a value is needed
        return f"{name} is required."
    if kind in _INTEGER:
        return f"{name} must be a whole number{_range(spec, 'minimum', 'maximum')}."
    if kind in _STRING:
        limit = spec.get("maxLength")
        return f"{name} must be a string" + (f" of at most {limit} characters." if limit else ".")
    if kind in _BOOLEAN:
        return f"{name} must be true or false."
    if kind in ("literal_error", "enum"):
        return f"{name} must be {first.get('ctx', {}).get('expected', 'one of the listed values')}."
    if kind in _LIST:
        return f"{name} must be a list{_range(spec, 'minItems', 'maxItems', unit=' items')}."
    if kind in _OBJECT:
        return f"{name} must be an object."
    return f"{name}: {first['msg']}."


def _name(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the body"


def _range(spec: dict[str, Any], low_key: str, high_key: str, *, unit: str = "") -> str:
    low, high = spec.get(low_key), spec.get(high_key)
    if low is not None and high is not None:
        return f" from {low} to {high}" if not unit else f" of {low} to {high}{unit}"
    if low is not None:
        return f" of at least {low}{unit}"
    if high is not None:
        return f" of at most {high}{unit}"
    return ""


@functools.cache
def _model_schema(model: type[Input] | type[Query]) -> dict[str, Any]:
    return model.model_json_schema()


def _field_schema(model: type[Input] | type[Query], loc: tuple[int | str, ...]) -> dict[str, Any]:
    """The JSON Schema of the value at ``loc`` (its non-null branch)."""
    root = _model_schema(model)

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str):
            node = root.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {})
        for branch in node.get("anyOf", []):
            branch = resolve(branch)
            if branch.get("type") != "null":
                return branch
        return node

    node = resolve(root)
    for part in loc:
        node = resolve(
            node.get("items", {})
            if isinstance(part, int)
            else node.get("properties", {}).get(part, {})
        )
    return node
