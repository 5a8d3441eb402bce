"""Small, real PNG images (stdlib zlib only) that look like QR codes, for the sandbox's showqrcode."""

from __future__ import annotations

import hashlib
import struct
import zlib

_MODULES = 25
_SCALE = 6
_QUIET = 4


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _finder(x: int, y: int, ox: int, oy: int) -> bool | None:
    """Dark/light for a module inside a 7x7 finder pattern at (ox, oy); None outside it."""
    dx, dy = x - ox, y - oy
    if not (0 <= dx < 7 and 0 <= dy < 7):
        return None
    ring = max(abs(dx - 3), abs(dy - 3))
    return ring != 2


def qr_like_png(seed: str) -> bytes:
    """A grayscale PNG with three finder squares and modules derived from `seed` (same seed, same image)."""
    bits: list[bool] = []
    block = seed.encode("utf-8")
    while len(bits) < _MODULES * _MODULES:
        block = hashlib.sha256(block).digest()
        bits.extend(bool(byte >> shift & 1) for byte in block for shift in range(8))
    size = (_MODULES + 2 * _QUIET) * _SCALE
    rows = bytearray()
    for py in range(size):
        rows.append(0)  # filter type: none
        my = py // _SCALE - _QUIET
        for px in range(size):
            mx = px // _SCALE - _QUIET
            dark = False
            if 0 <= mx < _MODULES and 0 <= my < _MODULES:
                corner = next(
                    (
                        value
                        for value in (
                            _finder(mx, my, 0, 0),
                            _finder(mx, my, _MODULES - 7, 0),
                            _finder(mx, my, 0, _MODULES - 7),
                        )
                        if value is not None
                    ),
                    None,
                )
                dark = corner if corner is not None else bits[my * _MODULES + mx]
            rows.append(0 if dark else 255)
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
