"""Uploaded pictures made safe to serve: checked, turned upright, shrunk and re-encoded.

Nothing a merchant uploads is served as sent. The file must open as one of a few still
formats; its header's size is checked before a pixel is decoded (a small file can claim a
huge canvas: a decompression bomb); only the first frame of an animation is kept; the EXIF
orientation is applied and then every piece of metadata (EXIF with its GPS position, ICC,
comments) is dropped; the long side is cut to :data:`MAX_SIDE`; and the pixels are written
out fresh, as JPEG, or as WebP when the picture has transparency.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import (  # the plugins register the formats we open
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from buybutton_server.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024  # what an upload may weigh
MAX_SIDE = 2000  # pixels on the long side of the stored picture
MAX_PIXELS = 50_000_000  # what a header may claim (a 50 MP camera still fits)
JPEG_QUALITY = 85
# Pillow's names of the formats we open (a camera's multi-picture JPEG opens as JPEG, format
# "MPO"); anything else is refused before decoding.
FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
EXTENSIONS = {"image/jpeg": "jpg", "image/webp": "webp"}
_PLUGINS = (GifImagePlugin, JpegImagePlugin, PngImagePlugin, WebPImagePlugin)


@dataclass(frozen=True)
class Picture:
    """A re-encoded picture: its bytes, their type and SHA-256 (hex), and its size."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def _not_an_image() -> InvalidInput:
    return InvalidInput("That file is not a picture we can read: upload a JPEG, PNG, GIF or WebP.")


def normalize(data: bytes) -> Picture:
    """``data`` as a stored picture, or :class:`InvalidInput` saying what is wrong with it."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"The picture is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if not data:
        raise InvalidInput("Choose a picture to upload.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and beyond twice its limit refuses) on huge canvases; ours is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=sorted(FORMATS))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidInput(
                    f"The picture claims {width}x{height} pixels, more than we accept "
                    f"({MAX_PIXELS // 1_000_000} megapixels)."
                )
            image.seek(0)  # an animation or a multi-picture file: its first frame only
            if image.format in ("JPEG", "MPO"):
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at a smaller scale
            image.load()
            return _encode(ImageOps.exif_transpose(image))
    except Image.DecompressionBombError:
        raise InvalidInput("The picture claims far more pixels than we accept.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise _not_an_image() from None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _encode(image: Image.Image) -> Picture:
    transparent = _has_alpha(image)
    # convert() makes new pixels; building a fresh image drops info (EXIF, ICC, comments).
    pixels = image.convert("RGBA" if transparent else "RGB")
    pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    out = BytesIO()
    if transparent:
        clean.save(out, "WEBP", quality=JPEG_QUALITY, method=4)
        content_type = "image/webp"
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        content_type = "image/jpeg"
    data = out.getvalue()
    return Picture(
        data=data,
        content_type=content_type,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
