"""Small builders shared by the citizen portal tests."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any


def png_bytes(width: int = 2, height: int = 2, extra: int = 0) -> bytes:
    """A real PNG (so that the type is sniffed from content), padded to ``extra`` more bytes."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    body = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return body + b"\x00" * extra


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "complaint",
        "title": "路灯不亮",
        "description": "吉大路口的路灯已经坏了一个星期，晚上很危险。",
        "address": "香洲区吉大路口",
        "contact_name": "李四",
        "phone": "13912345678",
        "form_token": "0123456789abcdef0123456789abcdef",
        "faq_checked": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return (io.BytesIO(data), name)
