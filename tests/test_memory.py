"""Peak memory of archiving and extracting the largest pages newsvault accepts.

Each case runs newsvault's command line in a child process on a generated page just under the
15 MB body cap (fetch.max_bytes) and reads the child's peak resident memory from VmHWM
(ru_maxrss would not do: Linux carries the parent's resident size at fork over exec into it).
The page kinds are the ones that took the most memory or time; benchmarks/page_memory.py
prints them all against trafilatura alone.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from newsvault.extract import load_page
from newsvault.loopback import LoopbackServer, Route
from tests.conftest import make_archive

SIZE = 14_000_000  # bytes: a page as large as fetch.max_bytes lets through
LIMIT_MIB = 256
TIMEOUT = 180.0  # seconds; some of these pages took far longer before (quadratic XPath)
URL = "https://news.example.com/2024/06/19/article.html"

# Prepended to a child's code: at exit, the process writes its peak resident memory to stderr.
REPORT_PEAK = """
import atexit, sys

def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("\\nVmHWM " + line.split()[1] + "\\n")

atexit.register(peak)
"""
NEWSVAULT = REPORT_PEAK + "from newsvault.cli import main\nsys.argv[0] = 'newsvault'\nmain()\n"


EN = "The minister said on Wednesday that agreement {n} would be signed within weeks. "
ZH = "俄罗斯总统普京周三抵达平壤，第{n}次与朝鲜领导人金正恩举行会谈，双方签署了伙伴关系条约。"


def numbered(unit: str, size: int, encoding: str = "utf-8") -> str:
    """`unit` repeated to about `size` bytes, each copy with its own number for {n}
    (extractors drop repeated text, and real pages do not repeat themselves)."""
    count = size // len(unit.format(n=10**6).encode(encoding))
    return "".join(unit.format(n=n) for n in range(count))


def page(body: str, *, head: str = "", charset: str = "utf-8") -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>A very large page</title>'
        f"{head}</head><body>{body}</body></html>"
    )


def _article(sentence: str, size: int, encoding: str = "utf-8") -> str:
    paragraphs = numbered(f"<p>{sentence * 3}</p>\n", size, encoding)
    return f"<article><h1>Headline</h1>{paragraphs}</article>"


_LEAD = _article(EN, 3000)  # an article before the bulk of the page


def _gb18030(size: int) -> bytes:
    return page(_article(ZH, size, "gb18030"), charset="gb2312").encode("gb18030")


# Page kinds -> a page of about `size` bytes; the comment says what each one strains.
PAGES: dict[str, Callable[[int], bytes]] = {
    # one long article of many paragraphs: trafilatura on all of it
    "paragraphs": lambda size: page(_article(EN, size)).encode(),
    # a Chinese article in GB18030 (labelled gb2312): decoding, then readability-lxml
    "chinese-gb18030": _gb18030,
    # one enormous text node
    "text-node": lambda size: page(f"<p>{numbered(EN, size)}</p>").encode(),
    # a giant inline script
    "script": lambda size: page(
        _LEAD + "<script>" + numbered("var a{n} = [1, 2, 3];\n", size) + "</script>"
    ).encode(),
    # divs nested 2,000 deep (the depth guard allows 2,048), over and over
    "deep-divs": lambda size: page(
        _LEAD + numbered("<div>" * 2000 + "<p>{n}</p>" + "</div>" * 2000, size)
    ).encode(),
    # about 500,000 tiny elements: a parsed element costs hundreds of bytes
    "tiny-elements": lambda size: page(
        _LEAD + numbered('<span class="x">{n}</span>', size)
    ).encode(),
    # a list page of links
    "links": lambda size: page(
        _LEAD + numbered('<div><a href="/n/{n}.html">第{n}条新闻的标题</a></div>\n', size)
    ).encode(),
    # a giant table
    "table": lambda size: page(
        _LEAD + "<table>" + numbered("<tr>" + "<td>cell {n}</td>" * 8 + "</tr>\n", size)
    ).encode(),
    # images with captions
    "images": lambda size: page(
        _LEAD
        + numbered(
            '<p><img src="https://img.example.com/{n}.jpg" alt="Photo {n}"></p>'
            "<p>Photo {n}, a caption.</p>\n",
            size,
        )
    ).encode(),
    # links inside sentences: the links newsvault puts back after trafilatura
    "links-in-paragraphs": lambda size: page(
        _LEAD + numbered('<p>Read <a href="/story/{n}.html">the story number {n}</a>.</p>', size)
    ).encode(),
    # headline-like elements, each one a title candidate
    "title-divs": lambda size: page(
        _LEAD + numbered('<div class="title">Story title number {n}</div>\n', size)
    ).encode(),
    # elements with forty attributes each
    "attributes": lambda size: page(
        _LEAD + numbered("<i " + " ".join(f"a{i}" for i in range(40)) + ">{n}</i>", size)
    ).encode(),
}


def peak_rss_mib(args: list[str], timeout: float = TIMEOUT) -> int:
    """The peak resident memory in MiB of `newsvault ARGS` run in a child process, which must
    succeed (archive and extract exit 1 when they found no article)."""
    child = subprocess.run(
        [sys.executable, "-c", NEWSVAULT, *args], capture_output=True, text=True, timeout=timeout
    )
    assert child.returncode == 0, f"newsvault {' '.join(args)} failed: {child.stderr[-2000:]}"
    return reported_peak(child.stderr)


def reported_peak(stderr: str) -> int:
    """The peak in MiB a child with REPORT_PEAK wrote."""
    peaks = [line for line in stderr.splitlines() if line.startswith("VmHWM ")]
    return int(peaks[-1].split()[1]) // 1024


def archive_peak(server: LoopbackServer, root: Path, body: bytes, charset: str) -> int:
    """`newsvault archive URL` of `body` served on 127.0.0.1: fetch, capture, extract, store."""
    server.set("/page.html", Route(body, headers={"Content-Type": f"text/html; charset={charset}"}))
    make_archive(root, [], timeout=60.0)
    return peak_rss_mib(["-a", str(root), "archive", server.url("/page.html")])


def extract_peak(path: Path, body: bytes) -> int:
    """`newsvault extract FILE` of `body`."""
    path.write_bytes(body)
    return peak_rss_mib(["extract", "--url", URL, str(path)])


def _cases(in_make_test: str) -> list:
    """Every kind, all but one of them marked slow."""
    return [pytest.param(k, marks=[] if k == in_make_test else [pytest.mark.slow]) for k in PAGES]


# tiny elements took the most memory before (1.9 GiB), the Chinese page the most among articles
@pytest.mark.parametrize("kind", _cases("tiny-elements"))
def test_archiving_a_page_at_the_size_cap_stays_under_256_mib(
    kind: str, server: LoopbackServer, tmp_path: Path
) -> None:
    body = PAGES[kind](SIZE)
    charset = "gb2312" if kind == "chinese-gb18030" else "utf-8"
    peak = archive_peak(server, tmp_path / "archive", body, charset)
    assert peak < LIMIT_MIB, f"{kind}: peak RSS {peak} MiB archiving a {len(body):,}-byte page"


@pytest.mark.parametrize("kind", _cases("chinese-gb18030"))
def test_extracting_a_page_at_the_size_cap_stays_under_256_mib(kind: str, tmp_path: Path) -> None:
    body = PAGES[kind](SIZE)
    peak = extract_peak(tmp_path / "page.html", body)
    assert peak < LIMIT_MIB, f"{kind}: peak RSS {peak} MiB extracting a {len(body):,}-byte page"


# Pages are decoded a slice at a time (never held whole as text) through codecs' incremental
# decoders, which differ from bytes.decode on these labels: none may stop a page being read.
@pytest.mark.parametrize("label", ["rot13", "base64", "hex", "zlib", "idna", "undefined", "utf-16"])
def test_a_page_labelled_with_a_codec_that_is_no_charset_is_read(label: str) -> None:
    body = f'<html><head><meta charset="{label}"></head><body><p>{EN}</p></body></html>'
    page = load_page(body.encode(), URL, f"text/html; charset={label}")
    assert "The minister said" in page.tree.text_content()
