"""Product pictures for the admin and the media address that serves them.

The picture is checked and re-encoded (:mod:`buybutton_server.domain.imaging`) before the
write transaction opens: decoding takes time, and SQLite has one writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from buybutton_server.db import Sessions, write_session
from buybutton_server.domain import imaging
from buybutton_server.domain import product_images as domain
from buybutton_server.domain.catalog import require_product

MAX_BYTES = imaging.MAX_BYTES


@dataclass(frozen=True)
class ImageInfo:
    id: int
    path: str  # /media/products/<sha256>.<ext>
    content_type: str
    width: int
    height: int
    size: int  # bytes
    alt: str
    primary: bool


@dataclass(frozen=True)
class ImagesPage:
    sku: str
    title: str
    image_url: str
    images: list[ImageInfo]


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str
    sha256: str


def images_page(sessions: Sessions, sku: str) -> ImagesPage:
    with sessions() as session:
        product = require_product(session, sku)
        images = [
            ImageInfo(
                id=image.id,
                path=domain.media_path(image),
                content_type=image.content_type,
                width=image.width,
                height=image.height,
                size=len(image.data),
                alt=image.alt,
                primary=domain.is_primary(product, image),
            )
            for image in domain.images_of(session, product)
        ]
        return ImagesPage(product.sku, product.title, product.image_url, images)


def upload(sessions: Sessions, sku: str, data: bytes, alt: str, *, base_url: str) -> str:
    """Check, re-encode and store a picture; its media path."""
    domain.check_alt(alt)
    picture = imaging.normalize(data)
    with write_session(sessions) as session:
        image = domain.add_image(session, sku, picture, alt, base_url=base_url)
        return domain.media_path(image)


def make_primary(sessions: Sessions, sku: str, image_id: int, *, base_url: str) -> None:
    with write_session(sessions) as session:
        domain.make_primary(session, sku, image_id, base_url=base_url)


def move(sessions: Sessions, sku: str, image_id: int, step: int) -> None:
    with write_session(sessions) as session:
        domain.move(session, sku, image_id, step)


def delete(sessions: Sessions, sku: str, image_id: int, *, base_url: str) -> None:
    with write_session(sessions) as session:
        domain.remove(session, sku, image_id, base_url=base_url)


def media(sessions: Sessions, sha256: str, extension: str) -> Media | None:
    with sessions() as session:
        image = domain.find_media(session, sha256, extension)
        if image is None:
            return None
        return Media(image.data, image.content_type, image.sha256)
