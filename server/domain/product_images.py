"""A product's pictures: add, order, make primary, remove, and find one to serve.

The primary picture is the one whose address is the product's ``image_url``: widgets, the
checkout and the storefront already show that URL, so making a picture primary writes its
absolute media address there. Removing the primary picture promotes the next one (or clears
``image_url`` when none is left).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buybutton_server.db.models import Product, ProductImage
from buybutton_server.domain.catalog import require_product
from buybutton_server.domain.imaging import EXTENSIONS, Picture
from buybutton_server.errors import InvalidInput, NotFound

MAX_IMAGES = 20  # per product
ALT_MAX = 300
MEDIA_PREFIX = "/media/products/"
_TYPE_OF = {extension: content_type for content_type, extension in EXTENSIONS.items()}


def media_path(image: ProductImage) -> str:
    return f"{MEDIA_PREFIX}{image.sha256}.{EXTENSIONS[image.content_type]}"


def media_url(base_url: str, image: ProductImage) -> str:
    return base_url.rstrip("/") + media_path(image)


def is_primary(product: Product, image: ProductImage) -> bool:
    return bool(product.image_url) and product.image_url.endswith(media_path(image))


def images_of(session: Session, product: Product) -> list[ProductImage]:
    query = (
        select(ProductImage)
        .where(ProductImage.product_id == product.id)
        .order_by(ProductImage.position, ProductImage.id)
    )
    return list(session.scalars(query))


def check_alt(alt: str) -> str:
    alt = " ".join(alt.split())
    if len(alt) > ALT_MAX:
        raise InvalidInput(f"The description is longer than {ALT_MAX} characters.")
    return alt


def add_image(
    session: Session, sku: str, picture: Picture, alt: str, *, base_url: str
) -> ProductImage:
    """Add ``picture`` after the product's others; the first picture of a product without
    an image becomes its primary one."""
    product = require_product(session, sku)
    alt = check_alt(alt)
    images = images_of(session, product)
    if len(images) >= MAX_IMAGES:
        raise InvalidInput(f"A product has at most {MAX_IMAGES} pictures: delete one first.")
    if any(image.sha256 == picture.sha256 for image in images):
        raise InvalidInput("This picture is already on the product.")
    last = session.scalar(
        select(func.max(ProductImage.position)).where(ProductImage.product_id == product.id)
    )
    image = ProductImage(
        product_id=product.id,
        position=(last + 1) if last is not None else 0,
        content_type=picture.content_type,
        width=picture.width,
        height=picture.height,
        data=picture.data,
        sha256=picture.sha256,
        alt=alt,
    )
    session.add(image)
    try:
        session.flush()
    except IntegrityError:  # the same picture, uploaded twice at once
        raise InvalidInput("This picture is already on the product.") from None
    if not product.image_url:
        product.image_url = media_url(base_url, image)
    return image


def require_image(session: Session, sku: str, image_id: int) -> tuple[Product, ProductImage]:
    """The product and its picture ``image_id`` (a picture of another product is not found)."""
    product = require_product(session, sku)
    image = session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        raise NotFound("That picture is not one of this product's.")
    return product, image


def make_primary(session: Session, sku: str, image_id: int, *, base_url: str) -> ProductImage:
    """Show this picture wherever the product appears, and list it first."""
    product, image = require_image(session, sku, image_id)
    product.image_url = media_url(base_url, image)
    others = [each for each in images_of(session, product) if each.id != image.id]
    for position, each in enumerate([image, *others]):
        each.position = position
    return image


def move(session: Session, sku: str, image_id: int, step: int) -> None:
    """Swap the picture with its neighbour before (``step`` -1) or after (+1) it."""
    product, image = require_image(session, sku, image_id)
    images = images_of(session, product)
    at = next(i for i, candidate in enumerate(images) if candidate.id == image.id)
    other = at + (1 if step > 0 else -1)
    if not 0 <= other < len(images):
        return
    # Renumber the whole list: positions stay distinct whatever they were before.
    images[at], images[other] = images[other], images[at]
    for position, each in enumerate(images):
        each.position = position


def remove(session: Session, sku: str, image_id: int, *, base_url: str) -> None:
    """Delete the picture; if it was the primary one, the next picture takes its place."""
    product, image = require_image(session, sku, image_id)
    was_primary = is_primary(product, image)
    session.delete(image)
    session.flush()
    if was_primary:
        rest = images_of(session, product)
        product.image_url = media_url(base_url, rest[0]) if rest else ""


def find_media(session: Session, sha256: str, extension: str) -> ProductImage | None:
    """A stored picture by its address's name (any product's: the bytes are the same)."""
    content_type = _TYPE_OF.get(extension)
    if content_type is None:
        return None
    query = (
        select(ProductImage)
        .where(ProductImage.sha256 == sha256, ProductImage.content_type == content_type)
        .limit(1)
    )
    return session.scalar(query)
