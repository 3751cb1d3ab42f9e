"""``/api/v1/orders`` and ``/api/v1/stats``: orders, refunds, fulfilment and the funnel."""

from __future__ import annotations

from buybutton_server.services import location_stats, orders, reports
from buybutton_server.services.location_stats import LocationReport
from buybutton_server.services.orders import (
    FulfilInput,
    Order,
    OrderList,
    OrderQuery,
    RefundInput,
)
from buybutton_server.services.reports import Stats, StatsQuery
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get(
    "/stats",
    "The funnel (impressions, clicks, checkouts, paid, revenue) per product, source, "
    "campaign and content",
)
def stats(api: ApiContext, query: StatsQuery) -> Stats:
    return reports.stats(api.sessions, api.analytics, query)


@router.get(
    "/stats/locations",
    "Pickups, reservations, collections, returns and revenue per store",
)
def stats_per_location(api: ApiContext, query: StatsQuery) -> LocationReport:
    return location_stats.per_location(api.sessions, query)


@router.get("/orders", "List orders, newest first")
def list_orders(api: ApiContext, query: OrderQuery) -> OrderList:
    return orders.list_orders(api.sessions, query)


@router.get("/orders/{number}", "Get an order")
def get_order(api: ApiContext, number: str) -> Order:
    return orders.get_order(api.sessions, number)


@router.post("/orders/{number}/refund", "Refund all or part of a paid order")
def refund_order(api: ApiContext, number: str, body: RefundInput) -> Order:
    return orders.refund(api.sessions, api.payments, number, body)


@router.post(
    "/orders/{number}/fulfill",
    "Mark a paid order fulfilled, with optional tracking (sends order.fulfilled once, and "
    "again when the tracking changes)",
)
def fulfill_order(api: ApiContext, number: str, body: FulfilInput) -> Order:
    return orders.fulfil(api.sessions, number, body)
