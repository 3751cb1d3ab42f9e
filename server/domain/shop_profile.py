"""The shop's identity as shoppers and emails see it: name, support address, logo, legal
address and policy links. (Issue 12: a stub until the settings page stores it.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class ShopIdentity:
    name: str = "buybutton shop"
    support_email: str | None = None
    logo_url: str | None = None
    legal_address: str | None = None
    terms_url: str | None = None
    returns_url: str | None = None
    privacy_url: str | None = None


def identity(session: Session) -> ShopIdentity:
    """The shop's identity; defaults until the owner has saved the settings page."""
    return ShopIdentity()
