"""``/api/v1/webhook-endpoints``: where order events go, their secrets and delivery log."""

from __future__ import annotations

from buybutton_server.services import webhook_endpoints as endpoints
from buybutton_server.services.api_types import ListQuery
from buybutton_server.services.webhook_endpoints import (
    DeliveryList,
    Replay,
    ReplayStarted,
    WebhookEndpoint,
    WebhookEndpointDeleted,
    WebhookEndpointInput,
    WebhookEndpointList,
)
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get("/webhook-endpoints", "List webhook endpoints")
def list_webhook_endpoints(api: ApiContext) -> WebhookEndpointList:
    return endpoints.list_endpoints(api.sessions)


@router.post(
    "/webhook-endpoints", "Create a webhook endpoint (the answer holds its secret)", status=201
)
def create_webhook_endpoint(api: ApiContext, body: WebhookEndpointInput) -> WebhookEndpoint:
    allow_private = not api.settings.production
    return endpoints.create_endpoint(
        api.sessions, body, allow_private=allow_private, ports=api.settings.webhook_ports
    )


@router.delete(
    "/webhook-endpoints/{endpoint_id}", "Delete a webhook endpoint with its delivery log"
)
def delete_webhook_endpoint(api: ApiContext, endpoint_id: str) -> WebhookEndpointDeleted:
    return endpoints.delete_endpoint(api.sessions, endpoint_id)


@router.post(
    "/webhook-endpoints/{endpoint_id}/disable",
    "Disable an endpoint: pending deliveries are canceled and nothing more is sent",
)
def disable_webhook_endpoint(api: ApiContext, endpoint_id: str) -> WebhookEndpoint:
    return endpoints.set_enabled(api.sessions, endpoint_id, enabled=False)


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable",
    "Enable an endpoint again (also after a 410); new events reach it from now on",
)
def enable_webhook_endpoint(api: ApiContext, endpoint_id: str) -> WebhookEndpoint:
    return endpoints.set_enabled(api.sessions, endpoint_id, enabled=True)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    "Rotate the secret; each replaced one also signs for 24 hours",
)
def rotate_secret(api: ApiContext, endpoint_id: str) -> WebhookEndpoint:
    return endpoints.rotate_secret(api.sessions, endpoint_id)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    "Deliveries to this endpoint, with every attempt",
)
def list_deliveries(api: ApiContext, endpoint_id: str, query: ListQuery) -> DeliveryList:
    return endpoints.list_deliveries(api.sessions, endpoint_id, query)


@router.post(
    "/webhook-endpoints/{endpoint_id}/replay",
    "Send an event to this endpoint again (same webhook-id)",
    status=202,
)
def replay_event(api: ApiContext, endpoint_id: str, body: Replay) -> ReplayStarted:
    return endpoints.replay(api.sessions, endpoint_id, body)
