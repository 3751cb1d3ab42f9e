"""The catalog through the API: list, create, read, update and archive products.

A product's rules are the domain's (:mod:`buybutton_server.domain.catalog`); the types here
add what JSON needs: a POST names sku, title, currency and a price (``price`` as a decimal
string, or ``price_amount`` in minor units); a PATCH changes any of the rest, but never the
sku or the stock (stock moves through :mod:`.stock`). ``prices`` is the product's price list
(exact prices in other currencies, :mod:`buybutton_server.domain.price_lists`): given, it
replaces the list; left out, the list stays.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import MAX_QUANTITY, SKU_PATTERN
from buybutton_server.db import models as db
from buybutton_server.db import read_session, write_session
from buybutton_server.domain import catalog, price_lists, product_search
from buybutton_server.domain.catalog import (
    DESCRIPTION_MAX,
    IMAGE_URL_MAX,
    LABEL_MAX,
    PRICE_MAX,
    STOCK_MAX,
    TITLE_MAX,
    check_currency,
    check_image_url,
    check_max_per_order,
    check_sku,
    check_title,
    price_in_minor_units,
)
from buybutton_server.domain.feeds_fields import BRAND_MAX, CATEGORY_MAX, FEED_COLUMNS, MPN_MAX
from buybutton_server.domain.feeds_fields import RULES as FEED_RULES
from buybutton_server.domain.outbox import iso_time
from buybutton_server.domain.price_lists import LIST_MAX
from buybutton_server.domain.product_search import Status
from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import (
    Answer,
    Input,
    ListQuery,
    Money,
    Timestamp,
    broken,
    page,
    rule,
    schema,
)

Sku = Annotated[str, rule(check_sku), schema(pattern=SKU_PATTERN.pattern)]
Title = Annotated[str, Field(max_length=TITLE_MAX), rule(check_title), schema(minLength=1)]
Currency = Annotated[str, rule(check_currency), schema(pattern="^[A-Za-z]{3}$")]
Price = Annotated[str, Field(max_length=PRICE_MAX, description='decimal, e.g. "24.90"')]
Amount = Annotated[int, Field(ge=0, le=catalog.AMOUNT_MAX, description="minor units")]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX)]
ImageUrl = Annotated[str, Field(max_length=IMAGE_URL_MAX), rule(check_image_url)]
Label = Annotated[str, Field(max_length=LABEL_MAX, description='"" leaves the group')]
Weight = Annotated[
    int, Field(ge=0, le=catalog.WEIGHT_MAX, description="grams, for shipping by weight")
]
TaxClassName = Literal["standard", "reduced", "zero", "digital"]


def _kept(name: str) -> Any:
    """Check a feed field by its rule but keep the text ("" clears it in ``_columns``)."""

    def check(value: str) -> str:
        FEED_RULES[name](value)
        return value

    return rule(check)


Brand = Annotated[str, Field(max_length=BRAND_MAX), _kept("brand")]
Gtin = Annotated[str, Field(max_length=20, description="GTIN-8/12/13/14, check digit verified"),
                 _kept("gtin")]  # fmt: skip
Mpn = Annotated[str, Field(max_length=MPN_MAX), _kept("mpn")]
Condition = Literal["new", "refurbished", "used"]
GoogleCategory = Annotated[
    str, Field(max_length=CATEGORY_MAX, description="Google product category id or path")
]
PerOrder = Annotated[
    int,
    Field(ge=1, le=MAX_QUANTITY, description="the most one order may take; 10 unless set"),
    rule(check_max_per_order),
]


class ListPrice(Input):
    """One entry of a price list: the exact price in a currency other than the product's."""

    currency: Currency
    amount: Annotated[int, Field(ge=1, le=catalog.AMOUNT_MAX, description="minor units")]


Prices = Annotated[
    list[ListPrice],
    Field(
        max_length=LIST_MAX,
        description="exact prices in other currencies, never converted; replaces the list",
    ),
]


class _ProductFields(Input):
    """What POST and PATCH share."""

    description: Description | None = None
    image_url: ImageUrl | None = None
    requires_shipping: bool | None = None
    active: bool | None = None
    variant_group: Label | None = None
    variant_label: Label | None = None
    max_per_order: PerOrder | None = None
    weight_grams: Weight | None = None
    tax_class: TaxClassName | None = None
    prices: Prices | None = None
    brand: Brand | None = None
    gtin: Gtin | None = None
    mpn: Mpn | None = None
    condition: Condition | None = None
    google_category: GoogleCategory | None = None

    def _given(self, *names: str) -> dict[str, Any]:
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def _columns(self) -> dict[str, Any]:
        fields = self._given(
            "title",
            "description",
            "image_url",
            "requires_shipping",
            "active",
            "max_per_order",
            "weight_grams",
            "tax_class",
        )
        for name in ("variant_group", "variant_label"):
            if getattr(self, name) is not None:
                fields[name] = getattr(self, name) or None  # "" leaves the group
        for name in FEED_COLUMNS:  # "" clears one
            if getattr(self, name) is not None:
                fields[name] = FEED_RULES[name](getattr(self, name))
        return fields

    def price_list(self) -> list[tuple[str, int]] | None:
        return None if self.prices is None else [(p.currency, p.amount) for p in self.prices]


