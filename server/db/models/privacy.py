"""Erasure requests carried out (docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Erasure(Base):
    """One erasure carried out: when, asked through what (``api``, ``cli``) and how many
    records it changed. The address itself is not kept: only its SHA-256 (trimmed, lower
    case, as discount redemptions store it), so a later request can be answered "erased on
    ..." and the erasure shown to have happened."""

    __tablename__ = "privacy_erasures"
    __table_args__ = (Index("ix_privacy_erasures_email_hash", "email_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
    orders: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
