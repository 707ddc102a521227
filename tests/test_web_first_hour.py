"""The web app as a new user and their tools meet it: HEAD, ..."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from typer.testing import CliRunner

from newsvault.cli import app
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import CHINA_TIME
from newsvault.stories.process import process_pending

from .conftest import make_archive
from .feedgen import rss
from .test_pages import ARTICLE
from .test_site import T0, article, seeded
from .test_web_hostile import serving

runner = CliRunner()
RSS = {"Content-Type": "application/rss+xml"}


def exchange(port: int, method: bytes, target: bytes) -> tuple[bytes, bytes]:
    """One request, the whole answer: (head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(method + b" " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_head_answers_like_get_without_the_body(tmp_path: Path) -> None:
    root = tmp_path / "news"
    seeded(root)
    with serving(root) as (_, port):
        for target in (b"/", b"/search?q=x", b"/api/sources", b"/days/index.html", b"/nowhere"):
            got_head, got_body = exchange(port, b"GET", target)
            head, body = exchange(port, b"HEAD", target)
            assert head.split(b"\r\n")[0] == got_head.split(b"\r\n")[0], target
            assert body == b"" and got_body, target
            length = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")]
            assert length and int(length[0].split(b":")[1]) == len(got_body), target


def test_the_api_docs_work_offline(tmp_path: Path) -> None:
    root = tmp_path / "news"
    seeded(root)
    with serving(root) as (_, port):
        head, page = exchange(port, b"GET", b"/docs")
        assert head.startswith(b"HTTP/1.1 200")
        found = re.findall(rb'(?:src|href)=["\']([^"\']+)', page)
        assert found and all(url.startswith(b"/") for url in found), found  # nothing from a CDN
        policy = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-security")]
        assert b"https:" not in policy[0]
        for url in found:
            file_head, body = exchange(port, b"GET", url)
            assert file_head.startswith(b"HTTP/1.1 200") and body, url


def test_search_has_pages_filters_and_a_form_without_a_query(tmp_path: Path) -> None:
    root = tmp_path / "news"
    archive = seeded(root)
    store = archive.store()
    voa = store.ensure_source("voa", "美国之音")
    items = [article("voa", 100 + n, f"洪水第{n}报", "<p>长江洪水继续上涨。</p>", hours=n * 24)
             for n in range(25)]  # fmt: skip
    store.add_articles(voa, items, None)
    process_pending(store)
    store.close()
    with serving(root) as (_, port):
        _, empty = exchange(port, b"GET", b"/search")
        assert b'name="source"' in empty and b'type="date"' in empty and b"<option" in empty
        _, first = exchange(port, b"GET", b"/search?q=%E6%B4%AA%E6%B0%B4")  # 洪水
        assert first.count(b"<li><time") == 20 and b'rel="next"' in first
        next_page = re.search(rb'rel="next" href="([^"]+)"', first).group(1).replace(b"&amp;", b"&")
        _, second = exchange(port, b"GET", next_page)
        assert second.count(b"<li><time") == 5 and b'rel="prev"' in second
        assert b'rel="next"' not in second and b'start="21"' in second
        _, other = exchange(port, b"GET", b"/search?q=%E6%B4%AA%E6%B0%B4&source=rfa")
        assert other.count(b"<li><time") == 0
        day = dt.datetime.fromtimestamp(T0 / 1000 + 2 * 86400, CHINA_TIME).date().isoformat()
        _, dated = exchange(
            port, b"GET", f"/search?q=%E6%B4%AA%E6%B0%B4&since={day}&until={day}".encode()
        )
        assert dated.count(b"<li><time") == 1  # the until day is included
        head, bad = exchange(port, b"GET", b"/search?q=%E6%B4%AA%E6%B0%B4&since=soon")
        assert head.startswith(b"HTTP/1.1 200") and b"YYYY-MM-DD" in bad


def test_the_capture_link_says_whether_it_is_the_feed_or_the_page(
    tmp_path: Path, server: LoopbackServer
) -> None:
    long_text = "<p>" + "长江洪水继续上涨，沿岸城市启动应急响应。" * 20 + "</p>"
    server.set("/feed.xml", Route(rss("f", 1, base=server.base_url, body=long_text), headers=RSS))
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    root = tmp_path / "news"
    make_archive(root, [("f", "F", server.url("/feed.xml"))])
    runner.invoke(app, ["-a", str(root), "run"])
    runner.invoke(app, ["-a", str(root), "archive", server.url("/news/rain.html")])
    assert runner.invoke(app, ["-a", str(root), "publish", "site"]).exit_code == 0
    pages = [p.read_text(encoding="utf-8") for p in (root / "site/articles").rglob("*.html")]
    from_feed = [text for text in pages if "原始订阅源存档" in text]
    from_page = [text for text in pages if "原始网页存档" in text]
    assert len(from_feed) == 1 and len(from_page) == 1 and "Rain at last" in from_page[0]


def test_every_page_has_the_same_navigation_and_atom_answers_304(tmp_path: Path) -> None:
    root = tmp_path / "news"
    seeded(root)
    assert runner.invoke(app, ["-a", str(root), "publish", "site"]).exit_code == 0
    with serving(root) as (_, port):
        for target in (b"/", b"/search", b"/articles/voa/1048574.html", b"/days/index.html",
                       b"/stories/index.html", b"/sources/voa/index.html"):  # fmt: skip
            head, body = exchange(port, b"GET", target)
            assert head.startswith(b"HTTP/1.1 200"), target
            assert b'href="/search"' in body and b'href="/submit"' in body, target
            assert b'class="brand" href="/"' in body or b"index.html" in body, target
            if not target.startswith(b"/articles/"):
                assert b'action="/search"' in body, target
        assert exchange(port, b"GET", b"/index.html")[0].startswith(b"HTTP/1.1 308")
        head, body = exchange(port, b"GET", b"/feeds/all.atom")
        etag = next(h for h in head.split(b"\r\n") if h.lower().startswith(b"etag:"))
        tag = etag.split(b":", 1)[1].strip()
        request = b"GET /feeds/all.atom HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(request + b"If-None-Match: " + tag + b"\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 304")


def post_form(port: int, urls: str) -> tuple[bytes, str]:
    form = urllib.parse.urlencode({"urls": urls}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            b"POST /submit HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(form) + form
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body.decode()


def test_the_form_speaks_the_interface_language_and_keeps_the_good_urls(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    root = tmp_path / "news"
    make_archive(root, [])
    with (root / "newsvault.toml").open("a") as config:
        config.write("\n[serve]\nsubmissions_per_minute = 3\n")
    with serving(root) as (_, port):
        head, page = post_form(port, f"{server.url('/news/rain.html')}\nftp://example.com/x")
        assert head.startswith(b"HTTP/1.1 200")
        assert "1 个网址已加入存档队列" in page and "/submissions?ids=" in page
        assert "不是 http(s) 网址" in page and "not an http" not in page
        assert "ftp://example.com/x" in page and "rain.html</textarea>" not in page
        head, page = post_form(port, "https://a.test/1 https://a.test/2")
        assert head.startswith(b"HTTP/1.1 429"), head
        assert b"retry-after:" in head.lower() and "提交过于频繁" in page


def test_serve_on_a_bad_or_busy_port_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    newsvault = [sys.executable, "-m", "newsvault", "-a", str(root), "serve"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        for port in ("70000", str(busy.getsockname()[1])):
            done = subprocess.run(
                [*newsvault, "--port", port], capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 2, (port, done.stdout, done.stderr)
            assert len(done.stderr.strip().splitlines()) == 1 and "serving" not in done.stdout


def test_the_status_page_speaks_traditional_chinese(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    with (root / "newsvault.toml").open("a") as config:
        config.write('\n[site]\nlanguage = "zh-Hant"\n')
    with serving(root) as (_, port):
        head, body = exchange(port, b"GET", b"/status")
    assert head.startswith(b"HTTP/1.1 200")
    page = body.decode()
    assert "運行狀態" in page and "Job queue" not in page and "运行状态" not in page


def test_a_failed_submission_is_said_in_the_interface_language(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/gone.html", Route(b"gone", status=404, headers={"Content-Type": "text/html"}))
    root = tmp_path / "news"
    make_archive(root, [])
    with serving(root) as (_, port):
        head, _ = post_form(port, server.url("/gone.html"))
        target = re.search(rb"(?i)location: (\S+)", head).group(1)  # its progress page
        for _ in range(200):  # bounded: the watcher archives it within seconds
            _, shown = exchange(port, b"GET", target)
            if b'data-status="failed"' in shown:
                break
            time.sleep(0.1)
    text = shown.decode()
    assert "抓取失败：" in text and "404" in text and "failed: " not in text
