"""``/api/v1/returns`` and ``/api/v1/orders/{number}/returns``: returns and their moves
(approve, receive, refund, reject)."""

from __future__ import annotations

from buybutton_server.services import returns
from buybutton_server.services.returns import (
    ReturnCreate,
    ReturnList,
    ReturnOut,
    ReturnQuery,
    ReturnRefund,
    ReturnReject,
    parse_id,
)
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get("/returns", "List returns, newest first (filter by status)")
def list_returns(api: ApiContext, query: ReturnQuery) -> ReturnList:
    return returns.list_returns(api.sessions, query)


@router.get("/orders/{number}/returns", "List an order's returns, oldest first", errors=[404])
def list_order_returns(api: ApiContext, number: str) -> ReturnList:
    return returns.order_returns(api.sessions, number)


@router.post(
    "/orders/{number}/returns",
    "Ask for a return of some lines (by sku) on the shopper's behalf; sends return.requested",
    status=201,
    errors=[404],
)
def create_return(api: ApiContext, number: str, body: ReturnCreate) -> ReturnOut:
    return returns.create_for_order(api.sessions, number, body, api.settings.return_window_days)


@router.get("/returns/{return_id}", "Get a return", errors=[404])
def get_return(api: ApiContext, return_id: str) -> ReturnOut:
    return returns.get_return(api.sessions, parse_id(return_id))


@router.post("/returns/{return_id}/approve", "Approve a requested return", errors=[404])
def approve_return(api: ApiContext, return_id: str) -> ReturnOut:
    return returns.approve(api.sessions, parse_id(return_id))


@router.post(
    "/returns/{return_id}/receive",
    "Mark an approved return received; sends return.received",
    errors=[404],
)
def receive_return(api: ApiContext, return_id: str) -> ReturnOut:
    return returns.receive(api.sessions, parse_id(return_id))


@router.post(
    "/returns/{return_id}/refund",
    "Refund a received return (default: its lines' share of what was paid, no shipping), "
    "restocking unless restock is false; sends order.refunded",
    errors=[404],
)
def refund_return(api: ApiContext, return_id: str, body: ReturnRefund) -> ReturnOut:
    restock = True if body.restock is None else body.restock
    return returns.refund(
        api.sessions, api.payments, parse_id(return_id), amount=body.amount, restock=restock
    )


@router.post("/returns/{return_id}/reject", "Reject a return not yet refunded", errors=[404])
def reject_return(api: ApiContext, return_id: str, body: ReturnReject) -> ReturnOut:
    return returns.reject(api.sessions, parse_id(return_id), body.note)
