"""The web app against hostile clients, over raw HTTP on 127.0.0.1: path traversal, forged
X-Forwarded-For, a full submission queue, huge bodies and request lines, a worker that meets
an unexpected error, and ids out of SQLite's range."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from newsvault.loopback import LoopbackServer, Route
from newsvault.watch import daemon
from newsvault.web.app import server_config

from .conftest import make_archive
from .test_pages import ARTICLE
from .test_site import seeded
from .test_web import TOKEN, call, configure

SECRET = b"TOP-SECRET-CONTENT"
HTML = {"Content-Type": "text/html"}
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"


@contextmanager
def serving(root: Path) -> Iterator[tuple[str, int]]:
    """The app as `newsvault serve` runs it, on a free port: (base URL, port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(root))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def raw(
    port: int,
    target: bytes,
    method: bytes = b"GET",
    head: bytes = b"",
    body: bytes = b"",
    piece: int = 0,
) -> tuple[int, bytes]:
    """One request sent byte for byte as given (no client-side normalising), in pieces of
    `piece` bytes a few milliseconds apart if given: status, body."""
    request = (
        method
        + b" "
        + target
        + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        + head
        + b"\r\n"
        + body
    )
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        for start in range(0, len(request), piece or len(request)):
            sock.sendall(request[start : start + (piece or len(request))])
            time.sleep(0.005 if piece else 0)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def submit(base: str, url: str, forwarded: str | None = None):
    """POST /api/submissions: status, JSON answer, headers."""
    request = urllib.request.Request(f"{base}/api/submissions", method="POST")
    request.add_header("Content-Type", "application/json")
    if forwarded:
        request.add_header("X-Forwarded-For", forwarded)
    data = json.dumps({"url": url}).encode()
    try:
        with urllib.request.urlopen(request, data, timeout=20) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def settle(base: str, submission: int, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, job, _ = call("GET", f"{base}/api/submissions/{submission}")
        assert status == 200
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"submission stuck: {job}"
        time.sleep(0.1)


def rss() -> int:
    """This process's resident memory in bytes (the server runs in a thread of it)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


# -- 1. path traversal ----------------------------------------------------------------------


def test_no_file_outside_the_site_is_served(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    (tmp_path / "secret.html").write_bytes(SECRET)  # beside the archive
    (archive.root / "inside.html").write_bytes(SECRET)  # in the archive, outside site/
    with serving(archive.root) as (_, port):
        site = archive.root / "site"
        (site / "articles" / "voa" / "link.html").symlink_to(tmp_path / "secret.html")
        assert raw(port, b"/articles/voa/1048574.html")[0] == 200
        assert raw(port, b"/style.css")[0] == 200
        for target in (
            b"/sources/../../../secret.html",
            b"/articles/../../../secret.html",
            b"/articles/voa/../../../../secret.html",
            b"/articles/../../inside.html",
            b"/days/%2e%2e/%2e%2e/%2e%2e/secret.html",
            b"/days/%2E%2E/%2E%2E/inside.html",
            b"/articles/..%2f..%2f..%2fsecret.html",
            b"/articles/..%2F..%2Finside.html",
            b"/articles/..\\..\\..\\secret.html",
            b"/articles/%5c..%5c..%5cinside.html",
            b"/articles/voa/1048574.html%00.html",
            b"/articles/voa/link.html",
        ):
            status, body = raw(port, target)
            assert status in (400, 404) and SECRET not in body, target


# -- 2. forwarded addresses and the queue ---------------------------------------------------


def test_forged_forwarded_for_does_not_escape_the_rate_limit(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/news/rain.html", Route(ARTICLE, headers=HTML))
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, "[serve]\nsubmissions_per_minute = 3\n")
    with serving(root) as (base, _):
        answers = [
            submit(base, server.url("/news/rain.html"), f"203.0.113.{n}")[0] for n in range(6)
        ]
        assert answers[:3] in ([202, 202, 202], [202, 200, 200], [202, 202, 200])
        assert answers[3:] == [429, 429, 429]


def test_forwarded_for_is_read_only_from_trusted_proxies(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/news/rain.html", Route(ARTICLE, headers=HTML))
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, '[serve]\nsubmissions_per_minute = 2\ntrusted_proxies = ["127.0.0.0/8"]\n')
    url = server.url("/news/rain.html")
    with serving(root) as (base, _):
        for n in range(4):  # four clients behind the proxy: each its own limit
            assert submit(base, url, f"198.51.100.{n}")[0] in (200, 202)
        # the right-most address no trusted proxy wrote is the client: a forged left part is
        # ignored, and the proxy's own address (127.0.0.5) is skipped
        for n in range(2):
            assert submit(base, url, f"6.6.6.{n}, 198.51.100.9, 127.0.0.5")[0] in (200, 202)
        status, answer, _ = submit(base, url, "6.6.6.7, 198.51.100.9")
        assert status == 429 and "try again" in answer["detail"]
        assert submit(base, url, "198.51.100.10")[0] in (200, 202)


def test_a_full_queue_answers_503_with_retry_after(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        server.set(f"/{name}.html", Route(ARTICLE, headers=HTML))
    gate = threading.Event()
    real = daemon.archive_url

    async def held(*args):
        await asyncio.to_thread(gate.wait, 30)
        return await real(*args)

    monkeypatch.setattr(daemon, "archive_url", held)
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, "[serve]\nqueue_max = 2\nsubmissions_per_minute = 50\n")
    with serving(root) as (base, port):
        try:
            first = submit(base, server.url("/a.html"))
            second = submit(base, server.url("/b.html"))
            assert first[0] == 202 and second[0] == 202
            status, answer, headers = submit(base, server.url("/c.html"))
            assert status == 503 and int(headers["Retry-After"]) > 0
            assert "queue" in answer["detail"] and "\n" not in answer["detail"]
            form = f"urls={server.url('/c.html')}".encode()
            status, page = raw(
                port, b"/submit", b"POST", FORM + b"Content-Length: %d\r\n" % len(form), form
            )
            assert status == 503 and "存档队列已满" in page.decode()
        finally:
            gate.set()
        assert settle(base, first[1]["id"])["status"] == "done"
        assert settle(base, second[1]["id"])["status"] in ("done", "failed")
        assert submit(base, server.url("/c.html"))[0] in (200, 202)


# -- 3. request size ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "kind", "start"),
    [
        (b"/api/submissions", b"application/json", b'{"url": "'),
        (b"/submit", b"application/x-www-form-urlencoded", b"urls="),
    ],
)
def test_a_huge_chunked_body_is_refused_before_it_is_read(
    tmp_path: Path, target: bytes, kind: bytes, start: bytes
) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    total = 50 << 20
    chunk = b"%x\r\n%s\r\n" % (65536, b"u" * 65536)
    with serving(root) as (_, port):
        before = rss()
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: %s\r\n\r\n%x\r\n%s\r\n" % (target, kind, len(start), start)
        )
        sent, pending, answer = 0, memoryview(b""), b""
        deadline = time.monotonic() + 60
        while not answer and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < total else [], [], 1)
            if readable:
                answer = sock.recv(65536)
            elif writable:
                pending = pending or memoryview(
                    chunk if sent + len(chunk) < total else b"0\r\n\r\n"
                )
                try:
                    done = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                pending, sent = pending[done:], sent + done
        answer = answer or sock.recv(65536)
        sock.close()
        grown = rss() - before
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < total // 2, f"the server read {sent:,} of {total:,} bytes before answering"
    assert grown < 25 << 20, f"the server grew by {grown:,} bytes"


def test_a_declared_huge_body_is_refused_at_once(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, "[serve]\nmax_body_bytes = 4096\n")
    with serving(root) as (_, port):
        for target in (b"/submit", b"/api/submissions"):
            status, body = raw(port, target, b"POST", b"Content-Length: 200000000\r\n")
            assert status == 413 and b"4096" in body, body
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(
                b"POST /api/submissions HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n" + b" " * 5000
            )
            assert sock.recv(65536).startswith(b"HTTP/1.1 413")


def test_a_huge_request_line_gets_a_proper_answer(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    with serving(root) as (_, port):
        for piece in (0, 4096):  # at once, and in pieces (the server reads between them)
            status, body = raw(port, b"/search?q=" + b"a" * 100_000, piece=piece)
            assert status in (400, 414) and len(body.strip().splitlines()) == 1, body[:300]
        assert raw(port, b"/search?q=" + b"a" * 5000)[0] == 200


# -- 4. the worker survives unexpected errors -----------------------------------------------


def test_the_worker_survives_an_unexpected_error(
    tmp_path: Path,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.set("/boom.html", Route(ARTICLE, headers=HTML))
    server.set("/news/rain.html", Route(ARTICLE, headers=HTML))
    real = daemon.archive_url

    async def flaky(fetcher, store, writer, rules, url):
        if url.endswith("/boom.html"):
            raise RuntimeError("disk on fire\nsecond line")
        return await real(fetcher, store, writer, rules, url)

    monkeypatch.setattr(daemon, "archive_url", flaky)
    root = tmp_path / "news"
    make_archive(root, [])
    with serving(root) as (base, _):
        failed = settle(base, submit(base, server.url("/boom.html"))[1]["id"])
        assert failed["status"] == "failed" and "disk on fire" in failed["message"]
        assert "\n" not in failed["message"]
        done = settle(base, submit(base, server.url("/news/rain.html"))[1]["id"])
        assert done["status"] == "done" and done["article_id"]
    logged = [line for line in capsys.readouterr().err.splitlines() if "disk on fire" in line]
    assert len(logged) == 1 and " error error " in logged[0] and "job=submission" in logged[0]


# -- 5. ids out of range --------------------------------------------------------------------


def test_ids_out_of_range_are_not_found(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, f'[serve]\nadmin_token = "{TOKEN}"\n')
    huge = "99999999999999999999"
    with serving(root) as (base, port):
        for path in (f"/api/articles/{huge}", f"/api/submissions/{huge}", "/api/articles/0"):
            status, answer, _ = call("GET", base + path)
            assert status == 404 and "no " in answer["detail"], (path, status)
        assert call("DELETE", f"{base}/api/articles/{huge}", token=TOKEN)[0] == 404
        assert call("DELETE", f"{base}/api/articles/-3", token=TOKEN)[0] == 404
        for ids in (huge, "9" * 5000, "%C2%B2", f"1,{huge}", "-1"):  # %C2%B2: "²", a digit
            assert raw(port, f"/submissions?ids={ids}".encode())[0] == 404, ids
        status, answer, _ = call("GET", f"{base}/api/stories?min_size={huge}&limit={huge}")
        assert status == 200 and answer == {"stories": []}
        assert call("GET", f"{base}/api/search?q=x&limit={huge}")[0] == 200
