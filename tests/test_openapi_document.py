"""The generated OpenAPI document says what the routes do: the product POST body requires
sku, title, currency and a price; the PATCH body has no sku or stock and refuses unknown
fields; every reference resolves."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from buybutton_server.views.api import OPERATIONS, openapi_document


def body_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_the_product_post_body_requires_sku_title_price_and_currency() -> None:
    create = body_schema(openapi_document(), "/api/v1/products", "post")
    assert {"sku", "title", "currency"} <= set(create["required"])
    # A price is required too: as a decimal string, or in minor units, exactly one.
    assert create["oneOf"] == [{"required": ["price"]}, {"required": ["price_amount"]}]
    assert {"price", "price_amount", "stock"} <= set(create["properties"])
    assert create["additionalProperties"] is False


def test_the_product_patch_body_has_no_sku_or_stock_and_nothing_required() -> None:
    update = body_schema(openapi_document(), "/api/v1/products/{sku}", "patch")
    assert "sku" not in update["properties"] and "stock" not in update["properties"]
    assert update["additionalProperties"] is False
    assert not update.get("required")
    assert {"title", "price", "price_amount", "currency", "active"} <= set(update["properties"])


def test_the_served_document_is_the_generated_one(client: TestClient) -> None:
    served = client.get("/api/openapi.json")
    assert served.headers["content-type"] == "application/json"
    assert served.json() == json.loads(json.dumps(openapi_document()))


def test_every_reference_resolves_and_every_operation_is_complete() -> None:
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= set(schemas)
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)
    for ops in doc["paths"].values():
        for method, op in ops.items():
            assert op["summary"] and "401" in op["responses"]
            if method != "get":
                assert {"403", "409", "422"} <= set(op["responses"])
                assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
            for parameter in op["parameters"]:
                assert "null" not in json.dumps(parameter["schema"]), "parameters are never null"


def test_query_parameters_come_from_their_types() -> None:
    doc = openapi_document()
    listed = {p["name"]: p for p in doc["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert listed["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert listed["cursor"]["schema"]["pattern"] == "^c_[0-9]{1,18}$"
    assert listed["status"]["schema"] == {"$ref": "#/components/schemas/OrderStatus"}
    assert doc["components"]["schemas"]["OrderStatus"]["enum"] == [
        "pending",
        "reserved",
        "paid",
        "failed",
        "canceled",
        "refunded",
    ]
    assert listed["created_after"]["schema"]["format"] == "date-time"
