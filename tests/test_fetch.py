"""The fetcher against a real loopback server: limits, deadlines, retries, the SSRF guard."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import zlib

import pytest

from newsvault.errors import (
    BadResponse,
    BlockedAddress,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    TooLarge,
)
from newsvault.fetch.client import Fetcher, FetchOptions
from newsvault.fetch.guard import check_url, is_public_address
from newsvault.loopback import LoopbackServer, Route, brotli_bomb, gzip_bomb


def fetch(options: FetchOptions, url: str, **kwargs):
    async def go():
        async with Fetcher(options) as fetcher:
            return await fetcher.get(url, **kwargs)

    return asyncio.run(go())


def test_plain_get(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/a", Route(b"hello", headers={"Content-Type": "text/plain"}))
    response = fetch(fast_options, server.url("/a"))
    assert (response.status, response.body, response.content_type) == (200, b"hello", "text/plain")
    assert server.requests[-1].headers["User-Agent"].startswith("newsvault/")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_content_encodings_are_decoded_and_raw_bytes_kept(
    server: LoopbackServer, fast_options: FetchOptions, encoding: str
) -> None:
    body = "新闻".encode() * 1000
    server.set("/c", Route(body, encoding=encoding))
    response = fetch(fast_options, server.url("/c"))
    assert response.body == body
    assert len(response.raw) < len(body)  # the capture keeps what came over the wire


def test_raw_deflate_without_zlib_header(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = compressor.compress(b"raw deflate body") + compressor.flush()
    server.set("/d", Route(raw, headers={"Content-Encoding": "deflate"}))
    assert fetch(fast_options, server.url("/d")).body == b"raw deflate body"


def test_conditional_get(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/f", Route(b"feed", etag='"v1"', last_modified="Wed, 19 Jun 2024 13:39:24 GMT"))
    first = fetch(fast_options, server.url("/f"))
    assert first.headers["ETag"] == '"v1"'
    again = fetch(
        fast_options, server.url("/f"), etag='"v1"', last_modified=first.headers["Last-Modified"]
    )
    assert again.not_modified and again.body == b""
    assert server.requests[-1].headers["If-None-Match"] == '"v1"'


def test_redirects_are_followed_and_recorded(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/old", Route(redirect="/mid", status=301))
    server.set("/mid", Route(redirect=server.url("/new")))
    server.set("/new", Route(b"here"))
    response = fetch(fast_options, server.url("/old"))
    assert response.body == b"here" and response.url == server.url("/new")
    assert [hop.status for hop in response.history] == [301, 302]


def test_redirect_loop_stops(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/loop", Route(redirect="/loop"))
    with pytest.raises(BadResponse, match="more than 5 redirects"):
        fetch(fast_options, server.url("/loop"))


def test_http_errors_carry_the_response(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/gone", Route(b"not here", status=404))
    with pytest.raises(HTTPStatusError) as caught:
        fetch(fast_options, server.url("/gone"))
    assert caught.value.status == 404
    assert caught.value.response.body == b"not here"  # type: ignore[attr-defined]
    assert server.hits("/gone") == 1  # 4xx is not retried


def test_5xx_is_retried_then_succeeds(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/flaky", Route(b"down", status=503))

    def recover() -> None:
        while server.hits("/flaky") < 1:
            time.sleep(0.001)
        server.set("/flaky", Route(b"up"))

    helper = threading.Thread(target=recover)
    helper.start()
    response = fetch(
        FetchOptions(retries=2, backoff=0.2, host_delay=0, allow_private_networks=True),
        server.url("/flaky"),
    )
    helper.join()
    assert response.body == b"up" and server.hits("/flaky") == 2


def test_5xx_gives_up_after_the_retries(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/down", Route(b"", status=500))
    with pytest.raises(HTTPStatusError, match="HTTP 500"):
        fetch(fast_options, server.url("/down"))
    assert server.hits("/down") == 1 + fast_options.retries


def test_trickling_server_hits_the_overall_deadline(server: LoopbackServer) -> None:
    server.set("/slow", Route(b"x" * 1000, trickle=0.05))
    options = FetchOptions(timeout=0.5, retries=0, host_delay=0, allow_private_networks=True)
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"within 0\.5s"):
        fetch(options, server.url("/slow"))
    assert time.monotonic() - started < 2


def test_slow_headers_hit_the_deadline(server: LoopbackServer) -> None:
    server.set("/late", Route(b"x", delay=2))
    options = FetchOptions(timeout=0.3, retries=0, host_delay=0, allow_private_networks=True)
    with pytest.raises(FetchTimeout):
        fetch(options, server.url("/late"))


def test_declared_length_over_the_limit(server: LoopbackServer) -> None:
    server.set("/big", Route(b"x" * 2000))
    options = FetchOptions(max_bytes=1000, host_delay=0, allow_private_networks=True)
    with pytest.raises(TooLarge, match="Content-Length 2,000"):
        fetch(options, server.url("/big"))


def test_endless_body_is_cut_at_the_limit(server: LoopbackServer) -> None:
    server.set("/endless", Route(b"0123456789" * 1000, endless=True))
    options = FetchOptions(max_bytes=1_000_000, host_delay=0, allow_private_networks=True)
    with pytest.raises(TooLarge, match="body exceeds 1,000,000 bytes"):
        fetch(options, server.url("/endless"))


@pytest.mark.parametrize(("name", "bomb"), [("gzip", gzip_bomb), ("br", brotli_bomb)])
def test_decompression_bombs_are_refused(server: LoopbackServer, name: str, bomb) -> None:
    server.set("/bomb", Route(bomb(), headers={"Content-Encoding": name}))
    options = FetchOptions(max_bytes=5_000_000, host_delay=0, allow_private_networks=True)
    with pytest.raises(TooLarge, match="decompressed body is larger"):
        fetch(options, server.url("/bomb"))


def test_stacked_encodings_are_limited(server: LoopbackServer, fast_options: FetchOptions) -> None:
    body = gzip.compress(gzip.compress(gzip.compress(b"x")))
    server.set("/stack", Route(body, headers={"Content-Encoding": "gzip, gzip, gzip"}))
    with pytest.raises(BadResponse, match="3 stacked content encodings"):
        fetch(fast_options, server.url("/stack"))


def test_corrupt_compressed_body(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/corrupt", Route(b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(BadResponse, match="corrupt compressed body"):
        fetch(fast_options, server.url("/corrupt"))
    server.set("/corrupt-br", Route(b"\xff\xff\xff\xff", headers={"Content-Encoding": "br"}))
    with pytest.raises(BadResponse, match="corrupt brotli body"):
        fetch(fast_options, server.url("/corrupt-br"))


def test_truncated_body_is_a_network_error(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/short", Route(b"only ten b", length=100))
    with pytest.raises(NetworkError, match="cut short"):
        fetch(fast_options, server.url("/short"))


def test_connection_refused(fast_options: FetchOptions) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NetworkError, match="cannot connect"):
        fetch(fast_options, f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/",
        "http://[::1]:1/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_literals_are_refused_without_a_request(url: str) -> None:
    with pytest.raises(BlockedAddress, match="private address"):
        fetch(FetchOptions(retries=0), url)


def test_hostnames_resolving_to_loopback_are_refused(server: LoopbackServer) -> None:
    server.set("/x", Route(b"secret"))
    with pytest.raises(BlockedAddress, match="localhost resolves to"):
        fetch(FetchOptions(retries=0), f"http://localhost:{server.base_url.rsplit(':', 1)[1]}/x")
    assert server.hits("/x") == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/x",
        "http://10.0.0.1/",
        "http://[64:ff9b::7f00:1]:{port}/x",  # NAT64 of 127.0.0.1, the server itself
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
    ],
)
def test_every_redirect_hop_is_checked(server: LoopbackServer, target: str) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    server.set("/r", Route(redirect=target.format(port=port)))
    server.set("/x", Route(b"secret"))
    options = FetchOptions(
        retries=0, timeout=5.0, host_delay=0, allowed_addresses=frozenset({"127.0.0.1"})
    )
    with pytest.raises(BlockedAddress, match="private address") as refused:
        fetch(options, server.url("/r"))
    assert "\n" not in str(refused.value) and "allow_private_networks" in str(refused.value)
    assert server.hits("/x") == 0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 (RFC 6052) of 169.254.169.254
        ("64:ff9b::7f00:1", False),  # ... of 127.0.0.1
        ("64:ff9b::a00:1", False),  # ... of 10.0.0.1
        ("64:ff9b::808:808", True),  # ... of 8.8.8.8
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64 (RFC 8215), /96 format
        ("64:ff9b:1:2:3:4:808:808", True),
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:7f00:1::", False),
        ("2002:808:808::1", True),
        ("::a9fe:a9fe", False),  # IPv4-compatible ::169.254.169.254
        ("::c0a8:1", False),  # ::192.168.0.1
        ("::808:808", True),
        ("::ffff:a9fe:a9fe", False),  # IPv4-mapped
        ("::ffff:808:808", True),
        ("::ffff:0:a9fe:a9fe", False),  # IPv4-translated (SIIT)
        ("::ffff:0:808:808", True),
        ("2001:0:4136:e378:8000:63bf:5601:5601", False),  # Teredo, client 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # client 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", True),  # client 8.8.8.8
        ("2001:4860:4860::8888", True),  # plain public IPv6
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("8.8.8.8", True),
        ("169.254.169.254", False),
    ],
)
def test_addresses_carrying_ipv4_are_judged_by_it(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_the_refusal_names_the_ipv4_inside() -> None:
    with pytest.raises(BlockedAddress) as refused:
        check_url("http://[64:ff9b::a9fe:a9fe]/latest/", allow_private=False)
    assert str(refused.value) == (
        "http://[64:ff9b::a9fe:a9fe]/latest/: 64:ff9b::a9fe:a9fe (it reaches 169.254.169.254) "
        "is a private address; set fetch.allow_private_networks = true to allow it"
    )
    check_url("http://[64:ff9b::a9fe:a9fe]/latest/", allow_private=True)  # explicitly allowed


@pytest.mark.parametrize(
    ("url", "public"),
    [("http://[64:ff9b::a9fe:a9fe]/", False), ("http://[64:ff9b::808:808]/news", True)],
)
def test_submitted_urls_are_judged_by_the_ipv4_inside(url: str, public: bool) -> None:
    from newsvault.web.submissions import Refused, validate_url

    if public:
        assert validate_url(url, allow_private=False) == url
    else:
        with pytest.raises(Refused, match="private or local address"):
            validate_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)"]
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(BadResponse, match=r"unsupported scheme|no host"):
        fetch(FetchOptions(), url)
