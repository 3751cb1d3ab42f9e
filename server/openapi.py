"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/openapi.json``.

It is kept true to the code by tests: schemathesis generates requests from it against the
app and checks every answer against the schemas here, and a test checks that every API route
is documented and every documented path is routed.
"""

from __future__ import annotations

from typing import Any

from buybutton_server.domain.outbox import EVENT_TYPES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


STRING = {"type": "string"}
INT = {"type": "integer"}
TIME = {"type": ["string", "null"], "format": "date-time"}
LABEL = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,63}$"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": STRING, "message": STRING},
            }
        },
    },
    "Money": {
        "type": "object",
        "required": ["amount", "currency", "decimal"],
        "properties": {
            "amount": {**INT, "description": "integer minor units"},
            "currency": {"type": "string", "minLength": 3, "maxLength": 3},
            "decimal": STRING,
        },
    },
    "Product": {
        "type": "object",
        "required": ["sku", "title", "price", "stock", "active"],
        "properties": {
            "sku": STRING,
            "title": STRING,
            "description": STRING,
            "image_url": _nullable(STRING),
            "price": _ref("Money"),
            "stock": {
                "type": "object",
                "required": ["on_hand", "reserved", "available"],
                "properties": {"on_hand": INT, "reserved": INT, "available": INT},
            },
            "active": {"type": "boolean"},
            "requires_shipping": {"type": "boolean"},
            "variant_group": _nullable(STRING),
            "variant_label": _nullable(STRING),
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "ProductInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sku": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 5000},
            "image_url": {"type": "string", "maxLength": 2048},
            "price": {"type": "string", "description": 'decimal, e.g. "24.90"'},
            "price_amount": {"type": "integer", "minimum": 0},
            "currency": {"type": "string", "minLength": 3, "maxLength": 3},
            "stock": {"type": "integer", "minimum": 0},
            "requires_shipping": {"type": "boolean"},
            "active": {"type": "boolean"},
            "variant_group": {"type": "string", "maxLength": 64},
            "variant_label": {"type": "string", "maxLength": 64},
        },
    },
    "StockChange": {
        "type": "object",
        "description": "on_hand sets the stock; delta adjusts it. Exactly one.",
        "properties": {
            "on_hand": {"type": "integer", "minimum": 0},
            "delta": {"type": "integer"},
        },
    },
    "BulkStock": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {
                    "type": "object",
                    "required": ["sku"],
                    "properties": {
                        "sku": STRING,
                        "on_hand": {"type": "integer", "minimum": 0},
                        "delta": {"type": "integer"},
                    },
                },
            }
        },
    },
    "LinkInput": {
        "type": "object",
        "required": ["sku"],
        "properties": {
            "sku": STRING,
            "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
            "email": STRING,
            "name": STRING,
            "source": LABEL,
            "campaign": LABEL,
            "content": LABEL,
            "expires_in": {"type": "integer", "minimum": 1, "description": "seconds"},
            "short": {
                "type": "boolean",
                "description": "a /l/CODE link; pre-fill stays on the server",
            },
        },
    },
    "Link": {
        "type": "object",
        "required": ["url", "short_url"],
        "properties": {
            "url": STRING,
            "short_url": _nullable(STRING),
            "qr_svg": STRING,
            "qr_png": STRING,
        },
    },
    "Order": {
        "type": "object",
        "required": ["number", "status", "total", "lines", "attribution"],
        "properties": {
            "number": STRING,
            "status": {"enum": ["pending", "paid", "failed", "canceled", "refunded"]},
            "total": _ref("Money"),
            "refunded": _ref("Money"),
            "email": STRING,
            "name": STRING,
            "shipping": {"type": ["object", "null"]},
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "sku": STRING,
                        "title": STRING,
                        "quantity": INT,
                        "unit_amount": INT,
                        "total_amount": INT,
                    },
                },
            },
            "attribution": {
                "type": "object",
                "properties": {
                    "source": _nullable(STRING),
                    "campaign": _nullable(STRING),
                    "content": _nullable(STRING),
                },
            },
            "payment": {"type": "object"},
            "attention": _nullable(STRING),
            "created_at": TIME,
            "paid_at": TIME,
            "fulfilled_at": TIME,
        },
    },
    "RefundInput": {
        "type": "object",
        "properties": {
            "amount": {"type": "integer", "minimum": 1, "description": "minor units; default all"},
            "restock": {"type": "boolean"},
        },
    },
    "WebhookEndpoint": {
        "type": "object",
        "required": ["id", "url", "events", "enabled"],
        "properties": {
            "id": STRING,
            "url": STRING,
            "events": {"type": "array", "items": STRING},
            "enabled": {"type": "boolean"},
            "disabled_reason": _nullable(STRING),
            "created_at": TIME,
            "secret": {"type": "string", "description": "whsec_…, shown on create and rotate"},
            "previous_secret_valid_until": TIME,
        },
    },
    "WebhookEndpointInput": {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "https; not a private address"},
            "events": {
                "type": "array",
                "minItems": 1,
                "items": {"enum": [*EVENT_TYPES, "*"]},
            },
        },
    },
    "Delivery": {
        "type": "object",
        "properties": {
            "event_id": STRING,
            "event_type": STRING,
            "status": {"enum": ["pending", "delivered", "failed", "canceled"]},
            "attempts": {"type": "array", "items": {"type": "object"}},
            "next_attempt_at": TIME,
            "delivered_at": TIME,
        },
    },
}


def _list_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref(name)},
            "next_cursor": _nullable(STRING),
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": {"description": "no valid API key", **_json(_ref("Error"))},
    "403": {"description": "the key may not do this", **_json(_ref("Error"))},
    "404": {"description": "not found", **_json(_ref("Error"))},
    "409": {"description": "conflict (state, stock or idempotency key)", **_json(_ref("Error"))},
    "422": {"description": "invalid request", **_json(_ref("Error"))},
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "same key + same body → the same answer; another body → 409",
}
LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
}
CURSOR = {
    "name": "cursor",
    "in": "query",
    "schema": {"type": "string", "pattern": "^c_[0-9]{1,18}$"},
}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(
    summary: str,
    answer: dict[str, Any],
    *,
    status: str = "200",
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
    write: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [*(params or []), *([IDEMPOTENCY] if write else [])],
        "responses": {status: {"description": "OK", **_json(answer)}, **ERRORS},
    }
    if body:
        operation["requestBody"] = {"required": True, **_json(_ref(body))}
    if write:
        operation["description"] = "Needs a write key."
    return operation


def document() -> dict[str, Any]:
    sku, number, endpoint_id = _path("sku"), _path("number"), _path("endpoint_id")
    order_filters = [
        {"name": "status", "in": "query", "schema": SCHEMAS["Order"]["properties"]["status"]},
        {"name": "source", "in": "query", "schema": STRING},
        {"name": "campaign", "in": "query", "schema": STRING},
        {"name": "content", "in": "query", "schema": STRING},
        {
            "name": "created_after",
            "in": "query",
            "schema": {"type": "string", "format": "date-time"},
        },
        {
            "name": "created_before",
            "in": "query",
            "schema": {"type": "string", "format": "date-time"},
        },
        LIMIT,
        CURSOR,
    ]
    product, order = _ref("Product"), _ref("Order")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "buybutton API",
            "version": "1",
            "description": "Catalog, stock, links, orders and webhooks for a buybutton shop. "
            "Authenticate with `Authorization: Bearer bb_…` (`buybutton keys create`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/products": {
                "get": _operation(
                    "List products",
                    _list_of("Product"),
                    params=[
                        LIMIT,
                        CURSOR,
                        {
                            "name": "include_archived",
                            "in": "query",
                            "schema": {"enum": ["true", "false"]},
                        },
                    ],
                ),
                "post": _operation(
                    "Create a product", product, status="201", body="ProductInput", write=True
                ),
            },
            "/api/v1/products/{sku}": {
                "get": _operation("Get a product", product, params=[sku]),
                "patch": _operation(
                    "Update a product (not its stock)",
                    product,
                    body="ProductInput",
                    params=[sku],
                    write=True,
                ),
                "delete": _operation(
                    "Archive a product (it leaves sale; orders keep it)",
                    product,
                    params=[sku],
                    write=True,
                ),
            },
            "/api/v1/products/{sku}/stock": {
                "post": _operation(
                    "Set (on_hand) or adjust (delta) stock; never below what checkouts hold",
                    product,
                    body="StockChange",
                    params=[sku],
                    write=True,
                ),
            },
            "/api/v1/stock": {
                "post": _operation(
                    "Bulk stock sync for POS and ERP systems, all or nothing",
                    _list_of("Product"),
                    body="BulkStock",
                    write=True,
                ),
            },
            "/api/v1/links": {
                "post": _operation(
                    "Mint a signed checkout link or a short link",
                    _ref("Link"),
                    status="201",
                    body="LinkInput",
                    write=True,
                ),
            },
            "/api/v1/stats": {
                "get": _operation(
                    "The funnel (impressions, clicks, checkouts, paid, revenue) per product, "
                    "source, campaign and content",
                    _ref("Stats"),
                    params=[
                        {"name": "since", "in": "query", "schema": STRING},
                        {"name": "until", "in": "query", "schema": STRING},
                    ],
                ),
            },
            "/api/v1/orders": {
                "get": _operation("List orders", _list_of("Order"), params=order_filters),
            },
            "/api/v1/orders/{number}": {
                "get": _operation("Get an order", order, params=[number]),
            },
            "/api/v1/orders/{number}/refund": {
                "post": _operation(
                    "Refund all or part of a paid order",
                    order,
                    body="RefundInput",
                    params=[number],
                    write=True,
                ),
            },
            "/api/v1/orders/{number}/fulfill": {
                "post": _operation(
                    "Mark a paid order fulfilled (sends order.fulfilled once)",
                    order,
                    params=[number],
                    write=True,
                ),
            },
            "/api/v1/webhook-endpoints": {
                "get": _operation("List webhook endpoints", _list_of("WebhookEndpoint")),
                "post": _operation(
                    "Create a webhook endpoint (the answer holds its secret)",
                    _ref("WebhookEndpoint"),
                    status="201",
                    body="WebhookEndpointInput",
                    write=True,
                ),
            },
            "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret": {
                "post": _operation(
                    "Rotate the secret; the old one also signs for 24 hours",
                    _ref("WebhookEndpoint"),
                    params=[endpoint_id],
                    write=True,
                ),
            },
            "/api/v1/webhook-endpoints/{endpoint_id}/deliveries": {
                "get": _operation(
                    "Deliveries to this endpoint, with every attempt",
                    _list_of("Delivery"),
                    params=[endpoint_id, LIMIT, CURSOR],
                ),
            },
            "/api/v1/webhook-endpoints/{endpoint_id}/replay": {
                "post": _operation(
                    "Send an event to this endpoint again (same webhook-id)",
                    {
                        "type": "object",
                        "required": ["event_id", "status"],
                        "properties": {"event_id": STRING, "status": STRING},
                    },
                    status="202",
                    body="Replay",
                    params=[endpoint_id],
                    write=True,
                ),
            },
        },
    }


_FUNNEL_ROW = {
    "type": "object",
    "required": ["sku", "impressions", "clicks", "checkouts", "paid", "revenue"],
    "properties": {
        "sku": STRING,
        "source": _nullable(STRING),
        "campaign": _nullable(STRING),
        "content": _nullable(STRING),
        "impressions": INT,
        "clicks": INT,
        "checkouts": INT,
        "paid": INT,
        "failed": INT,
        "refunded": INT,
        "click_rate": {"type": ["number", "null"]},
        "conversion": {"type": ["number", "null"], "description": "paid orders per click"},
        "revenue": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"currency": STRING, "amount": INT},
            },
        },
    },
}
SCHEMAS["FunnelRow"] = _FUNNEL_ROW
SCHEMAS["Stats"] = {
    "type": "object",
    "required": ["since", "until", "totals", "rows"],
    "properties": {
        "since": STRING,
        "until": STRING,
        "median_seconds_to_pay": {"type": ["number", "null"]},
        "totals": _ref("FunnelRow"),
        "rows": {"type": "array", "items": _ref("FunnelRow")},
    },
}
SCHEMAS["Replay"] = {"type": "object", "required": ["event_id"], "properties": {"event_id": STRING}}
