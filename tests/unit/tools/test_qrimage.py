"""The QR image reader the tests use: it finds the code's content back in a PNG, and nothing else."""

from __future__ import annotations

import io
import zlib

import pytest
import segno

from wxfunnel_tools.qrimage import NotAQrImage, dark_pixels, encodes, modules
from wxfunnel_tools.sandbox.png import qr_png

URL = "http://weixin.qq.com/q/02gH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3"


def _png(content: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(content, error=str(options.pop("error", "m"))).save(buffer, kind="png", **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "options",
    [
        {"scale": 1, "border": 4},
        {"scale": 3, "border": 0},
        {"scale": 8, "border": 2, "error": "h"},
        {"scale": 4, "border": 4, "dark": "#103070", "light": "#f0f0e0"},
    ],
)
def test_a_segno_png_is_read_back_as_its_own_matrix(options: dict[str, object]) -> None:
    code = segno.make_qr(URL, error=str(options.get("error", "m")))
    matrix = modules(_png(URL, **options))
    assert matrix == tuple(tuple(bool(cell) for cell in row) for row in code.matrix)
    assert encodes(_png(URL, **options), URL)


def test_an_image_encodes_its_content_only() -> None:
    image = qr_png(URL)
    assert encodes(image, URL)
    assert not encodes(image, URL[:-1] + "4")
    assert not encodes(image, URL.upper())


def test_one_wrong_module_is_not_the_code() -> None:
    code = segno.make_qr(URL, error="m")
    rows = [bytearray(row) for row in code.matrix]
    rows[20][20] ^= 1
    size = len(rows)
    raw = b"".join(b"\x00" + bytes(0 if cell else 255 for cell in row) for row in rows)
    header = size.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    altered = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    assert dark_pixels(altered)[20][20] != bool(code.matrix[20][20])
    assert not encodes(altered, URL)


def _blank() -> bytes:
    buffer = io.BytesIO()
    segno.make_qr("x").save(buffer, kind="png", dark="white", light="white")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data", [b"GIF89a", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, _png(URL)[:-40], _blank()], ids=repr
)
def test_what_is_no_qr_png_is_refused(data: bytes) -> None:
    with pytest.raises(NotAQrImage):
        modules(data)
