"""The loopback test server itself, checked with the standard library's HTTP client."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import brotli
import pytest

from newsvault.loopback import LoopbackServer, Route, brotli_bomb, gzip_bomb


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_routes_status_and_request_log(server: LoopbackServer) -> None:
    server.set("/a", Route(b"alpha", headers={"Content-Type": "text/plain"}))
    server.set("/gone", Route(b"no", status=410))
    assert get(server.url("/a"))[::2] == (200, b"alpha")
    assert get(server.url("/gone"))[0] == 410
    assert get(server.url("/nothing"))[0] == 404
    server.remove("/a")
    assert get(server.url("/a"))[0] == 404
    assert (server.hits("/a"), server.hits("/gone")) == (2, 1)
    assert server.requests[0].method == "GET"


def test_conditional_requests(server: LoopbackServer) -> None:
    modified = "Wed, 19 Jun 2024 13:39:24 GMT"
    server.set("/f", Route(b"feed", etag='"v1"', last_modified=modified))
    status, headers, _ = get(server.url("/f"))
    assert (status, headers["ETag"], headers["Last-Modified"]) == (200, '"v1"', modified)
    assert get(server.url("/f"), **{"If-None-Match": '"v1"'})[0] == 304
    assert get(server.url("/f"), **{"If-None-Match": '"v0"'})[0] == 200
    assert get(server.url("/f"), **{"If-Modified-Since": modified})[0] == 304


@pytest.mark.parametrize(
    ("encoding", "decompress"),
    [("gzip", gzip.decompress), ("deflate", zlib.decompress), ("br", brotli.decompress)],
)
def test_encodings(server: LoopbackServer, encoding: str, decompress) -> None:
    server.set("/c", Route(b"compress me " * 100, encoding=encoding))
    _, headers, body = get(server.url("/c"))
    assert headers["Content-Encoding"] == encoding
    assert decompress(body) == b"compress me " * 100


def test_redirects(server: LoopbackServer) -> None:
    server.set("/old", Route(redirect="/new"))
    server.set("/moved", Route(redirect="/new", status=301))
    status, headers, _ = get(server.url("/old"))
    assert (status, headers["Location"]) == (302, "/new")
    assert get(server.url("/moved"))[0] == 301


def test_declared_length_longer_than_the_body(server: LoopbackServer) -> None:
    server.set("/short", Route(b"ten bytes!", length=100))
    with pytest.raises(Exception, match=r"IncompleteRead|incomplete|Connection"):
        get(server.url("/short"))


def test_endless_body_stops_when_the_client_does(server: LoopbackServer) -> None:
    server.set("/endless", Route(b"x" * 1000, endless=True))
    with urllib.request.urlopen(server.url("/endless"), timeout=5) as response:
        assert len(response.read(50_000)) == 50_000


def test_from_directory(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "a.xml").write_bytes(b"<rss><link>{{BASE}}/page.html</link></rss>")
    (tmp_path / "page.html").write_text("<p>{{NAME}}</p>", encoding="utf-8")
    headers = {"feeds/a.xml": {"Content-Type": "application/rss+xml; charset=gbk"}}
    with LoopbackServer.from_directory(
        tmp_path, substitutions={"{{NAME}}": "新闻"}, headers=headers
    ) as server:
        status, sent, body = get(server.url("/feeds/a.xml"))
        assert status == 200
        assert body == f"<rss><link>{server.base_url}/page.html</link></rss>".encode()
        assert sent["Content-Type"] == "application/rss+xml; charset=gbk"
        assert get(server.url("/feeds/a.xml"), **{"If-None-Match": sent["ETag"]})[0] == 304
        _, sent, body = get(server.url("/page.html"))
        assert (body.decode(), sent["Content-Type"]) == ("<p>新闻</p>", "text/html; charset=utf-8")


def test_bombs_are_small_and_expand_to_their_size() -> None:
    size = 64 << 20
    small_gzip, small_br = gzip_bomb(size), brotli_bomb(size)
    assert len(small_gzip) < size // 500 and len(small_br) < size // 500
    assert len(zlib.decompressobj(31).decompress(small_gzip)) == size
    assert len(brotli.decompress(small_br)) == size
