"""Reads a QR code image back, for tests: a PNG's modules (stdlib zlib only) and whether they are the QR code of a
given content, by re-encoding it (segno) with each error level and mask the standard allows at the image's version.

A full decoder would also read the content out; re-encoding checks the same thing for a content the test expects:
two contents never give one matrix at the same version, level and mask.
"""

from __future__ import annotations

import struct
import zlib
from itertools import product

import segno

Matrix = tuple[tuple[bool, ...], ...]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # color type → samples per pixel


class NotAQrImage(ValueError):
    """The bytes are not a PNG this reader understands, or hold no QR symbol."""


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - corner))
    return (left, up, corner)[distances.index(min(distances))]


def _chunks(png: bytes) -> dict[bytes, bytes]:
    if not png.startswith(_SIGNATURE):
        raise NotAQrImage("not a PNG")
    found: dict[bytes, bytes] = {}
    offset = len(_SIGNATURE)
    while offset + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        data = png[offset + 8 : offset + 8 + length]
        found[kind] = found.get(kind, b"") + data  # IDAT may be split in several chunks
        offset += 12 + length
    return found


def dark_pixels(png: bytes) -> list[list[bool]]:
    """Rows of pixels, True where dark (non-interlaced greyscale, palette or RGB(A) PNGs of any bit depth)."""
    chunks = _chunks(png)
    if len(chunks.get(b"IHDR", b"")) != 13 or b"IDAT" not in chunks:
        raise NotAQrImage("a PNG without its header or image data")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if interlace or color not in _CHANNELS:
        raise NotAQrImage("interlaced or unknown PNG")
    bits_per_pixel = depth * _CHANNELS[color]
    stride, step = (width * bits_per_pixel + 7) // 8, max(1, bits_per_pixel // 8)
    try:
        raw = zlib.decompress(chunks[b"IDAT"])
    except zlib.error:
        raise NotAQrImage("image data that does not inflate") from None
    if len(raw) != height * (stride + 1):
        raise NotAQrImage("image data of the wrong size")
    palette = chunks.get(b"PLTE", b"")
    rows: list[list[bool]] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            corner = previous[x - step] if x >= step else 0
            line[x] = (
                line[x]
                + (0, left, previous[x], (left + previous[x]) // 2, _paeth(left, previous[x], corner))[kind]
            ) & 0xFF
        previous = line
        row = []
        for x in range(width):
            bit = x * bits_per_pixel
            if depth < 8:
                sample = line[bit // 8] >> (8 - depth - bit % 8) & ((1 << depth) - 1)
                level = sample * 255 // ((1 << depth) - 1) if color == 0 else sample
            else:
                level = line[bit // 8]
            if color == 3:
                level = sum(palette[level * 3 : level * 3 + 3]) // 3
            row.append(level < 128)
        rows.append(row)
    return rows


def modules(png: bytes) -> Matrix:
    """The QR symbol's modules (True: dark), sampled at each module's centre; the module size and quiet zone are
    read from the top-left finder pattern (7 modules wide)."""
    pixels = dark_pixels(png)
    top = next((y for y, row in enumerate(pixels) if any(row)), None)
    if top is None:
        raise NotAQrImage("a blank image")
    left = pixels[top].index(True)
    run = 0
    while left + run < len(pixels[top]) and pixels[top][left + run]:
        run += 1
    if run % 7:
        raise NotAQrImage("no finder pattern in the top-left corner")
    scale = run // 7
    size = (len(pixels[top]) - 2 * left) // scale
    if (size - 17) % 4 or not 21 <= size <= 177:
        raise NotAQrImage(f"{size} modules across is no QR version")
    middle = scale // 2
    return tuple(
        tuple(pixels[top + r * scale + middle][left + c * scale + middle] for c in range(size))
        for r in range(size)
    )


def encodes(png: bytes, content: str) -> bool:
    """Whether the image is the QR code of `content` (byte for byte, any error level and mask)."""
    matrix = modules(png)
    version = (len(matrix) - 17) // 4
    for error, mask in product("lmqh", range(8)):
        try:
            candidate = segno.make_qr(content, version=version, error=error, mask=mask, boost_error=False)
        except segno.DataOverflowError:
            continue
        if tuple(tuple(bool(cell) for cell in row) for row in candidate.matrix) == matrix:
            return True
    return False
