"""Capture files as replay tools and WARC checkers expect them: each opens with a warcinfo
record, and each response follows the request that fetched it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from newsvault.archive import Archive
from newsvault.captures import CaptureWriter, read_capture
from newsvault.cli import app
from newsvault.fetch.client import Response
from newsvault.loopback import LoopbackServer, Route
from newsvault.warcs import read_warc

from .conftest import make_archive
from .feedgen import rss

runner = CliRunner()
WARCIO = str(Path(sys.executable).with_name("warcio"))  # its command-line checker


def test_captures_hold_warcinfo_request_and_response_records_that_check(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/feed.xml", Route(rss("f", 3, base=server.base_url), etag='"v1"'))
    root = tmp_path / "news"
    make_archive(root, [("f", "F", server.url("/feed.xml"))])
    for _ in range(2):  # the second poll is conditional: If-None-Match goes in its request
        assert runner.invoke(app, ["-a", str(root), "run"]).exit_code == 0
    files = sorted((root / "captures").glob("*.warc.gz"))
    assert files
    for path in files:
        checked = subprocess.run(
            [WARCIO, "check", "-v", str(path)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        with path.open("rb") as fh:
            records = list(ArchiveIterator(fh))
        kinds = [r.rec_type for r in records]
        assert kinds[0] == "warcinfo" and "request" in kinds and "response" in kinds
    with files[0].open("rb") as fh:
        records = [(r.rec_type, r.rec_headers, r.http_headers) for r in ArchiveIterator(fh)]
    request = next(h for kind, h, _ in records if kind == "request")
    response = next(h for kind, h, _ in records if kind == "response")
    assert request.get_header("WARC-Concurrent-To") == response.get_header("WARC-Record-ID")
    asked = next(http for kind, _, http in records if kind == "request")
    assert asked.protocol == "GET" and asked.get_header("User-Agent").startswith("newsvault")
    store = Archive(root).store()
    (article, *_) = list(store.articles())
    capture = store.capture(article.capture_id)
    store.close()
    status, _, body = read_capture(root / "captures", capture.warc_file, capture.warc_offset)
    assert status == 200 and b"<rss" in body  # a capture still points at its response
    index = subprocess.run(
        [WARCIO, "index", "-f", "warc-type", str(files[0])],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert json.loads(index.splitlines()[0])["warc-type"] == "warcinfo"


def test_a_request_for_a_url_that_is_not_ascii_is_recorded(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, {}, 10**9)
    response = Response(
        url="http://x.example/新闻\ufffd.html?q=条约", status=404,
        headers=CIMultiDictProxy(CIMultiDict({"Content-Type": "text/html"})),
        raw=b"gone", body=b"gone", fetched=time.time(), request_headers={"Host": "x.example"},
    )  # fmt: skip
    writer.write(response)
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    with path.open("rb") as fh:
        request = next(r for r in ArchiveIterator(fh) if r.rec_type == "request")
    assert (
        request.http_headers.get_statuscode()
        == "/%E6%96%B0%E9%97%BB%EF%BF%BD.html?q=%E6%9D%A1%E7%BA%A6"
    )


UNSEEN = Path(__file__).parents[1] / "benchmarks" / "data" / "unseen"


def _pages() -> list[bytes]:
    return [gzip.decompress(p.read_bytes()) for p in sorted(UNSEEN.glob("*/*.html.gz"))]


@pytest.mark.parametrize("compression", ["fast", "small"])
def test_each_compression_writes_gzip_members_every_reader_takes(
    compression: str, tmp_path: Path
) -> None:
    bodies = _pages()
    assert bodies
    writer = CaptureWriter(tmp_path, {}, 10**9, compression=compression)
    refs = [writer.write(_response(f"http://x.example/{n}.html", b)) for n, b in enumerate(bodies)]
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    checked = subprocess.run([WARCIO, "check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert gzip.decompress(path.read_bytes()).count(b"\r\nWARC-Type: ") == 1 + 2 * len(bodies)
    for ref, body in zip(refs, bodies, strict=True):
        assert read_capture(tmp_path, ref.file, ref.offset)[2] == body
    read = [r.decoded() for r in read_warc(path, "fastwarc") if r.kind == "response"]
    assert read == bodies


def test_smaller_compressions_make_smaller_files(tmp_path: Path) -> None:
    bodies = _pages()
    sizes = {}
    for compression in ("fast", "small"):
        (tmp_path / compression).mkdir()
        writer = CaptureWriter(tmp_path / compression, {}, 10**9, compression=compression)
        for n, body in enumerate(bodies):
            writer.write(_response(f"http://x.example/{n}.html", body))
        writer.close()
        sizes[compression] = sum(p.stat().st_size for p in (tmp_path / compression).iterdir())
    assert sizes["fast"] > sizes["small"] * 1.05


def _response(url: str, body: bytes) -> Response:
    return Response(
        url=url, status=200,
        headers=CIMultiDictProxy(CIMultiDict({"Content-Type": "text/html; charset=utf-8"})),
        raw=body, body=body, fetched=time.time(), request_headers={"Host": "x.example"},
    )  # fmt: skip
