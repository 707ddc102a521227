"""Raw captures: every HTTP response, bytes as received and headers, in `captures/*.warc.gz`.

Files are append-only and rotated by size. Each record is its own gzip member, so a record
is readable on its own from (file, offset). A writer holds a lock on the file it appends to,
so processes writing at once (the `watch` daemon and a command) each write files of their
own. Writers on several machines sharing one directory (workers on one PostgreSQL database)
name their files after their host as well (`00001.HOST.warc.gz`): a file lock need not
reach across machines, each host only ever touches its own files. A writer never appends to
a file whose tail is not known to the database (a run killed mid-write may leave a torn
record there): it starts a new file instead, so nothing already written is ever touched.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote, urlsplit

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter
from zlib_ng import zlib_ng

from newsvault.fetch.client import Response

GZIP_WBITS = 15 | 16  # a window of 2**15 and a gzip header and trailer around the deflate stream


class _Compressor(Protocol):
    def compress(self, data: bytes | memoryview, /) -> bytes: ...
    def flush(self) -> bytes: ...


# captures.compression -> a new gzip compressor. Both write standard gzip members, read by any
# WARC tool; they differ in CPU and size (benchmarks/capture_compression.py: on the gne and
# scrapinghub pages, 175 KB on average, zlib at 6 took 2.33 ms a page for 20.9% of the size,
# ISA-L at 2 0.23 ms for 24.1%, zlib-ng at 6 1.26 ms for 21.1%; zlib-ng at 9 was no smaller).
COMPRESSORS: dict[str, Callable[[], _Compressor]] = {
    "fast": lambda: isal_zlib.compressobj(2, isal_zlib.DEFLATED, GZIP_WBITS),
    "small": lambda: zlib_ng.compressobj(6, zlib_ng.DEFLATED, GZIP_WBITS),
}
_DROPPED_HEADERS = {"transfer-encoding", "content-length"}
BATCH = "Newsvault-Batch"  # one value per writer: the records one command or run wrote
ROLE = "Newsvault-Role"  # what a response was taken for: feed | import (else a page)
SOURCE = "Newsvault-Source"  # the slug of the source it was taken for
Fields = dict[str, str] | None  # WARC headers of newsvault's own on a response record


@dataclass(frozen=True)
class CaptureRef:
    """Where one response lies: `file` is relative to the captures directory."""

    url: str
    status: int
    content_type: str | None
    digest: str
    file: str
    offset: int
    length: int
    fetched: float


class CaptureWriter:
    def __init__(
        self,
        directory: Path,
        committed_ends: dict[str, int],
        rotate_bytes: int,
        host: str = "",
        compression: str = "fast",
    ) -> None:
        """`committed_ends` maps each file name to the end of its last record the store knows;
        `host` (when given) goes into the names of the files this writer starts and is the
        only kind it continues; `compression` is one of COMPRESSORS."""
        self.directory = directory
        self.compressor = COMPRESSORS[compression]
        self.rotate_bytes = rotate_bytes
        self.host = _host_tag(host)
        self._committed = committed_ends
        self._fh: BinaryIO | None = None
        self._name = ""
        self.batch = f"{time.time_ns()}-{os.getpid()}"

    def write(self, response: Response, fields: Fields = None) -> CaptureRef:
        """The response as a `response` record, after a `request` record saying what was
        asked for (replay tools pair them): the capture is the response record. Besides
        WARC's own headers it carries `fields` (what it was fetched for: `Newsvault-Role`,
        `Newsvault-Source`) and this writer's `Newsvault-Batch`, which `rebuild` reads to
        replay the captures as they were taken."""
        fh = self._current()
        http_headers = StatusAndHeaders(
            f"{response.status} {_reason(response.status)}",
            [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS]
            + [("Content-Length", str(len(response.raw)))],
            protocol="HTTP/1.1",
        )
        writer = _GzipMembers(fh, self.compressor)
        date = _warc_date(response.fetched)
        record = writer.create_warc_record(
            response.url,
            "response",
            payload=io.BytesIO(response.raw),
            length=len(response.raw),  # else warcio copies it twice to find out, hashing thrice
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": date, **(fields or {}), BATCH: self.batch},
        )
        if response.request_headers:  # a page saved from a browser was never requested
            parts = urlsplit(response.url)
            target = quote(  # as it went on the wire: what is not ASCII, percent-encoded
                (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                safe="!#$%&'()*+,/:;=?@[]~",
            )
            request = writer.create_warc_record(
                response.url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(
                    f"GET {target} HTTP/1.1",
                    list(response.request_headers.items()),
                    is_http_request=True,
                ),
                warc_headers_dict={
                    "WARC-Date": date,
                    "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID"),
                },
            )
            writer.write_record(request)
        offset = fh.tell()
        writer.write_record(record)
        fh.flush()
        length = fh.tell() - offset
        self._committed[self._name] = offset + length
        return CaptureRef(
            url=response.url,
            status=response.status,
            content_type=response.content_type,
            digest=response.digest,
            file=self._name,
            offset=offset,
            length=length,
            fetched=response.fetched,
        )

    def close(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()  # the file's lock goes with it
            self._fh = None

    def _current(self) -> BinaryIO:
        if self._fh is not None and self._fh.tell() < self.rotate_bytes:
            return self._fh
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        ours = re.compile(
            r"(\d+)\." + (re.escape(self.host) + r"\." if self.host else "") + r"warc\.gz"
        )
        serials = sorted(
            int(found[1])
            for p in self.directory.glob("*.warc.gz")
            if (found := ours.fullmatch(p.name))
        )
        if serials:
            self._fh = self._continue(self._file_name(serials[-1]))
        if self._fh is None:
            self._fh = self._start(serials[-1] + 1 if serials else 1)
        return self._fh

    def _continue(self, name: str) -> BinaryIO | None:
        """The last file, when no other process writes to it and its tail is known."""
        handle = open(self.directory / name, "ab")  # noqa: SIM115 - kept open until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process's writer has it
            handle.close()
            return None
        size = handle.seek(0, os.SEEK_END)
        if size >= self.rotate_bytes or size != self._committed.get(name, 0):
            handle.close()
            return None
        self._name = name
        return handle

    def _start(self, serial: int) -> BinaryIO:
        """A new file of this writer's own, with the next free number."""
        while True:
            name = self._file_name(serial)
            try:
                fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:  # another process started that one just now
                serial += 1
                continue
            handle = os.fdopen(fd, "ab")
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._name = name
            _write_warcinfo(handle, name, self.compressor)
            return handle

    def _file_name(self, serial: int) -> str:
        return f"{serial:05d}.{self.host}.warc.gz" if self.host else f"{serial:05d}.warc.gz"


