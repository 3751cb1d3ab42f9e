"""``/api/v1/discount-codes``: the shop's discount codes."""

from __future__ import annotations

from buybutton_server.services import discounts
from buybutton_server.services.discounts import (
    DiscountCode,
    DiscountCodeCreate,
    DiscountCodeList,
    DiscountCodeQuery,
)
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get("/discount-codes", "List discount codes, oldest first, with their use")
def list_discount_codes(api: ApiContext, query: DiscountCodeQuery) -> DiscountCodeList:
    return discounts.list_codes(api.sessions, query)


@router.post("/discount-codes", "Create a discount code (case-insensitive)", status=201)
def create_discount_code(api: ApiContext, body: DiscountCodeCreate) -> DiscountCode:
    return discounts.create_code(api.sessions, body)


@router.post(
    "/discount-codes/{code}/disable",
    "Disable a code: checkouts stop taking it; placed orders keep their discount",
)
def disable_discount_code(api: ApiContext, code: str) -> DiscountCode:
    return discounts.disable_code(api.sessions, code)


@router.post("/discount-codes/{code}/enable", "Enable a disabled code again")
def enable_discount_code(api: ApiContext, code: str) -> DiscountCode:
    return discounts.enable_code(api.sessions, code)
