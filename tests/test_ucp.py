"""UCP business endpoint (issue 13, item 9): the profile, the checkout REST binding with the
discount and fulfillment extensions, negotiation through UCP-Agent, idempotency, the
hand-off to our checkout and the test payment handler. Every UCP answer is validated
against the official 2026-04-08 JSON schemas (tests/ucp_schemas)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import LinkSigner
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, ShortLink, UcpCheckoutSession
from buybutton_server.domain import discount_codes, quoting, shipping, shop_profile
from buybutton_server.domain.checkout_model import Address
from buybutton_server.domain.ucp_profiles import (
    TEST_HANDLER,
    TEST_HANDLER_ID,
    VERSION,
    parse_dictionary,
)
from tests.conftest import BASE_URL, SECRET, add_product, path_of

SCHEMAS = Path(__file__).parent / "ucp_schemas"
GERMANY = {
    "first_name": "Jonas",
    "last_name": "Weber",
    "street_address": "Unter den Linden 1",
    "address_locality": "Berlin",
    "postal_code": "10117",
    "address_country": "DE",
}
BUYER = {"email": "jonas@example.com", "first_name": "Jonas", "last_name": "Weber"}
LINES = [{"item": {"id": "MUG-01"}, "quantity": 2}, {"item": {"id": "TEE-M"}, "quantity": 1}]


# -- the official schemas ------------------------------------------------------------------------


def _registry() -> Registry:
    registry: Registry = Registry()
    for path in SCHEMAS.rglob("*.json"):
        text = path.read_text()
        if path.name == "profile_schema.json":  # see tests/ucp_schemas/README.md
            text = text.replace('"../schemas/', '"../')
        document = json.loads(text)
        registry = registry.with_resource(document["$id"], Resource.from_contents(document))
    return registry


REGISTRY = _registry()
_BASE = "https://ucp.dev/schemas/"
CHECKOUT = Draft202012Validator(
    {
        "allOf": [
            {"$ref": _BASE + "shopping/discount.json#/$defs/dev.ucp.shopping.checkout"},
            {"$ref": _BASE + "shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout"},
        ]
    },
    registry=REGISTRY,
)
ERROR = Draft202012Validator(
    {"$ref": _BASE + "shopping/types/error_response.json"}, registry=REGISTRY
)
PROFILE = Draft202012Validator(
    {"$ref": _BASE + "discovery/profile.json#/$defs/business_profile"}, registry=REGISTRY
)


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` after checking it against the schema its shape claims, and the totals rule."""
    if body.get("ucp", {}).get("status") == "error":
        problems = [e.message for e in ERROR.iter_errors(body)]
    else:
        problems = [f"{list(e.path)}: {e.message}" for e in CHECKOUT.iter_errors(body)]
        entries = body["totals"]
        total = next(e["amount"] for e in entries if e["type"] == "total")
        assert sum(e["amount"] for e in entries if e["type"] != "total") == total
        for entry in entries:
            if "lines" in entry:
                assert sum(line["amount"] for line in entry["lines"]) == entry["amount"]
        if body["status"] == "requires_escalation":
            assert body["continue_url"]
            assert any(m.get("severity", "").startswith("requires_buyer") for m in body["messages"])
    assert not problems, problems
    return body


# -- a platform serving its profile ---------------------------------------------------------------


def platform_profile(**changes: Any) -> dict[str, Any]:
    def capability(name: str, extends: str | None = None) -> list[dict[str, Any]]:
        entry = {
            "version": VERSION,
            "spec": f"https://ucp.dev/{VERSION}/specification/x",
            "schema": f"https://ucp.dev/{VERSION}/schemas/shopping/x.json",
        }
        return [{**entry, "extends": extends} if extends else entry]

    ucp = {
        "version": VERSION,
        "services": {},
        "capabilities": {
            "dev.ucp.shopping.checkout": capability("dev.ucp.shopping.checkout"),
            "dev.ucp.shopping.discount": capability("d", "dev.ucp.shopping.checkout"),
            "dev.ucp.shopping.fulfillment": capability("f", "dev.ucp.shopping.checkout"),
        },
        "payment_handlers": {TEST_HANDLER: [{"id": TEST_HANDLER_ID, "version": VERSION}]},
    }
    ucp.update(changes)
    return {"ucp": ucp}


