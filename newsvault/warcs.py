"""Reading WARC files: another crawler's for `import-warc` (a gzip member per record, as
CC-NEWS writes them, or uncompressed), and the archive's own captures for `rebuild`.

Every record comes out as a `WarcRecord`: an HTTP response to look at, or one skipped with
its reason in a few words (a request, a revisit, a redirect, a record cut short). A broken
record is a skipped one, never an exception; reading stops at a gzip member cut off at the
end of a file (a crawl killed mid-write leaves one) after saying so.

Two readers, FastWARC (the default: it reads about twice as fast, benchmarks/import_warc.py)
and warcio, give the same records. The body is handed over as it was sent (transfer
encoding undone, content encoding kept): `decoded` undoes that with the fetcher's own
decoder, so a capture read back has the body digest it was stored with.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from newsvault.errors import FetchError, NewsvaultError
from newsvault.fetch.client import REDIRECT_STATUSES
from newsvault.fetch.decompress import decode_body

Reader = Literal["fastwarc", "warcio"]
READERS: tuple[Reader, ...] = ("fastwarc", "warcio")
MAGIC = b"WARC/1."
HTML_TYPES = ("text/html", "application/xhtml+xml")
OWN_FIELDS = "Newsvault-"  # the WARC headers newsvault adds to its captures
MAX_BODY = 64 << 20  # largest decoded body taken from a WARC record

# the reasons a record is skipped (each counted apart in the import's summary)
TRUNCATED = "truncated record"
BROKEN = "broken record"
NOT_RESPONSE = "not a response"
REVISIT = "revisit"
REDIRECT = "redirect"
NOT_OK = "not status 200"
NOT_HTML = "not HTML"


@dataclass
class WarcRecord:
    """One record: `skip` None for an HTTP response worth reading, else why not."""

    url: str
    kind: str  # the WARC-Type
    offset: int  # where the record starts in the file (compressed bytes for .gz)
    length: int = 0  # bytes the record takes in the file, up to the next one
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes = b""  # the HTTP body as sent: content encoding kept
    date: float = 0.0  # WARC-Date as unix time
    fields: dict[str, str] = field(default_factory=dict)  # newsvault's own WARC headers
    skip: str | None = None
    detail: str = ""  # a few words on the skip
    file: str = ""  # the name of the file it is in

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    def decoded(self) -> bytes:
        """The body with its Content-Encoding undone; FetchError when it cannot be."""
        return decode_body(self.url, self.raw, self.header("Content-Encoding"), MAX_BODY)


def is_warc(data: bytes) -> bool:
    """Whether bytes (gunzipped) are a WARC file: it opens with a record's version line."""
    return data.lstrip(b"\r\n")[: len(MAGIC)] == MAGIC


