"""Product feeds for shopping channels: the generation of each channel's URL key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class FeedKey(Base):
    """A channel's key is derived from the server's secret and ``generation``: rotating a
    feed's URL bumps the generation (no key is stored). No row: generation 1."""

    __tablename__ = "feed_keys"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    rotated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
