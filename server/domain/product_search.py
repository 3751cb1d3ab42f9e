"""Finding products for the merchant: a search by sku or title, and a product's variants."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import Product

Status = Literal["active", "archived", "all"]


def _like(text: str) -> str:
    """A LIKE pattern that finds ``text`` anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_products(session: Session, text: str, status: Status, limit: int) -> list[Product]:
    """Products whose sku or title contains ``text`` (any case), by title then sku, with
    their price lists; ``status`` keeps the active, the archived or all of them."""
    query = (
        select(Product)
        .options(selectinload(Product.prices))
        .order_by(Product.title, Product.sku)
        .limit(limit)
    )
    if text.strip():
        pattern = _like(text.strip())
        query = query.where(
            or_(
                Product.sku.ilike(pattern, escape="\\"),
                Product.title.ilike(pattern, escape="\\"),
            )
        )
    if status != "all":
        query = query.where(Product.active.is_(status == "active"))
    return list(session.scalars(query))


def variant_siblings(session: Session, product: Product) -> list[Product]:
    """The other products of ``product``'s variant group, archived ones included."""
    if not product.variant_group:
        return []
    query = (
        select(Product)
        .where(Product.variant_group == product.variant_group, Product.id != product.id)
        .order_by(Product.variant_label, Product.sku)
    )
    return list(session.scalars(query))
