"""The shop's own profile: one row of identity, policies and the publishers' sites."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ShopProfile(Base):
    """What the owner saves on the settings page; there is at most one row (``id = 1``).
    ``allowed_origins`` holds one origin per line, added to ``BUYBUTTON_ALLOWED_ORIGINS``."""

    __tablename__ = "shop_profile"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    support_email: Mapped[str | None] = mapped_column(String(254))
    logo_url: Mapped[str | None] = mapped_column(String(2048))
    legal_address: Mapped[str | None] = mapped_column(Text)
    terms_url: Mapped[str | None] = mapped_column(String(2048))
    returns_url: Mapped[str | None] = mapped_column(String(2048))
    privacy_url: Mapped[str | None] = mapped_column(String(2048))
    allowed_origins: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Where the shop sells from (ISO 3166-1 alpha-2): taxes digital goods without an address.
    country: Mapped[str] = mapped_column(String(2), default="US", server_default="US")
    # Prices include VAT/GST where the buyer's country has one (EU-style); US and Canadian
    # sales taxes are always added on top. See docs/tax.md.
    prices_include_tax: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # Whether the checkout charges tax at all: off until the owner turns it on (a shop
    # collects tax only where it is registered to), on in the demo. See docs/tax.md.
    collect_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The shoppers' language when nothing in the request names one we ship (docs/languages.md).
    default_locale: Mapped[str | None] = mapped_column(String(35))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
