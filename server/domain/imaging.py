"""Uploaded pictures made safe to serve: checked, turned upright, shrunk and re-encoded.

Nothing a merchant uploads is served as sent. The file must open as one of a few still
formats; its header's size is checked before a pixel is decoded (a small file can claim a
huge canvas: a decompression bomb); only the first frame of an animation is kept; the EXIF
orientation is applied and then every piece of metadata (EXIF with its GPS position, ICC,
comments) is dropped; the long side is cut to :data:`MAX_SIDE`; and the pixels are written
out fresh, as JPEG, or as WebP when the picture has transparency.

Memory is bounded: what is decoded stays within :data:`MAX_PIXELS` (a JPEG decodes at a
reduced scale), the shrinking works a strip at a time, and one picture is decoded at a time
per process.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import (  # the plugins register the formats we open
    GifImagePlugin,
    Image,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from buybutton_server.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024  # what an upload may weigh
MAX_SIDE = 2000  # pixels on the long side of the stored picture
# What may be decoded: 24 MP (6000x4000) at up to 4 bytes a pixel is about 96 MB, held once
# (the shrinking below works a strip at a time). A small PNG can claim a huge canvas; the
# header is checked before a pixel is decoded.
MAX_PIXELS = 24_000_000
# A JPEG decodes at 1/2 to 1/8 of its size (Pillow's draft mode, done by the JPEG library),
# so its header may claim up to 50 MP (a phone's full-resolution photo) as long as what is
# decoded stays within MAX_PIXELS.
JPEG_MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85
_STRIP = 64  # rows of the decoded picture converted and shrunk at a time
# One decode at a time per process: a burst of uploads waits here instead of each taking
# ~100 MB (the same bound as scrypt's in admin_auth).
_DECODING = threading.BoundedSemaphore(1)
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


def _too_big(width: int, height: int, limit: int) -> InvalidInput:
    return InvalidInput(
        f"The picture claims {width}x{height} pixels, more than we accept "
        f"({limit // 1_000_000} megapixels)."
    )


def _checked(image: Image.Image) -> Image.Image:
    """Refuse a canvas over the limits, from the header alone; set JPEG's draft scale."""
    width, height = image.size
    jpeg = image.format in ("JPEG", "MPO")
    if width * height > (JPEG_MAX_PIXELS if jpeg else MAX_PIXELS):
        raise _too_big(width, height, JPEG_MAX_PIXELS if jpeg else MAX_PIXELS)
    image.seek(0)  # an animation or a multi-picture file: its first frame only
    if jpeg:
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at a smaller scale
        if image.width * image.height > MAX_PIXELS:  # a long, thin JPEG does not scale down
            raise _too_big(width, height, MAX_PIXELS)
    return image


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
            image = _checked(Image.open(BytesIO(data), formats=sorted(FORMATS)))
            with _DECODING:
                image.load()
                orientation = image.getexif().get(0x0112)  # before the pixels leave their file
                # New pixels in a fresh image: info (EXIF, ICC, comments) stays behind.
                clean = _shrunk(image, "RGBA" if _has_alpha(image) else "RGB")
                image.close()  # the full-size pixels go before the rest needs memory
                return _encode(_upright(clean, orientation))
    except Image.DecompressionBombError:
        raise InvalidInput("The picture claims far more pixels than we accept.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise _not_an_image() from None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


# EXIF orientation → the turn that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _shrunk(image: Image.Image, mode: str) -> Image.Image:
    """The decoded picture in ``mode``, reduced by a whole factor that keeps its long side
    at MAX_SIDE or more, built a strip at a time: converting or reducing the whole picture
    at once would hold a second full-size copy (RGBA's reduce makes a premultiplied one)."""
    width, height = image.size
    factor = max(1, max(width, height) // MAX_SIDE)
    out = Image.new(mode, (-(-width // factor), -(-height // factor)))  # a fresh image: no info
    rows = _STRIP * factor
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(top + rows, height)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


def _upright(clean: Image.Image, orientation: object) -> Image.Image:
    """Turned as the EXIF orientation says, the long side cut to MAX_SIDE."""
    if isinstance(orientation, int) and orientation in _UPRIGHT:
        clean = clean.transpose(_UPRIGHT[orientation])
    clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return clean


def _encode(clean: Image.Image) -> Picture:
    transparent = clean.mode == "RGBA"
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
