"""What a product page adds for channels and messengers: the product's feed facts (brand,
GTIN, ...), its schema.org ``Product`` with an ``Offer`` (JSON-LD), and the link preview
picture (a 1200x630 JPEG under 300 KB, made with Pillow from the product's primary picture,
or a plain card with its title and price when it has none stored here)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from buybutton.money import decimal_string, format_amount
from buybutton_server.db.models import Product, ProductImage
from buybutton_server.domain.product_images import MEDIA_PREFIX

PREVIEW_SIZE = (1200, 630)
PREVIEW_MAX_BYTES = 300_000
PREVIEW_VERSION = "1"  # bump when the drawing changes: every preview gets a new address


@dataclass(frozen=True, slots=True)
class Facts:
    sku: str
    title: str
    description: str
    price_amount: int
    currency: str
    available: int
    brand: str | None
    gtin: str | None
    mpn: str | None
    condition: str
    google_category: str | None
    variant_group: str | None
    image_sha256: str | None  # the primary picture, when it is stored here

    @property
    def preview_digest(self) -> str:
        """The preview's content address: what the picture is drawn from."""
        source = self.image_sha256 or f"{self.title}\x00{self.price_amount}\x00{self.currency}"
        text = f"{PREVIEW_VERSION}\x00{self.sku}\x00{source}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def _primary_sha(image_url: str) -> str | None:
    at = image_url.find(MEDIA_PREFIX)
    if at < 0:
        return None
    name = image_url[at + len(MEDIA_PREFIX) :]
    sha, _, _ = name.partition(".")
    return sha if len(sha) == 64 else None


def facts(session: Session, sku: str) -> Facts | None:
    """The active product's facts, or None."""
    product = session.scalar(select(Product).where(Product.sku == sku, Product.active.is_(True)))
    if product is None:
        return None
    return Facts(
        sku=product.sku,
        title=product.title,
        description=product.description or "",
        price_amount=product.price_amount,
        currency=product.currency,
        available=product.available,
        brand=product.brand,
        gtin=product.gtin,
        mpn=product.mpn,
        condition=product.condition or "new",
        google_category=product.google_category,
        variant_group=product.variant_group,
        image_sha256=_primary_sha(product.image_url or ""),
    )


_CONDITIONS = {
    "new": "https://schema.org/NewCondition",
    "refurbished": "https://schema.org/RefurbishedCondition",
    "used": "https://schema.org/UsedCondition",
}


def jsonld(found: Facts, *, url: str, image: str, buy_url: str) -> dict[str, Any]:
    """schema.org ``Product`` with its ``Offer``, as search engines and channels read it."""
    offer: dict[str, Any] = {
        "@type": "Offer",
        "url": url,
        "price": decimal_string(found.price_amount, found.currency),
        "priceCurrency": found.currency,
        "availability": "https://schema.org/InStock"
        if found.available > 0
        else "https://schema.org/OutOfStock",
        "itemCondition": _CONDITIONS.get(found.condition, _CONDITIONS["new"]),
    }
    if found.available > 0:
        offer["potentialAction"] = {"@type": "BuyAction", "target": buy_url}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": found.title,
        "sku": found.sku,
        "url": url,
        "offers": offer,
    }
    if found.description:
        data["description"] = found.description
    if image:
        data["image"] = image
    if found.brand:
        data["brand"] = {"@type": "Brand", "name": found.brand}
    if found.gtin:
        data["gtin"] = found.gtin
    if found.mpn:
        data["mpn"] = found.mpn
    if found.variant_group:
        data["inProductGroupWithID"] = found.variant_group
    return data


def primary_picture(session: Session, sha256: str) -> bytes | None:
    query = select(ProductImage.data).where(ProductImage.sha256 == sha256).limit(1)
    return session.scalar(query)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # a Pillow built without FreeType
        return ImageFont.load_default()


def draw_preview(found: Facts, picture: bytes | None) -> bytes:
    """The 1200x630 JPEG: the picture cropped to fill, or a card with title and price."""
    canvas: Image.Image
    if picture is not None:
        with Image.open(io.BytesIO(picture)) as source:
            source.draft("RGB", PREVIEW_SIZE)  # JPEG: decode at a smaller scale when it can
            flat = ImageOps.exif_transpose(source).convert("RGB")
        canvas = ImageOps.fit(flat, PREVIEW_SIZE, Image.Resampling.LANCZOS)
    else:
        canvas = Image.new("RGB", PREVIEW_SIZE, (246, 243, 238))
        pen = ImageDraw.Draw(canvas)
        pen.rectangle((0, 0, 24, PREVIEW_SIZE[1]), fill=(31, 41, 55))
        title = found.title if len(found.title) <= 60 else found.title[:59] + "…"
        pen.text((90, 200), title, fill=(17, 24, 39), font=_font(56))
        price = format_amount(found.price_amount, found.currency)
        pen.text((90, 320), price, fill=(55, 65, 81), font=_font(72))
    for quality in (85, 75, 65, 50, 35):
        out = io.BytesIO()
        canvas.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        if out.tell() <= PREVIEW_MAX_BYTES:
            break
    return out.getvalue()
