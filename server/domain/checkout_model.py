"""One checkout model for every way in: the hosted page, the wallet sheet, the REST API and
UCP (issue 13). Shaped after UCP's checkout object: line items, buyer, fulfilment,
discounts, typed totals and messages with a severity.

These are plain values with no database behind them. The pricing engine
(:mod:`buybutton_server.domain.pricing`) builds a :class:`Quote` from products the server
read itself, plus the shopper's address and codes. It uses the shipping rates
(:mod:`.shipping`), the discount rules (:mod:`.discounts`) and a :class:`TaxProvider`
(:mod:`.tax`).

Invariants (the property tests check them):
- All amounts are integers in the minor units of ``Quote.currency``. Nothing in a link, a
  form or an agent's request sets a price, a currency or a total.
- ``discount`` amounts are stored positive (what is taken off); UCP shows them negative.
- Per line: ``line.discount <= line.subtotal``. Tax is charged on ``subtotal - discount``.
- Tax-exclusive shops: ``total = subtotal - discount + fulfillment + tax``.
  Tax-inclusive shops: prices already contain tax, so ``total = subtotal - discount +
  fulfillment``. ``tax`` is then the part of the total that is tax, shown as "incl.".
- ``Totals.subtotal`` is the sum of the lines' subtotals, and the same holds for discount
  and tax (shipping tax goes into ``Totals.tax`` and ``Totals.fulfillment_tax``).
- The amount charged is ``Totals.total``, always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

MAX_LINES = 20


class TaxClass(StrEnum):
    """What rate a product pays: the country's standard rate, its reduced rate (food, books
    where the country has one), none, or the rate for digital goods (taxed where the buyer
    is in the EU)."""

    STANDARD = "standard"
    REDUCED = "reduced"
    ZERO = "zero"
    DIGITAL = "digital"


class Severity(StrEnum):
    """A message's weight, as in UCP: ``error`` stops the checkout; ``warning`` is shown
    while the checkout goes on (e.g. a discount code that does not apply); ``info`` is
    just information."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Message:
    """Something the shopper (or agent) should read. ``path`` points at the field it is
    about, as a JSONPath into the checkout (``$.line_items[1].quantity``,
    ``$.discounts.codes[0]``)."""

    severity: Severity
    code: str
    content: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address. ``country`` is ISO 3166-1 alpha-2 (upper case). ``region`` is the
    state or province code where the country has them (``CA`` for California)."""

    country: str
    region: str = ""
    city: str = ""
    postal_code: str = ""
    line1: str = ""
    line2: str = ""
    name: str = ""
    # Google's i18n data calls this the "sorting code" (CEDEX); some countries need it.
    sorting_code: str = ""


@dataclass(frozen=True, slots=True)
class CartProduct:
    """What the server knows about one product at pricing time (read from the database)."""

    product_id: int
    sku: str
    title: str
    unit_amount: int
    currency: str
    requires_shipping: bool = True
    weight_grams: int = 0
    tax_class: TaxClass = TaxClass.STANDARD
    # For discount codes scoped to a "collection": today, a product's variant group.
    collection: str | None = None


@dataclass(frozen=True, slots=True)
class CartLine:
    product: CartProduct
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.product.unit_amount * self.quantity


@dataclass(frozen=True, slots=True)
class ShippingOption:
    """One way to send the goods to an address: a rate of a zone, priced for this cart."""

    id: str
    title: str
    amount: int
    # How long it usually takes, for the page ("2-4 business days"); may be empty.
    delivery_estimate: str = ""


@dataclass(frozen=True, slots=True)
class PickupPoint:
    """The store a shopper collects at (pickup) or reserves at (``reserve``: pay in store),
    checked by :func:`.pickup.pickup_point`. Pricing reads it as a shipping option costing
    nothing (id ``pickup``) and taxes the goods where the store is (``address``)."""

    location_id: int
    code: str
    name: str
    address: Address
    reserve: bool = False
    # When an order placed now can be collected, and the words for it ("ready in 2 h").
    ready_at: datetime | None = None
    ready_text: str = ""
    hold_minutes: int = 0

    @property
    def method(self) -> str:
        return "reserve" if self.reserve else "pickup"

    @property
    def option(self) -> ShippingOption:
        verb = "Reserve at" if self.reserve else "Pick up at"
        return ShippingOption(id="pickup", title=f"{verb} {self.name}"[:100], amount=0)


@dataclass(frozen=True, slots=True)
class DiscountGrant:
    """A code that applies, and what it takes off. ``line_amounts`` runs parallel to the
    cart's lines (zero for lines out of the code's scope). ``shipping_amount`` is what it
    takes off shipping (a free-shipping code takes all of it)."""

    code: str
    title: str
    line_amounts: tuple[int, ...]
    shipping_amount: int = 0
    # A free-shipping code: pricing sets ``shipping_amount`` to the chosen option's price.
    free_shipping: bool = False

    @property
    def amount(self) -> int:
        return sum(self.line_amounts) + self.shipping_amount


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax on one line or on shipping: the rate in basis points (1900 = 19 %) and the
    amount. Zero-rated lines have rate 0."""

    rate_bp: int
    amount: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class TaxRequest:
    """What a tax provider needs. ``line_amounts`` are what each line costs after its
    discount (tax-inclusive shops: these amounts contain the tax). ``shipping_amount`` is
    the shipping charged after discounts."""

    currency: str
    prices_include_tax: bool
    ship_to: Address | None
    # The shop's own country: where digital goods and pickups are taxed when no address.
    origin_country: str
    lines: tuple[CartLine, ...]
    line_amounts: tuple[int, ...]
    shipping_amount: int


@dataclass(frozen=True, slots=True)
class TaxResult:
    lines: tuple[TaxLine, ...]
    shipping: TaxLine
    # Whether the amounts are the tax contained in the prices (True) or tax added on top
    # (False); None: as the request asked. The built-in table answers False for US and CA
    # addresses, whose sales taxes are added on top whatever the shop's setting.
    included: bool | None = None

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines) + self.shipping.amount


class TaxProvider(Protocol):
    """Computes tax. The built-in table (:mod:`.tax`) is the default; a Stripe Tax provider
    can stand behind the same call. Raises a ``ShopError`` kind (``Unavailable``) when it
    cannot answer: the checkout then stops rather than charge a wrong amount."""

    name: str

    def compute(self, request: TaxRequest) -> TaxResult: ...


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    title: str
    quantity: int
    unit_amount: int
    subtotal: int
    discount: int
    tax: TaxLine
    total: int


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    fulfillment: int
    tax: int
    total: int
    # The part of ``tax`` that is tax on shipping.
    fulfillment_tax: int = 0
    prices_include_tax: bool = False


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced checkout: what the page shows and what will be charged (``totals.total``)."""

    currency: str
    lines: tuple[PricedLine, ...]
    totals: Totals
    shipping_options: tuple[ShippingOption, ...] = ()
    selected_shipping: ShippingOption | None = None
    discounts: tuple[DiscountGrant, ...] = ()
    messages: tuple[Message, ...] = field(default=())

    @property
    def blocked(self) -> bool:
        return any(m.severity is Severity.ERROR for m in self.messages)
