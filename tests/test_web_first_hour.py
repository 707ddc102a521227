"""The web app as a new user and their tools meet it: HEAD, ..."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from .test_site import seeded
from .test_web_hostile import serving


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
        for target in (b"/", b"/search?q=x", b"/api/sources", b"/index.html", b"/nowhere"):
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
