"""``/api/v1/locations``: warehouses and stores, and the stock each one holds."""

from __future__ import annotations

from buybutton_server.services import locations, pickup
from buybutton_server.services.locations import (
    Level,
    Location,
    LocationCreate,
    LocationList,
    LocationUpdate,
    ProductStock,
    StockAt,
)
from buybutton_server.services.pickup import PickupLocationList, PickupQuery
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get("/locations", "List locations in routing order (priority, then id)")
def list_locations(api: ApiContext) -> LocationList:
    return locations.list_locations(api.sessions)


@router.post("/locations", "Create a location (a warehouse or a store)", status=201)
def create_location(api: ApiContext, body: LocationCreate) -> Location:
    return locations.create_location(api.sessions, body)


@router.get("/locations/{code}", "Get a location")
def get_location(api: ApiContext, code: str) -> Location:
    return locations.get_location(api.sessions, code)


@router.patch("/locations/{code}", "Change a location (not its code)")
def update_location(api: ApiContext, code: str, body: LocationUpdate) -> Location:
    return locations.update_location(api.sessions, code, body)


@router.put(
    "/locations/{code}/stock/{sku}",
    "Set a product's units on hand at a location; never below what checkouts hold there",
)
def set_location_stock(api: ApiContext, code: str, sku: str, body: StockAt) -> Level:
    return locations.set_stock_at(api.sessions, code, sku, body)


@router.get("/products/{sku}/stock", "A product's stock: the totals sold online, per location")
def get_product_stock(api: ApiContext, sku: str) -> ProductStock:
    return locations.product_stock(api.sessions, sku)


@router.get(
    "/products/{sku}/pickup-locations",
    "Stores where a product can be picked up: in stock first, then nearest to lat/lng",
)
def get_pickup_locations(api: ApiContext, sku: str, query: PickupQuery) -> PickupLocationList:
    return pickup.product_pickup(api.sessions, sku, query)
