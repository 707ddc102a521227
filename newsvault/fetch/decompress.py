"""Content-Encoding decoding in bounded steps.

A small compressed body can expand without limit (an 809-byte brotli body is 1 GiB), so
output is produced a slice at a time and refused as soon as it passes the size limit.
"""

from __future__ import annotations

import zlib

import brotli

from newsvault.errors import BadResponse, TooLarge

MAX_STACKED_ENCODINGS = 2
_STEP = 1 << 16


def content_encodings(header: str | None) -> list[str]:
    if not header:
        return []
    return [c.strip().lower() for c in header.split(",") if c.strip() and c.strip() != "identity"]


def decode_body(url: str, raw: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo every Content-Encoding, last applied first, never producing more than `limit` bytes."""
    encodings = content_encodings(content_encoding)
    if len(encodings) > MAX_STACKED_ENCODINGS:
        raise BadResponse(url, f"{len(encodings)} stacked content encodings ({content_encoding})")
    body = raw
    for encoding in reversed(encodings):
        if encoding in ("gzip", "x-gzip"):
            body = _inflate(url, body, zlib.MAX_WBITS | 32, limit)
        elif encoding == "deflate":
            try:
                body = _inflate(url, body, zlib.MAX_WBITS, limit)
            except BadResponse:  # servers often send raw deflate without the zlib header
                body = _inflate(url, body, -zlib.MAX_WBITS, limit)
        elif encoding == "br":
            body = _unbrotli(url, body, limit)
        else:
            raise BadResponse(url, f"unsupported content encoding {encoding!r}")
    return body


def _too_large(url: str, limit: int) -> TooLarge:
    return TooLarge(url, f"decompressed body is larger than {limit:,} bytes (fetch.max_bytes)")


def _inflate(url: str, data: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    pending = data
    try:
        while True:
            out += inflater.decompress(pending, _STEP)
            if len(out) > limit:
                raise _too_large(url, limit)
            pending = inflater.unconsumed_tail
            if not pending or inflater.eof:
                break
        out += inflater.flush()
    except zlib.error as exc:
        raise BadResponse(url, f"corrupt compressed body ({exc})") from None
    if len(out) > limit:
        raise _too_large(url, limit)
    return bytes(out)


def _unbrotli(url: str, data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    try:
        out += decoder.process(data, output_buffer_limit=_STEP)
        while (
            len(out) <= limit and not decoder.is_finished() and not decoder.can_accept_more_data()
        ):
            out += decoder.process(b"", output_buffer_limit=_STEP)
    except brotli.error as exc:
        raise BadResponse(url, f"corrupt brotli body ({exc})") from None
    if len(out) > limit:
        raise _too_large(url, limit)
    return bytes(out)