class ProductCreate(_ProductFields):
    """A new product: sku, title, currency and a price (``price`` or ``price_amount``,
    exactly one) are required; ``stock`` sets what is on hand."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["price"]}, {"required": ["price_amount"]}]}
    )

    sku: Sku
    title: Title
    currency: Currency
    price: Price | None = None
    price_amount: Amount | None = None
    stock: Annotated[int, Field(ge=0, le=STOCK_MAX)] = 0

    @model_validator(mode="after")
    def _one_price(self) -> Self:
        try:
            price_in_minor_units(self.price, self.price_amount, self.currency)
        except InvalidInput as problem:
            raise broken(problem.message) from None
        return self

    def columns(self) -> dict[str, Any]:
        """The product's columns (besides its sku), checked."""
        return {
            **self._columns(),
            "currency": self.currency,
            "price_amount": price_in_minor_units(self.price, self.price_amount, self.currency),
            "on_hand": self.stock,
        }


class ProductUpdate(_ProductFields):
    """Changes to a product: any field but its sku and stock. ``price`` needs ``currency``
    in the same request; ``price_amount`` keeps the product's currency unless given; a new
    ``currency`` needs a price (``price`` or ``price_amount``) in the same request."""

    extra_hint: ClassVar[str] = "Stock changes go to /stock."

    title: Title | None = None
    currency: Currency | None = None
    price: Price | None = None
    price_amount: Amount | None = None

    @model_validator(mode="after")
    def _price_with_currency(self) -> Self:
        if self.price is not None and self.price_amount is not None:
            raise broken("Give price (a decimal string) or price_amount, not both.")
        if self.price is not None and self.currency is None:
            raise broken("price needs currency in the same request.")
        if self.currency is not None and self.price is None and self.price_amount is None:
            # The amount alone would keep its digits and change its meaning (EUR 5.00 would
            # become JPY 500), so a currency change names the price in that currency.
            raise broken("currency needs price or price_amount in the same request.")
        if self.price is not None and self.currency is not None:
            try:
                price_in_minor_units(self.price, None, self.currency)
            except InvalidInput as problem:
                raise broken(problem.message) from None
        return self

    def columns(self) -> dict[str, Any]:
        fields = {**self._columns(), **self._given("currency", "price_amount")}
        if self.price is not None and self.currency is not None:
            fields["price_amount"] = price_in_minor_units(self.price, None, self.currency)
        return fields


class Stock(Answer):
    on_hand: int
    reserved: int
    available: int


class Product(Answer):
    sku: str
    title: str
    description: str
    image_url: str | None
    price: Money
    prices: list[Money]
    stock: Stock
    active: bool
    requires_shipping: bool
    variant_group: str | None
    variant_label: str | None
    max_per_order: int
    weight_grams: int
    tax_class: str
    brand: str | None
    gtin: str | None
    mpn: str | None
    condition: str
    google_category: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None

    @classmethod
    def of(cls, product: db.Product) -> Product:
        return cls(
            sku=product.sku,
            title=product.title,
            description=product.description,
            image_url=product.image_url or None,
            price=Money.of(product.price_amount, product.currency),
            prices=[Money.of(entry.amount, entry.currency) for entry in product.prices],
            stock=Stock(
                on_hand=product.on_hand,
                reserved=product.reserved,
                available=max(product.on_hand - product.reserved, 0),
            ),
            active=product.active,
            requires_shipping=product.requires_shipping,
            variant_group=product.variant_group,
            variant_label=product.variant_label,
            max_per_order=product.max_per_order,
            weight_grams=product.weight_grams,
            tax_class=product.tax_class,
            brand=product.brand,
            gtin=product.gtin,
            mpn=product.mpn,
            condition=product.condition or "new",
            google_category=product.google_category,
            created_at=iso_time(product.created_at),
            updated_at=iso_time(product.updated_at),
        )


class ProductList(Answer):
    data: list[Product]
    next_cursor: str | None


class ProductQuery(ListQuery):
    include_archived: Literal["true", "false"] | None = None


Sessions = sessionmaker[Session]


def list_products(sessions: Sessions, query: ProductQuery) -> ProductList:
    with read_session(sessions) as session:
        rows = catalog.products_after(
            session,
            query.cursor,
            query.limit + 1,
            include_archived=query.include_archived == "true",
        )
        shown, cursor = page(rows, query.limit, lambda p: p.id)
        return ProductList(data=[Product.of(p) for p in shown], next_cursor=cursor)


def create_product(sessions: Sessions, body: ProductCreate) -> Product:
    with write_session(sessions) as session:
        product = catalog.create_product(session, body.sku, body.columns())
        prices = body.price_list()
        if prices:
            price_lists.replace_prices(product, prices)
            session.flush()
        return Product.of(product)


def get_product(sessions: Sessions, sku: str) -> Product:
    with read_session(sessions) as session:
        return Product.of(catalog.require_product(session, sku))


def update_product(sessions: Sessions, sku: str, body: ProductUpdate) -> Product:
    with write_session(sessions) as session:
        product = catalog.update_product(session, sku, body.columns())
        prices = body.price_list()
        if prices is not None:
            price_lists.replace_prices(product, prices)
        price_lists.check_own_currency_unlisted(product)
        session.flush()
        return Product.of(product)


def archive_product(sessions: Sessions, sku: str) -> Product:
    """The product leaves sale (links show "no longer available"); orders keep it."""
    with write_session(sessions) as session:
        return Product.of(catalog.archive_product(session, sku))


# -- the admin's reads ----------------------------------------------------------------------


def search_products(sessions: Sessions, text: str, status: Status, limit: int) -> list[Product]:
    """Products whose sku or title contains ``text``, by title (the admin's list)."""
    with read_session(sessions) as session:
        found = product_search.search_products(session, text, status, limit)
        return [Product.of(p) for p in found]


def variant_siblings(sessions: Sessions, sku: str) -> list[Product]:
    """The other products in ``sku``'s variant group, archived ones included."""
    with read_session(sessions) as session:
        product = catalog.require_product(session, sku)
        return [Product.of(p) for p in product_search.variant_siblings(session, product)]
