"""Product pictures: uploads checked and re-encoded (upright, no EXIF, at most 2000 px),
non-pictures, bombs and oversized bodies refused, the primary picture shown everywhere, and
the media address cached for good."""

from __future__ import annotations

import re
import struct
import threading
import zlib
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from PIL import Image, ImageFile
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import ProductImage
from buybutton_server.domain import admin_auth, imaging
from buybutton_server.domain.admin_auth import COOKIE, ScryptCost, create_admin
from tests.conftest import BASE_URL, add_product, product
from tests.test_body_limits import run_apart

PASSWORD = "correct horse battery staple"
MB = 1024 * 1024
PAGE = "/admin/products/MUG-01/images"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


@pytest.fixture
def staff(https_client: TestClient, sessions: sessionmaker[Session]) -> str:
    """A mug without an image, and a staff login signed in; the page's CSRF token."""
    add_product(sessions, sku="MUG-01")
    add_product(sessions, sku="TEE-01", title="Tee")
    with write_session(sessions) as session:
        create_admin(session, "staff@shop.example", PASSWORD, role="staff")
    answer = https_client.post(
        "/admin/login",
        data={"email": "staff@shop.example", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = https_client.get(PAGE)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found[1]


def picture(size: tuple[int, int] = (300, 100), *, orientation: int | None = None) -> bytes:
    """A PNG, red on its left half and blue on its right, with an EXIF orientation."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    out = BytesIO()
    image.save(out, "PNG", exif=exif.tobytes())
    return out.getvalue()


def upload(
    client: TestClient, csrf: str, data: bytes, name: str = "photo.png", alt: str = ""
) -> Any:
    return client.post(
        PAGE,
        data={"csrf": csrf, "alt": alt},
        files={"picture": (name, data, "image/png")},
        follow_redirects=False,
    )


def stored(sessions: sessionmaker[Session]) -> list[ProductImage]:
    with sessions() as session:
        return list(session.scalars(select(ProductImage).order_by(ProductImage.position)))


def test_a_photo_is_stored_upright_as_jpeg_without_exif_and_at_most_2000_px(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    original = picture((3000, 1000), orientation=6)
    with Image.open(BytesIO(original)) as check:
        assert check.getexif()[0x0112] == 6, "the test picture carries its orientation"
    answer = upload(https_client, staff, original, alt="  A  mug ")
    assert answer.status_code == 303, answer.text
    [image] = stored(sessions)
    assert image.content_type == "image/jpeg" and image.data[:3] == b"\xff\xd8\xff"
    assert (image.width, image.height) == (667, 2000), "turned upright, long side 2000"
    assert image.alt == "A mug"
    with Image.open(BytesIO(image.data)) as saved:
        assert saved.format == "JPEG" and saved.size == (667, 2000)
        assert not saved.getexif() and "exif" not in saved.info
        top, bottom = saved.convert("RGB").getpixel((333, 20)), saved.getpixel((333, 1980))
    assert b"Camera Maker" not in image.data
    assert top[0] > 200 and top[2] < 60, "the left (red) half is now on top"
    assert bottom[2] > 200 and bottom[0] < 60
    page = https_client.get(answer.headers["location"]).text
    assert "Picture added." in page and f'src="/media/products/{image.sha256}.jpg"' in page


def test_a_picture_with_transparency_is_stored_as_webp(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    out = BytesIO()
    Image.new("RGBA", (40, 40), (255, 0, 0, 128)).save(out, "PNG")
    assert upload(https_client, staff, out.getvalue()).status_code == 303
    [image] = stored(sessions)
    assert image.content_type == "image/webp" and image.data[8:12] == b"WEBP"


def test_only_the_first_frame_of_an_animation_is_kept(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    frames = [Image.new("RGB", (50, 50), colour) for colour in ("red", "green", "blue")]
    out = BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert upload(https_client, staff, out.getvalue(), "anim.gif").status_code == 303
    [image] = stored(sessions)
    with Image.open(BytesIO(image.data)) as saved:
        assert getattr(saved, "n_frames", 1) == 1
        red, _, _ = saved.convert("RGB").getpixel((25, 25))
    assert red > 200


def test_a_text_file_named_png_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    answer = upload(https_client, staff, b"<script>alert(1)</script>\n" * 40, alt="kept")
    assert answer.status_code == 422
    assert "not a picture we can read" in answer.text
    assert 'value="kept"' in answer.text
    assert stored(sessions) == []


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few dozen bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def png_of_one_colour(width: int, height: int) -> bytes:
    """A real RGBA PNG of one colour: ``width`` x ``height`` pixels in a few hundred KB (the
    review's bomb: 7071x7071 is 207 KB and took 900 MB to decode), built row by row."""
    row = b"\x00" + b"\xc8\x0a\x0a\xff" * width
    pack = zlib.compressobj(9)
    body = b"".join(pack.compress(row) for _ in range(height)) + pack.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_the_reviews_bomb_is_refused_by_its_header_without_decoding(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    staff: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = png_of_one_colour(7071, 7071)
    assert len(bomb) < 300_000
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image))
    answer = upload(https_client, staff, bomb)
    assert answer.status_code == 422
    assert "claims 7071x7071 pixels, more than we accept (24 megapixels)" in answer.text
    assert decoded == [], "not a pixel decoded"
    assert stored(sessions) == []


@pytest.mark.parametrize("side", [5000, 8000, 20000])  # 25 MP was accepted before the review
def test_a_decompression_bomb_is_refused_before_decoding(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str, side: int
) -> None:
    answer = upload(https_client, staff, png_header_only(side, side))
    assert answer.status_code == 422
    assert "more pixels than we accept" in answer.text or "megapixels" in answer.text
    assert stored(sessions) == []


def test_a_file_over_5_mb_is_refused_by_the_view(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    # Under the route's body limit (5 MB and the form around it) but over 5 MB of file.
    answer = upload(https_client, staff, b"\x89PNG" + b"\x00" * (5 * MB))
    assert answer.status_code == 413
    assert "larger than 5 MB" in answer.text
    assert stored(sessions) == []


def _post_raw(client: TestClient, headers: list[tuple[bytes, bytes]]) -> tuple[int, int, bytes]:
    """POST an endless upload straight to the app; (status, bytes the app pulled, body)."""
    pulled = 0
    part = (
        b'--xyz\r\nContent-Disposition: form-data; name="picture"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = part if pulled == 0 else b"\x00" * (64 * 1024)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    cookie = client.cookies.get(COOKIE)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": PAGE,
        "raw_path": PAGE.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 5000),
        "server": ("shop.test", 443),
        "headers": [
            (b"host", b"shop.test"),
            (b"content-type", b"multipart/form-data; boundary=xyz"),
            (b"cookie", f"{COOKIE}={cookie}".encode()),
            *headers,
        ],
    }
    run_apart(client.app(scope, receive, send))  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], pulled, body


def test_a_6_mb_upload_is_refused_with_413_without_reading_it(
    https_client: TestClient, staff: str
) -> None:
    status, pulled, body = _post_raw(https_client, [(b"content-length", str(6 * MB).encode())])
    assert (status, pulled) == (413, 0), "refused on its declared length"
    assert b"larger than this address accepts" in body
    # A browser (it declares the length, and accepts HTML) gets a page, not JSON.
    browser = [(b"content-length", str(6 * MB).encode()), (b"accept", b"text/html,*/*")]
    status, pulled, body = _post_raw(https_client, browser)
    assert (status, pulled) == (413, 0) and body.startswith(b"<!doctype html>")
    assert b"That was too large" in body and b"choose a smaller file" in body
    status, pulled, body = _post_raw(https_client, [(b"transfer-encoding", b"chunked")])
    assert status == 413 and b"larger than 5 MB" in body, "the page says why"
    assert pulled < 5 * MB + 200 * 1024, "cut off at the route's limit, not read to the end"


def test_primary_picture_is_shown_everywhere_and_served_for_good(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    assert upload(https_client, staff, picture((200, 100))).status_code == 303
    assert upload(https_client, staff, picture((100, 200)), alt="Side").status_code == 303
    first, second = stored(sessions)
    assert product(sessions).image_url == f"{BASE_URL}/media/products/{first.sha256}.jpg"
    answer = https_client.post(
        f"{PAGE}/{second.id}/primary", data={"csrf": staff}, follow_redirects=False
    )
    assert answer.status_code == 303
    url = product(sessions).image_url
    assert url == f"{BASE_URL}/media/products/{second.sha256}.jpg"
    widget = https_client.get("/api/public/products/MUG-01").json()
    assert widget["image_url"] == url
    assert [image.id for image in stored(sessions)] == [second.id, first.id], "primary first"
    https_client.cookies.clear()  # the media address is public
    served = https_client.get(url.removeprefix(BASE_URL))
    assert served.status_code == 200 and served.content == second.data
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert https_client.get(f"/media/products/{'0' * 64}.jpg").status_code == 404
    assert https_client.get(f"/media/products/{second.sha256}.webp").status_code == 404
    assert https_client.get("/media/products/../../etc/passwd").status_code == 404


def test_reorder_and_delete_the_primary_picture(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    for size in ((200, 100), (100, 200), (150, 150)):
        assert upload(https_client, staff, picture(size)).status_code == 303
    a, b, c = stored(sessions)
    move = https_client.post(
        f"{PAGE}/{c.id}/move", data={"csrf": staff, "direction": "up"}, follow_redirects=False
    )
    assert move.status_code == 303
    assert [image.id for image in stored(sessions)] == [a.id, c.id, b.id]
    assert product(sessions).image_url.endswith(f"{a.sha256}.jpg"), "a move keeps the primary"
    delete = https_client.post(
        f"{PAGE}/{a.id}/delete", data={"csrf": staff}, follow_redirects=False
    )
    assert delete.status_code == 303
    assert product(sessions).image_url == f"{BASE_URL}/media/products/{c.sha256}.jpg"
    for image in (c, b):
        https_client.post(f"{PAGE}/{image.id}/delete", data={"csrf": staff})
    assert stored(sessions) == [] and product(sessions).image_url == ""


def test_another_products_picture_is_not_found(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    assert upload(https_client, staff, picture()).status_code == 303
    [image] = stored(sessions)
    answer = https_client.post(
        f"/admin/products/TEE-01/images/{image.id}/delete", data={"csrf": staff}
    )
    assert answer.status_code == 404
    assert https_client.post(f"{PAGE}/{2**40}/delete", data={"csrf": staff}).status_code == 404
    assert https_client.get("/admin/products/NOPE-1/images").status_code == 404
    assert len(stored(sessions)) == 1


def test_uploads_need_a_signed_in_login_and_the_forms_token(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    assert upload(https_client, "0" * 64, picture()).status_code in (400, 403)
    https_client.cookies.clear()
    answer = upload(https_client, staff, picture())
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProductImage)) == 0


def test_pictures_are_decoded_one_at_a_time(
    https_client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    """Each decode holds ~100 MB at most; a burst of uploads waits instead of adding up."""
    finished = threading.Event()

    def send() -> None:
        imaging.normalize(picture((400, 300)))
        finished.set()

    with imaging._DECODING:  # another upload is being decoded
        worker = threading.Thread(target=send)
        worker.start()
        assert not finished.wait(0.3), "the second decode waits for the first"
    worker.join(5)
    assert finished.is_set()


@pytest.mark.parametrize(("size", "mode"), [((4100, 700), "RGB"), ((4999, 2345), "RGBA")])
def test_shrinking_a_strip_at_a_time_is_the_same_as_all_at_once(
    size: tuple[int, int], mode: str
) -> None:
    noise = Image.effect_noise(size, 64)
    image = Image.merge(mode, [noise] * len(mode))
    factor = max(size) // imaging.MAX_SIDE
    assert factor == 2
    assert imaging._shrunk(image, mode).tobytes() == image.reduce(factor).tobytes()
