"""The SDK's light models and the generated document agree.

The SDK (``buybutton/api.py``) keeps its own dataclasses, with no dependency on the server's
types. This test feeds each ``from_json`` an answer built from the document's schema (each
leaf a distinct value) and checks, field by field, where the value came from: every SDK
field must read a documented field of the same type, a field the SDK requires must be
required (and not null) in the document, and every field the document requires must be in
the SDK model or named below as left in ``raw``.
"""

from __future__ import annotations

import dataclasses
import itertools
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from buybutton import resources as sdk
from buybutton_server.views.api import openapi_document

SCHEMAS: dict[str, Any] = openapi_document()["components"]["schemas"]
JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number", tuple: "array"}

# Documented, required fields the SDK models leave in ``raw`` (add a field here only on
# purpose: otherwise give the SDK model the field).
ONLY_IN_RAW = {
    "Product": {
        "description", "image_url", "requires_shipping", "variant_group", "variant_label",
        "max_per_order", "weight_grams", "tax_class",
        "created_at", "updated_at", "price.decimal", "prices",
    },
    "Order": {
        "shipping", "payment", "attention", "created_at", "refunded.currency",
        "total.decimal", "refunded.decimal",
        # how the order reaches the shopper (issue 15): read from raw
        "fulfilment.method", "fulfilment.location.code", "fulfilment.location.name",
        "fulfilment.ready_estimate",
        # the total's parts: the SDK reads each one's amount (the currency is the total's)
        *(f"{part}.{leaf}" for part in ("subtotal", "discount", "shipping_cost", "tax",
                                        "shipping_tax") for leaf in ("currency", "decimal")),
    },
    "WebhookEndpoint": {"disabled_reason", "created_at"},
}  # fmt: skip


def resolve(spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in spec:
        spec = SCHEMAS[spec["$ref"].rsplit("/", 1)[1]]
    return spec


def present(spec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null branch of a schema, and whether null is allowed."""
    spec = resolve(spec)
    branches = [resolve(b) for b in spec.get("anyOf", [spec])]
    nullable = any(b.get("type") == "null" for b in branches)
    return next(b for b in branches if b.get("type") != "null"), nullable


def sample(spec: dict[str, Any], path: str, leaves: dict[str, Any], n: Iterator[int]) -> Any:
    """A value for ``spec``, each leaf distinct where its type allows; ``leaves`` maps each
    leaf's path to its value."""
    spec, _ = present(spec)
    kind = spec.get("type")
    if kind == "object":
        return {
            name: sample(field, f"{path}.{name}".lstrip("."), leaves, n)
            for name, field in spec.get("properties", {}).items()
        }
    if kind == "array":
        return [sample(spec.get("items", {}), path, leaves, n)]
    number = next(n)
    if "enum" in spec:
        value: Any = spec["enum"][0]
    else:
        value = {"integer": number, "boolean": True, "number": number + 0.5}.get(kind, f"v{number}")
    leaves[path] = value
    return value


def leaf(component: str, path: str) -> tuple[dict[str, Any], bool]:
    """The schema at ``path`` and whether it, and each object on the way, is required."""
    spec, required = resolve(SCHEMAS[component]), True
    for name in path.split("."):
        spec, _ = present(spec)
        required = required and name in spec.get("required", [])
        spec = spec["properties"][name]
    return spec, required


def sources(model: type, component: str, build: Callable[[dict[str, Any]], Any]) -> dict[str, str]:
    """For each SDK field, the documented path its value was read from."""
    leaves: dict[str, Any] = {}
    built = build(sample(SCHEMAS[component], "", leaves, itertools.count(1)))
    found = {}
    for field in dataclasses.fields(model):
        if field.name == "raw":
            continue
        value = getattr(built, field.name)
        if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            found[field.name] = field.name  # a nested model: compared on its own
            continue
        if isinstance(value, tuple):
            value = value[0] if value else None
        paths = [p for p, v in leaves.items() if v == value and type(v) is type(value)]
        if len(paths) > 1:  # booleans and enums repeat: the field's name decides
            paths = [p for p in paths if p.rsplit(".", 1)[-1] == field.name]
        assert paths, f"{model.__name__}.{field.name} reads no documented field"
        found[field.name] = paths[0]
    return found


def from_names(model: type) -> Callable[[dict[str, Any]], Any]:
    names = {f.name for f in dataclasses.fields(model)}
    return lambda data: model(**{k: v for k, v in data.items() if k in names})


CASES = [
    (sdk.Product, "Product", sdk.Product.from_json),
    (sdk.Order, "Order", sdk.Order.from_json),
    (sdk.OrderLine, "OrderLine", from_names(sdk.OrderLine)),
    (sdk.Link, "Link", from_names(sdk.Link)),
    (sdk.WebhookEndpoint, "WebhookEndpoint", sdk.WebhookEndpoint.from_json),
]


@pytest.mark.parametrize(("model", "component", "build"), CASES, ids=[c[1] for c in CASES])
def test_every_sdk_field_is_documented_with_its_type_and_requiredness(
    model: type, component: str, build: Callable[[dict[str, Any]], Any]
) -> None:
    hints = typing.get_type_hints(model)
    for name, path in sources(model, component, build).items():
        spec, required = leaf(component, path)
        spec, nullable = present(spec)
        hint = hints[name]
        optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
        base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
        expected = JSON_TYPES.get(typing.get_origin(base) or base)
        assert spec.get("type") == expected, f"{model.__name__}.{name}: {spec} is not {expected}"
        has_default = next(f for f in dataclasses.fields(model) if f.name == name).default
        if not optional and has_default is dataclasses.MISSING:
            assert required and not nullable, f"{model.__name__}.{name} is optional in the document"
        if nullable:
            assert optional, f"{model.__name__}.{name} may be null in the document"


@pytest.mark.parametrize(("model", "component", "build"), CASES, ids=[c[1] for c in CASES])
def test_every_documented_required_field_is_in_the_sdk_model(
    model: type, component: str, build: Callable[[dict[str, Any]], Any]
) -> None:
    read = set(sources(model, component, build).values())
    left = ONLY_IN_RAW.get(component, set())

    def required_leaves(spec: dict[str, Any], prefix: str) -> Iterator[str]:
        spec, _ = present(spec)
        for name in spec.get("required", []):
            path = f"{prefix}{name}"
            inner, _ = present(spec["properties"][name])
            if inner.get("type") == "object" and "properties" in inner and path not in read | left:
                yield from required_leaves(inner, path + ".")
            else:
                yield path

    missing = {path for path in required_leaves(SCHEMAS[component], "") if path not in read | left}
    assert not missing, f"the SDK's {model.__name__} lacks documented fields {sorted(missing)}"


def test_a_renamed_field_would_be_caught() -> None:
    """The check itself can fail: an SDK model reading an undocumented key does."""

    @dataclasses.dataclass(frozen=True)
    class Renamed:
        sku: str
        colour: str

    with pytest.raises(KeyError):
        sources(Renamed, "Product", lambda d: Renamed(sku=d["sku"], colour=d["colour"]))