def sniff_warc(path: Path) -> bool:
    """Whether the file at `path` is a WARC file, compressed or not."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 64)
        except zlib.error:
            return False
    return is_warc(head)


def page_skip(record: WarcRecord) -> tuple[str, str] | None:
    """Why an HTTP response is no page to import (reason, detail), or None."""
    if record.kind == "revisit":
        return REVISIT, "a revisit record holds no body"
    if record.status in REDIRECT_STATUSES:
        return REDIRECT, f"HTTP {record.status} to {record.header('Location') or '?'}"
    if record.status != 200:
        return NOT_OK, f"HTTP {record.status}"
    kind = (record.content_type or "").split(";")[0].strip().lower()
    if kind not in HTML_TYPES:
        return NOT_HTML, kind or "no Content-Type"
    return None


def read_warc(path: Path, reader: Reader = "fastwarc") -> Iterator[WarcRecord]:
    """Every record of a WARC file in order, each with its length in the file; the file
    unreadable or not a WARC file: NewsvaultError naming it."""
    try:
        if not sniff_warc(path):
            raise NewsvaultError(f"{path}: not a WARC file (it does not start with WARC/1.)")
        size = path.stat().st_size
    except OSError as exc:
        raise NewsvaultError(f"{path}: cannot read ({exc.strerror})") from None
    records = _fastwarc(path) if reader == "fastwarc" else _warcio(path)
    before: WarcRecord | None = None
    for record in records:
        record.file = path.name
        if before is not None:
            before.length = record.offset - before.offset
            yield before
        before = record
    if before is not None:
        before.length = size - before.offset
        yield before


def _fastwarc(path: Path) -> Iterator[WarcRecord]:
    from fastwarc.warc import ArchiveIterator

    with path.open("rb") as fh:
        try:
            for item in ArchiveIterator(fh, parse_http=False, auto_decode="none"):
                block = item.reader.read()
                record = WarcRecord(
                    url=item.headers.get("WARC-Target-URI") or "",
                    kind=item.headers.get("WARC-Type") or "",
                    offset=item.stream_pos,
                )
                if len(block) < item.content_length:
                    _cut_short(record, len(block), item.content_length)
                else:
                    _fill(record, dict(item.headers), block)
                yield record
        except OSError as exc:  # a member that does not inflate, a header that does not parse
            yield WarcRecord(url="", kind="", offset=fh.tell(), skip=BROKEN, detail=str(exc))


def _warcio(path: Path) -> Iterator[WarcRecord]:
    with path.open("rb") as fh:
        yield from _warcio_records(fh)


def _warcio_records(fh: BinaryIO) -> Iterator[WarcRecord]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    start = fh.tell()
    iterator = ArchiveIterator(fh, no_record_parse=True)
    try:
        for item in iterator:
            block = item.raw_stream.read()
            record = WarcRecord(
                url=item.rec_headers.get_header("WARC-Target-URI") or "",
                kind=item.rec_type or "",
                offset=start + iterator.get_record_offset(),
            )
            if item.raw_stream.limit:  # bytes the record promised that never came
                _cut_short(record, len(block), len(block) + item.raw_stream.limit)
            else:
                _fill(record, dict(item.rec_headers.headers), block)
            yield record
    except (ArchiveLoadFailed, OSError, EOFError, zlib.error) as exc:
        yield WarcRecord(url="", kind="", offset=fh.tell(), skip=BROKEN, detail=str(exc))


def read_record(path: Path, offset: int) -> WarcRecord:
    """The one record at `offset` of a WARC file (each gzip member readable on its own)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        record = next(_warcio_records(fh), None)
    if record is None:
        raise NewsvaultError(f"{path}: no WARC record at byte {offset}")
    record.file = path.name
    return record


def _cut_short(record: WarcRecord, got: int, wanted: int) -> None:
    record.skip = TRUNCATED
    record.detail = f"cut off after {got:,} of {wanted:,} bytes (the file ends there)"


def _fill(record: WarcRecord, warc_headers: dict[str, str], block: bytes) -> None:
    """A record's HTTP status, headers and body, from its WARC headers and block."""
    record.fields = {k: v for k, v in warc_headers.items() if k.startswith(OWN_FIELDS)}
    record.date = _warc_time(warc_headers.get("WARC-Date", ""))
    if record.kind not in ("response", "revisit"):
        record.skip, record.detail = NOT_RESPONSE, f"a {record.kind or 'typeless'} record"
        return
    kind = warc_headers.get("Content-Type", "").lower()
    if "application/http" not in kind and not block.startswith(b"HTTP/"):
        record.skip, record.detail = NOT_RESPONSE, f"not an HTTP response ({kind or '?'})"
        return
    try:
        _parse_http(record, block)
    except (ValueError, IndexError, FetchError) as exc:
        record.skip, record.detail = BROKEN, f"its HTTP response does not parse ({exc})"
        return
    skipped = page_skip(record)
    if skipped:
        record.skip, record.detail = skipped


def _parse_http(record: WarcRecord, block: bytes) -> None:
    head, sep, body = block.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = block.partition(b"\n\n")
    lines = head.decode("iso-8859-1").splitlines()
    protocol, status, *_ = lines[0].split(" ", 2)
    if not protocol.startswith("HTTP/"):
        raise ValueError(f"status line {lines[0][:60]!r}")
    record.status = int(status)
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            record.headers.append((name.strip(), value.strip()))
    if "chunked" in (record.header("Transfer-Encoding") or "").lower():
        body = _dechunk(body)
    record.raw = body


def _dechunk(data: bytes) -> bytes:
    """A chunked body joined; a crawler that stored it already joined (and left the header)
    gives it back as it is."""
    out, at = bytearray(), 0
    while at < len(data):
        end = data.find(b"\r\n", at)
        try:
            size = int(data[at:end].split(b";")[0], 16) if end >= 0 else -1
        except ValueError:
            return data
        if size < 0 or end + 2 + size > len(data):
            return data if not out else bytes(out)
        if size == 0:
            break
        out += data[end + 2 : end + 2 + size]
        at = end + 2 + size + 2
    return bytes(out)


def _warc_time(value: str) -> float:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def describe_skip(record: WarcRecord) -> str:
    """One line: which record, skipped why."""
    where = record.url or f"the record at byte {record.offset:,}"
    return f"{where}: {record.skip}: {record.detail}"