class Platform:
    """Serves profiles at ``/{name}`` on 127.0.0.1 and counts the fetches."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.fetches = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                platform.fetches += 1
                body = platform.documents.get(self.path.lstrip("/"))
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, name: str, document: dict[str, Any] | bytes) -> str:
        raw = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[name] = raw
        return f'profile="http://127.0.0.1:{self.server.server_address[1]}/{name}"'


@pytest.fixture
def platform() -> Iterator[Platform]:
    served = Platform()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def shop(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    """The demo shop's rules: sells from Portugal, tax-inclusive prices in EUR, zones and
    rates, WELCOME10 and SHIPFREE."""
    add_product(sessions, price="24.00", currency="EUR", stock=10)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", currency="EUR", stock=1)
    with write_session(sessions) as session:
        shop_profile.seed_demo_identity(session)
        shipping.seed_demo_shipping(session, "EUR")
        discount_codes.seed_demo_codes(session)
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


class Agent:
    """A platform talking to the shop: UCP-Agent on every call, a fresh key per write."""

    def __init__(self, client: TestClient, agent: str) -> None:
        self.client, self.agent = client, agent

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"UCP-Agent": self.agent, "Idempotency-Key": key or str(uuid.uuid4())}

    def create(self, body: dict[str, Any], key: str | None = None) -> Any:
        return self.client.post("/ucp/checkout-sessions", json=body, headers=self.headers(key))

    def get(self, id: str) -> Any:
        return self.client.get(f"/ucp/checkout-sessions/{id}", headers={"UCP-Agent": self.agent})

    def update(self, id: str, body: dict[str, Any], key: str | None = None) -> Any:
        url = f"/ucp/checkout-sessions/{id}"
        return self.client.put(url, json=body, headers=self.headers(key))

    def complete(self, id: str, token: str, key: str | None = None) -> Any:
        body = {
            "payment": {
                "instruments": [
                    {
                        "id": "pi_1",
                        "handler_id": TEST_HANDLER_ID,
                        "type": "card",
                        "selected": True,
                        "credential": {"type": "token", "token": token},
                    }
                ]
            }
        }
        url = f"/ucp/checkout-sessions/{id}/complete"
        return self.client.post(url, json=body, headers=self.headers(key))

    def cancel(self, id: str, key: str | None = None) -> Any:
        url = f"/ucp/checkout-sessions/{id}/cancel"
        return self.client.post(url, json={}, headers=self.headers(key))


@pytest.fixture
def agent(shop: TestClient, platform: Platform) -> Agent:
    return Agent(shop, platform.serve("profile", platform_profile()))


def german_update(codes: list[str]) -> dict[str, Any]:
    return {
        "line_items": LINES,
        "buyer": BUYER,
        "discounts": {"codes": codes},
        "fulfillment": {"methods": [{"type": "shipping", "destinations": [GERMANY]}]},
    }


def amounts(body: dict[str, Any]) -> dict[str, int]:
    return {e["type"]: e["amount"] for e in body["totals"]}


# -- discovery ---------------------------------------------------------------------------------


def test_the_profile_is_public_cacheable_and_valid(shop: TestClient) -> None:
    answer = shop.get("/.well-known/ucp")
    assert answer.status_code == 200
    assert "public" in answer.headers["cache-control"]
    assert int(re.search(r"max-age=(\d+)", answer.headers["cache-control"])[1]) >= 60  # type: ignore[index]
    profile = answer.json()
    assert not [e.message for e in PROFILE.iter_errors(profile)]
    ucp = profile["ucp"]
    assert ucp["version"] == VERSION
    assert ucp["services"]["dev.ucp.shopping"][0]["endpoint"] == f"{BASE_URL}/ucp"
    assert set(ucp["capabilities"]) == {
        "dev.ucp.shopping.checkout",
        "dev.ucp.shopping.discount",
        "dev.ucp.shopping.fulfillment",
    }
    handler = ucp["payment_handlers"][TEST_HANDLER][0]
    assert handler["id"] == TEST_HANDLER_ID
    assert handler["config"]["tokens"] == ["success_token", "fail_token"]


# -- the done-when -------------------------------------------------------------------------------


def test_a_session_for_two_products_with_a_german_address_and_a_code(
    agent: Agent, shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    created = agent.create({"line_items": LINES})
    assert created.status_code == 201
    first = valid(created.json())
    assert first["status"] == "incomplete" and first["currency"] == "EUR"
    assert [m["path"] for m in first["messages"]] == [
        "$.fulfillment.methods[0].destinations",
        "$.buyer.email",
        "$.buyer.first_name",
    ]
    assert [
        (li["item"]["id"], li["item"]["price"], li["quantity"]) for li in first["line_items"]
    ] == [
        ("MUG-01", 2400, 2),
        ("TEE-M", 3000, 1),
    ]

    updated = agent.update(first["id"], german_update(["welcome10"]))
    assert updated.status_code == 200
    body = valid(updated.json())
    assert body["status"] == "ready_for_complete"
    # The same numbers as the one pricing engine gives for this cart, address and code.
    with sessions() as session:
        quote = quoting.quote(
            session,
            quoting.QuoteRequest(
                lines=(("MUG-01", 2), ("TEE-M", 1)),
                ship_to=Address(country="DE", city="Berlin", postal_code="10117", line1="x"),
                codes=("WELCOME10",),
            ),
            now=__import__("datetime").datetime.now(__import__("datetime").UTC),
        )
    shipped = quote.selected_shipping.amount if quote.selected_shipping else 0
    assert amounts(body) == {
        "subtotal": quote.totals.subtotal,
        "discount": -(quote.totals.discount + shipped - quote.totals.fulfillment),
        "fulfillment": shipped,
        "total": quote.totals.total,
    }
    assert quote.totals.subtotal == 7800 and quote.totals.discount == 780
    total = next(e for e in body["totals"] if e["type"] == "total")
    assert total["lines"][1] == {"display_text": "VAT included", "amount": quote.totals.tax}
    assert quote.totals.tax > 0  # 19 % German VAT inside the prices
    # The code echoed as sent, applied (positive amount) and allocated to both lines.
    assert body["discounts"]["codes"] == ["welcome10"]
    applied = body["discounts"]["applied"][0]
    assert applied["code"] == "WELCOME10" and applied["amount"] == 780
    assert sum(a["amount"] for a in applied["allocations"]) == 780
    # Fulfillment: one method, the destination with an id, one group with options.
    method = body["fulfillment"]["methods"][0]
    assert method["line_item_ids"] == ["li_1", "li_2"]
    assert method["selected_destination_id"] == method["destinations"][0]["id"]
    group = method["groups"][0]
    assert group["selected_option_id"] == quote.selected_shipping.id  # type: ignore[union-attr]
    assert {o["id"] for o in group["options"]} == {o.id for o in quote.shipping_options}

    # continue_url opens our checkout with the same lines, the code and the buyer.
    assert body["continue_url"].startswith(BASE_URL)
    hop = shop.get(path_of(body["continue_url"]))
    assert hop.status_code == 303 and hop.headers["cache-control"] == "no-store"
    assert hop.headers["location"].startswith("/l/")
    with sessions() as session:
        stored = session.scalar(select(ShortLink).order_by(ShortLink.id.desc()))
        assert stored is not None
        assert (stored.email, stored.name) == ("jonas@example.com", "Jonas Weber")
        assert (stored.country, stored.postal_code, stored.line1) == (
            "DE",
            "10117",
            "Unter den Linden 1",
        )
    signed = shop.get(hop.headers["location"])
    assert signed.status_code in (302, 303, 307)
    token = signed.headers["location"].split("/c/", 1)[1].split("?")[0]
    link = LinkSigner([SECRET]).verify(token)
    assert link.lines == (("MUG-01", 2), ("TEE-M", 1))
    assert link.codes == ("WELCOME10",) and link.source == "ucp"
    assert link.email is None and link.short_code  # the pre-fill stays on the server
    page = shop.get(signed.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert "Stoneware Mug" in html and "Linen tee" in html
    # Opening it again reuses the link minted for this state.
    assert shop.get(path_of(body["continue_url"])).headers["location"] == hop.headers["location"]


def test_discount_codes_are_case_insensitive_and_unknown_ones_warn(agent: Agent) -> None:
    body = valid(agent.create(german_update(["nope-1", "Welcome10"])).json())
    warning = body["messages"][0]
    assert warning == {
        "type": "warning",
        "code": "discount_code_invalid",
        "path": "$.discounts.codes[0]",
        "content": "NOPE-1 is not a code we know.",
    }
    assert [a["code"] for a in body["discounts"]["applied"]] == ["WELCOME10"]
    assert body["status"] == "ready_for_complete"  # a warning does not block
    cleared = valid(agent.update(body["id"], {**german_update([])}).json())
    assert "discount" not in amounts(cleared) and cleared["discounts"]["applied"] == []


def test_an_address_we_cannot_ship_to_or_that_is_wrong_is_a_recoverable_error(
    agent: Agent,
) -> None:
    nowhere = {
        **german_update([]),
        "fulfillment": {
            "methods": [
                {
                    "type": "shipping",
                    "destinations": [{**GERMANY, "address_country": "AQ", "postal_code": ""}],
                }
            ]
        },
    }
    body = valid(agent.create(nowhere).json())
    assert body["status"] == "incomplete"
    assert {"address_undeliverable"} <= {m["code"] for m in body["messages"]}
    bad_postal = {
        **german_update([]),
        "fulfillment": {
            "methods": [{"type": "shipping", "destinations": [{**GERMANY, "postal_code": "1"}]}]
        },
    }
    body = valid(agent.update(body["id"], bad_postal).json())
    problem = next(m for m in body["messages"] if m["type"] == "error")
    assert problem["severity"] == "recoverable"
    assert problem["path"] == "$.fulfillment.methods[0].destinations[0].postal_code"


def test_unknown_products_and_too_many_lines_create_nothing(
    agent: Agent, sessions: sessionmaker[Session]
) -> None:
    unknown = agent.create({"line_items": [{"item": {"id": "NOPE-9"}, "quantity": 1}]})
    assert unknown.status_code == 200
    assert valid(unknown.json())["messages"][0]["code"] == "item_unavailable"
    many = [{"item": {"id": f"S{n}"}, "quantity": 1} for n in range(21)]
    assert valid(agent.create({"line_items": many}).json())["ucp"]["status"] == "error"
    sold = agent.create({"line_items": [{"item": {"id": "TEE-M"}, "quantity": 2}]}).json()
    assert valid(sold)["messages"][0]["code"] == "out_of_stock"
    assert agent.create({"line_items": "MUG-01"}).status_code == 400
    bad = agent.client.post("/ucp/checkout-sessions", content=b"{not json", headers=agent.headers())
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(UcpCheckoutSession)) == 1


# -- idempotency and immutability ----------------------------------------------------------------


def test_the_same_key_replays_and_another_body_is_a_conflict(
    agent: Agent, sessions: sessionmaker[Session]
) -> None:
    key = str(uuid.uuid4())
    first = agent.create({"line_items": LINES}, key=key)
    again = agent.create({"line_items": LINES}, key=key)
    assert (again.status_code, again.json()) == (201, first.json())
    other = agent.create({"line_items": LINES[:1]}, key=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(UcpCheckoutSession)) == 1
    missing = agent.client.post(
        "/ucp/checkout-sessions", json={"line_items": LINES}, headers={"UCP-Agent": agent.agent}
    )
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"


def test_complete_with_the_test_handler_pays_once_and_then_nothing_changes(
    agent: Agent, sessions: sessionmaker[Session]
) -> None:
    id = agent.create(german_update(["WELCOME10"])).json()["id"]
    failed = valid(agent.complete(id, "fail_token").json())
    assert failed["status"] == "ready_for_complete" and "order" not in failed
    assert failed["messages"][0]["code"] == "payment_failed"
    assert failed["messages"][0]["severity"] == "recoverable"
    key = str(uuid.uuid4())
    done = agent.complete(id, "success_token", key=key)
    body = valid(done.json())
    assert body["status"] == "completed" and "continue_url" not in body
    assert body["order"]["permalink_url"].startswith(f"{BASE_URL}/orders/")
    assert "credential" not in done.text  # credentials are never echoed
    with sessions() as session:
        paid = session.scalars(select(Order).where(Order.status == "paid")).all()
        assert len(paid) == 1
        assert paid[0].total_amount == amounts(body)["total"]
        assert paid[0].discount_codes == "WELCOME10"
    # A retried complete replays the answer; nothing is charged twice.
    assert agent.complete(id, "success_token", key=key).json() == body
    for refused in (
        agent.complete(id, "success_token"),
        agent.update(id, german_update([])),
        agent.cancel(id),
    ):
        assert refused.status_code == 409 and refused.json()["code"] == "checkout_immutable"
    assert agent.get(id).json() == body
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Order).where(Order.status == "paid"))
            == 1
        )


def test_a_canceled_session_is_final(agent: Agent, shop: TestClient) -> None:
    body = agent.create({"line_items": LINES}).json()
    canceled = valid(agent.cancel(body["id"]).json())
    assert canceled["status"] == "canceled" and "continue_url" not in canceled
    assert agent.update(body["id"], german_update([])).status_code == 409
    assert agent.cancel(body["id"]).status_code == 409
    assert shop.get(path_of(body["continue_url"])).status_code == 410
    assert valid(agent.get("chk_unknown").json())["messages"][0]["code"] == "not_found"


def test_without_a_shared_payment_handler_the_buyer_pays_on_our_page(
    shop: TestClient, platform: Platform
) -> None:
    plain = Agent(shop, platform.serve("plain", platform_profile(payment_handlers={})))
    body = valid(plain.create(german_update([])).json())
    assert body["status"] == "requires_escalation"
    assert body["ucp"]["payment_handlers"] == {}
    assert body["messages"][-1]["severity"] == "requires_buyer_input"
    refused = valid(plain.complete(body["id"], "success_token").json())
    assert refused["status"] == "requires_escalation"


# -- negotiation -------------------------------------------------------------------------------


def test_ucp_agent_failures_answer_with_the_spec_codes(
    shop: TestClient, platform: Platform
) -> None:
    def create(agent_header: str | None) -> Any:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if agent_header is not None:
            headers["UCP-Agent"] = agent_header
        return shop.post("/ucp/checkout-sessions", json={"line_items": LINES}, headers=headers)

    cases = [
        (None, 400, "invalid_profile_url"),
        ("profile=https://no-quotes.example", 400, "invalid_profile_url"),
        ('profile="ftp://platform.example/ucp"', 400, "invalid_profile_url"),
        (
            platform.serve("x", platform_profile()).replace("/x", "/missing"),
            424,
            "profile_unreachable",
        ),
        ('profile="http://127.0.0.1:9/ucp"', 424, "profile_unreachable"),
        (platform.serve("junk", b"<html>"), 422, "profile_malformed"),
        (platform.serve("old", platform_profile(version="2025-01-01")), 422, "version_unsupported"),
    ]
    for header, status, code in cases:
        answer = create(header)
        assert (answer.status_code, answer.json()["code"]) == (status, code), header
    lacking = platform.serve("cart-only", platform_profile(capabilities={}))
    body = valid(create(lacking).json())
    assert body["messages"][0]["code"] == "capabilities_incompatible"


def test_the_platform_profile_is_cached(agent: Agent, platform: Platform) -> None:
    id = agent.create({"line_items": LINES}).json()["id"]
    agent.get(id)
    agent.get(id)
    assert platform.fetches == 1


def test_extensions_the_platform_lacks_are_left_out(shop: TestClient, platform: Platform) -> None:
    only = platform_profile()
    del only["ucp"]["capabilities"]["dev.ucp.shopping.discount"]
    del only["ucp"]["capabilities"]["dev.ucp.shopping.fulfillment"]
    core = Agent(shop, platform.serve("core", only))
    body = valid(core.create({**german_update(["WELCOME10"])}).json())
    assert set(body["ucp"]["capabilities"]) == {"dev.ucp.shopping.checkout"}
    assert "discounts" not in body and "fulfillment" not in body
    assert body["status"] == "requires_escalation"  # the address is given on our page


def test_the_agent_header_is_an_rfc_8941_dictionary() -> None:
    assert parse_dictionary('profile="https://a.example/u\\"q"; v=1, x=?1') == {
        "profile": 'https://a.example/u"q',
        "x": None,
    }
    for bad in ('profile="open', "profile=", "a=1,", "Profile=1"):
        with pytest.raises(ValueError):
            parse_dictionary(bad)


# -- the cart permalink --------------------------------------------------------------------------


def test_the_permalink_answers_303_no_store(shop: TestClient) -> None:
    answer = shop.get("/buy/MUG-01:2,TEE-M:1?discounts/codes/0=welcome10&continue_to=/x/../done")
    assert answer.status_code == 303
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["location"].startswith("/c/")
    assert "return=http%3A%2F%2Fshop.test%2Fdone" in answer.headers["location"]
    twice = shop.get("/buy/MUG-01:1?buyer/email=a%40b.co&/buyer/email=c%40d.co")
    assert twice.status_code == 400 and twice.headers["cache-control"] == "no-store"
