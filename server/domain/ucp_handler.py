"""The documents behind our test payment handler's ``spec`` and ``schema`` URLs.

``com.buybutton.test_payment`` (:data:`.ucp_profiles.TEST_HANDLER`) is listed in the
business profile when the shop runs the built-in ``test`` payment provider. The UCP payment
handler guide (2026-04-08, "Defining the Schema") asks a handler to publish a human-readable
specification and a JSON Schema of its config, instrument and credential shapes; they are
served at ``/ucp/handlers/test`` (:func:`spec`) and ``/ucp/handlers/test.json``
(:func:`schema`), the same for every shop, so a platform's conformance check that opens every
``spec``/``schema`` URL of the profile finds them.
"""

from __future__ import annotations

from typing import Any

from buybutton_server.domain.ucp_profiles import (
    FAILURE_TOKEN,
    SUCCESS_TOKEN,
    TEST_HANDLER,
    TEST_HANDLER_ID,
    VERSION,
)

SPEC_PATH = "/ucp/handlers/test"
SCHEMA_PATH = "/ucp/handlers/test.json"
_UCP = f"https://ucp.dev/{VERSION}/schemas"


def spec(base_url: str) -> str:
    """The handler's specification, as Markdown."""
    return f"""# {TEST_HANDLER}: test payments over UCP

Version {VERSION}. Schema: {base_url}{SCHEMA_PATH}

A sandbox payment handler for platforms under development. A shop offers it only while it
runs its built-in **test** payment provider: no money moves and no card data is accepted.
A platform that lists `{TEST_HANDLER}` in its own profile's `payment_handlers` sees the
handler (id `{TEST_HANDLER_ID}`) in checkout responses, and a session with nothing missing
is then `ready_for_complete`.

## Config

`{{"environment": "sandbox", "tokens": ["{SUCCESS_TOKEN}", "{FAILURE_TOKEN}"]}}`

## Instrument and credential

Complete the checkout (`POST {{endpoint}}/checkout-sessions/{{id}}/complete`) with one
instrument whose `handler_id` is `{TEST_HANDLER_ID}`, `type` is `card` and `credential` is a
token credential:

```json
{{"payment": {{"instruments": [{{"id": "pi_1", "handler_id": "{TEST_HANDLER_ID}",
  "type": "card", "selected": true,
  "credential": {{"type": "token", "token": "{SUCCESS_TOKEN}"}}}}]}}}}
```

- `{SUCCESS_TOKEN}`: the order is placed and paid; the session is `completed` with `order`.
- `{FAILURE_TOKEN}`: the payment is declined; a `payment_failed` error (severity
  `recoverable`) and the session stays `ready_for_complete`.
- Any other token, or a card number, is refused with `payment_failed`; tokens are never
  echoed in responses.

Outside the test provider the buyer pays on the shop's own page: open `continue_url`.
"""


def schema(base_url: str) -> dict[str, Any]:
    """The handler's JSON Schema (draft 2020-12): config, instrument and credential, and
    the handler entry in business profiles and responses."""
    config = {
        "type": "object",
        "required": ["environment"],
        "properties": {
            "environment": {"const": "sandbox"},
            "tokens": {
                "type": "array",
                "items": {"enum": [SUCCESS_TOKEN, FAILURE_TOKEN]},
            },
        },
    }
    credential = {
        "type": "object",
        "required": ["type", "token"],
        "properties": {
            "type": {"const": "token"},
            "token": {"enum": [SUCCESS_TOKEN, FAILURE_TOKEN], "ucp_response": "omit"},
        },
    }
    instrument = {
        "type": "object",
        "required": ["id", "handler_id", "type", "credential"],
        "properties": {
            "id": {"type": "string"},
            "handler_id": {"const": TEST_HANDLER_ID},
            "type": {"const": "card"},
            "selected": {"type": "boolean"},
            "credential": {"$ref": "#/$defs/test_credential"},
        },
    }

    def entry(kind: str, title: str) -> dict[str, Any]:
        return {
            "title": f"Test payments ({title})",
            "allOf": [
                {"$ref": f"{_UCP}/payment_handler.json#/$defs/{kind}"},
                {"properties": {"config": {"$ref": "#/$defs/test_config"}}},
            ],
        }

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url}{SCHEMA_PATH}",
        "title": "buybutton test payment handler",
        "description": f"Schema for the {TEST_HANDLER} payment handler ({base_url}{SPEC_PATH}).",
        "name": TEST_HANDLER,
        "version": VERSION,
        "$defs": {
            "test_config": config,
            "test_credential": credential,
            "test_instrument": instrument,
            TEST_HANDLER: {
                "payment_instrument": {"$ref": "#/$defs/test_instrument"},
                "business_schema": entry("business_schema", "business"),
                "response_schema": entry("response_schema", "response"),
            },
        },
    }


__all__ = ["SCHEMA_PATH", "SPEC_PATH", "schema", "spec"]
