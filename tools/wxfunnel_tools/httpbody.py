"""Request bodies of the local HTTP servers (the console, the local API Gateway), read only when their framing is
valid: a Content-Length or chunk size that is not a plain non-negative number is the client's error, never ours."""

from __future__ import annotations

import re
from email.message import Message
from http import HTTPStatus
from io import BufferedIOBase

_DECIMAL = re.compile(rb"[0-9]{1,18}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_MAX_LINE = 4096


class BodyRefused(Exception):
    """The body cannot be read: `status` (400, 411, 413) and `message` say why. Its bytes may still be on the
    connection, so the server answers and closes it."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def content_length(headers: Message) -> int:
    """The declared body length (0 when absent); BodyRefused unless it is a plain decimal number."""
    value = headers.get("Content-Length")
    if value is None:
        return 0
    if not _DECIMAL.fullmatch(value.strip().encode("ascii", errors="replace")):
        raise BodyRefused(HTTPStatus.BAD_REQUEST, "bad Content-Length")
    return int(value)


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {limit} bytes")


def _read_chunked(rfile: BufferedIOBase, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_text = rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):
            raise BodyRefused(HTTPStatus.BAD_REQUEST, "bad chunk size")
        size = int(size_text, 16)
        if size == 0:
            while rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            return b"".join(chunks)
        total += size
        if total > limit:
            raise _too_large(limit)
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise BodyRefused(HTTPStatus.BAD_REQUEST, "the body ended inside a chunk")
        chunks.append(chunk)
        rfile.readline(_MAX_LINE)


def read_body(headers: Message, rfile: BufferedIOBase, limit: int, *, chunked: bool = False) -> bytes:
    """The request body, at most `limit` bytes; a chunked body only when `chunked` (else 411)."""
    if headers.get("Transfer-Encoding"):
        if not chunked:
            raise BodyRefused(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not a chunked body")
        if headers["Transfer-Encoding"].strip().lower() != "chunked":
            raise BodyRefused(HTTPStatus.BAD_REQUEST, "unsupported Transfer-Encoding")
        return _read_chunked(rfile, limit)
    length = content_length(headers)
    if length > limit:
        raise _too_large(limit)
    return rfile.read(length) if length else b""
