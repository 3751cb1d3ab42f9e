"""Pictures of products, stored in the database and served under their SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ProductImage(Base):
    """One re-encoded picture of a product. ``position`` orders a product's pictures; the
    primary one is the picture whose address is the product's ``image_url``. The same bytes
    are stored once per product (``sha256`` is unique per product) and served at
    ``/media/products/<sha256>.<jpg|webp>``."""

    __tablename__ = "product_images"
    __table_args__ = (UniqueConstraint("product_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column("bytes", LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    alt: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