class _GzipMembers(WARCWriter):
    """warcio's writer, each record its own gzip member made by `compressor` (warcio's own
    zlib at level 9 took 16 times the CPU of ISA-L at 2, the most of what a capture cost)."""

    def __init__(self, out: BinaryIO, compressor: Callable[[], _Compressor]) -> None:
        super().__init__(out, gzip=False)
        self._compressor = compressor

    def write_record(self, record: ArcWarcRecord, params: object = None) -> None:
        buffer = io.BytesIO()
        self._write_warc_record(buffer, record)
        compressor = self._compressor()
        self.out.write(compressor.compress(buffer.getbuffer()) + compressor.flush())


def _host_tag(host: str) -> str:
    """A host name as part of a file name: letters, digits and hyphens."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", host).strip("-")


def _write_warcinfo(handle: BinaryIO, name: str, compressor: Callable[[], _Compressor]) -> None:
    """The record that opens every capture file: what wrote it, to which standard."""
    writer = _GzipMembers(handle, compressor)
    info = {
        "software": f"newsvault/{_version()}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": "raw HTTP responses kept by newsvault, with the requests that fetched them",
    }
    writer.write_record(writer.create_warcinfo_record(name, info))
    handle.flush()


def _version() -> str:
    try:
        return metadata.version("newsvault")
    except metadata.PackageNotFoundError:
        return "unknown"


def read_capture(
    directory: Path, file: str, offset: int
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Read one record back: (status, headers, body with its Content-Encoding undone)."""
    with open(directory / file, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            status = int(record.http_headers.get_statuscode())
            headers = list(record.http_headers.headers)
            return status, headers, record.content_stream().read()
    raise FileNotFoundError(f"no WARC record at {file}:{offset}")


def _warc_date(timestamp: float) -> str:
    """To the millisecond the database keeps times in, so that the time read back from a
    capture is the one that was stored (`rebuild`)."""
    moment = dt.datetime.fromtimestamp(round(timestamp * 1000) / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
