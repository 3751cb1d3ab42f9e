"""``/api/v1/products`` and ``/api/v1/stock``: the catalog and its stock."""

from __future__ import annotations

from buybutton_server.services import catalog, stock
from buybutton_server.services.catalog import (
    Product,
    ProductCreate,
    ProductList,
    ProductQuery,
    ProductUpdate,
)
from buybutton_server.services.stock import BulkStock, StockChange
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


@router.get("/products", "List products")
def list_products(api: ApiContext, query: ProductQuery) -> ProductList:
    return catalog.list_products(api.sessions, query)


@router.post("/products", "Create a product", status=201)
def create_product(api: ApiContext, body: ProductCreate) -> Product:
    return catalog.create_product(api.sessions, body)


@router.get("/products/{sku}", "Get a product")
def get_product(api: ApiContext, sku: str) -> Product:
    return catalog.get_product(api.sessions, sku)


@router.patch("/products/{sku}", "Update a product (not its sku or stock)")
def update_product(api: ApiContext, sku: str, body: ProductUpdate) -> Product:
    return catalog.update_product(api.sessions, sku, body)


@router.delete("/products/{sku}", "Archive a product (it leaves sale; orders keep it)")
def archive_product(api: ApiContext, sku: str) -> Product:
    return catalog.archive_product(api.sessions, sku)


@router.post(
    "/products/{sku}/stock",
    "Set (on_hand) or adjust (delta) stock; never below what checkouts hold",
)
def set_stock(api: ApiContext, sku: str, body: StockChange) -> Product:
    return stock.set_stock(api.sessions, sku, body)


@router.post("/stock", "Bulk stock sync for POS and ERP systems, all or nothing", errors=[404])
def sync_stock(api: ApiContext, body: BulkStock) -> ProductList:
    return stock.sync_stock(api.sessions, body)
