"""Real QR code images for the sandbox's showqrcode: a PNG of the code's `url`, which a phone scans to the same
content as WeChat's image of it.

WeChat answers showqrcode with a JPEG (Content-Type image/jpg). segno draws PNG, SVG, EPS or PDF but no JPEG, and a
JPEG encoder (Pillow) would be a large dependency for a stand-in; the admin API passes either through unchanged (its
binary media types are image/jpeg and image/png) and the client takes both, so the sandbox answers image/png.
"""

from __future__ import annotations

import io

import segno

SCALE = 10  # pixels per module: a WeChat content URL (version 4) is 410 px wide, near WeChat's 430 px images
BORDER = 4  # the quiet zone ISO/IEC 18004 asks for, in modules
ERROR_LEVEL = "m"


def qr_png(content: str) -> bytes:
    """A PNG of the QR code (never a Micro QR) encoding `content`."""
    code = segno.make_qr(content, error=ERROR_LEVEL)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=SCALE, border=BORDER)
    return buffer.getvalue()
