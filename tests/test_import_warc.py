"""`import-warc`: another crawler's WARC files (a gzip member per record, or uncompressed)
become captures and articles; everything that is not a page to import is counted by reason;
run again nothing is stored twice, killed and run again the end state is the same."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsvault.archive import Archive

from .conftest import make_archive
from .test_cli import cli


def archive_sql(root: Path, statement: str) -> list[Any]:
    """Rows of one query on the archive's database (tables the commands do not show)."""
    store = Archive(root).store()
    try:
        with store.engine.connect() as conn:
            return list(conn.execute(text(statement)))
    finally:
        store.close()


def article(title: str, n: int) -> bytes:
    paragraphs = "".join(
        f"<p>{title}, part {k}: the council met on Monday to weigh plan {n}, which would "
        f"move {n * 7 + k} families from the flooded district to the hills by spring.</p>"
        for k in range(1, 6)
    )
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home News</nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article><footer>(c) Daily</footer></body></html>"
    ).encode()


class WarcFile:
    """A WARC file written the way crawlers write them: warcinfo, then a request and a
    response per page."""

    def __init__(self, path: Path, *, gzip_records: bool = True) -> None:
        self.handle = path.open("wb")
        self.writer = WARCWriter(self.handle, gzip=gzip_records)
        self.writer.write_record(self.writer.create_warcinfo_record(path.name, {"software": "t"}))

    def response(
        self,
        url: str,
        body: bytes,
        *,
        status: str = "200 OK",
        headers: list[tuple[str, str]] | None = None,
        kind: str = "response",
    ) -> None:
        request = self.writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True),
        )  # fmt: skip
        self.writer.write_record(request)
        http = StatusAndHeaders(
            status, headers or [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        record = self.writer.create_warc_record(
            url, kind, payload=io.BytesIO(body), http_headers=http,
            warc_headers_dict={"WARC-Date": "2025-03-04T05:06:07Z"},
        )  # fmt: skip
        self.writer.write_record(record)

    def raw(self, url: str, block: bytes) -> None:
        """A response record holding `block` as it is, whatever it holds."""
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(block),
            warc_content_type="application/http; msgtype=response",
        )  # fmt: skip
        self.writer.write_record(record)

    def close(self) -> None:
        self.handle.close()


def crawl(path: Path, *, gzip_records: bool = True, truncated: bool = True) -> Path:
    """Three articles on two sites and everything an import skips."""
    warc = WarcFile(path, gzip_records=gzip_records)
    warc.response("https://news.example.com/a/1.html", article("Floods in the valley", 1))
    warc.response("https://www.dailynews.org/b/2.html", article("Bridge reopens", 2))
    warc.response(  # the first page again, with tracking parameters: the same canonical URL
        "https://news.example.com/a/1.html?utm_source=feed", article("Floods in the valley", 1)
    )
    warc.response("https://news.example.com/moved", b"", status="301 Moved Permanently",
                  headers=[("Location", "https://news.example.com/a/1.html")])  # fmt: skip
    warc.response("https://news.example.com/missing", b"gone", status="404 Not Found")
    warc.response("https://news.example.com/logo.png", b"\x89PNG....",
                  headers=[("Content-Type", "image/png")])  # fmt: skip
    warc.response("https://news.example.com/a/1.html", b"", kind="revisit")
    warc.response("https://news.example.com/", b"<html><body><a href=/a>News</a></body></html>")
    warc.response(
        "https://news.example.com/a/3.html",
        gzip.compress(article("Schools close early", 3)),
        headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
    )
    warc.raw("https://news.example.com/broken", b"HTTP/1.1 two hundred\r\n\r\n<html>")
    warc.close()
    if truncated:  # a crawler killed mid-write: the last member cut off
        warc = WarcFile(path.with_suffix(".tail"), gzip_records=gzip_records)
        warc.response("https://news.example.com/a/4.html", article("Late edition", 4))
        warc.close()
        tail = path.with_suffix(".tail").read_bytes()
        with path.open("ab") as fh:
            fh.write(tail[: len(tail) - 40])
    return path


def stored(root: Path) -> list[tuple]:
    return sorted(
        tuple(row)
        for row in archive_sql(
            root,
            "SELECT s.slug, a.number, a.url, a.title, a.text, a.published, a.fetched "
            "FROM articles a JOIN sources s ON s.id = a.source_id",
        )
    )


def test_a_crawl_becomes_articles_and_what_is_not_a_page_is_counted(tmp_path: Path) -> None:
    path = crawl(tmp_path / "crawl.warc.gz")
    root = tmp_path / "news"
    make_archive(root, [])
    done = cli("-a", str(root), "import-warc", str(path), "--jobs", "1")
    lines = dict(line.split("\t") for line in done.stdout.splitlines()[2:])
    assert lines["imported"] == "3"
    assert lines["skipped: duplicate in the WARC files"] == "1"
    assert lines["skipped: redirect"] == "1"
    assert lines["skipped: not status 200"] == "1"
    assert lines["skipped: not HTML"] == "1"
    assert lines["skipped: revisit"] == "1"
    assert lines["skipped: no article found"] == "1"
    assert lines["skipped: broken record"] == "1"  # its status line does not parse
    assert lines["skipped: truncated record"] == "1"
    assert lines["sources"] == "dailynews, example"
    assert "https://news.example.com/moved: redirect: HTTP 301 to" in done.stderr
    assert "truncated record: cut off after" in done.stderr and "Traceback" not in done.stderr
    rows = stored(root)
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("dailynews", 1048574, "Bridge reopens"),
        ("example", 1048573, "Schools close early"),
        ("example", 1048574, "Floods in the valley"),
    ]
    assert all(r[6] == 1741064767000 for r in rows)  # fetched when the crawler took it
    assert "move 22 families" in rows[1][4]  # the gzip body was decoded
    assert (root / "articles" / "example" / "1048574.md").is_file()
    (capture,) = (root / "captures").glob("*.warc.gz")
    with capture.open("rb") as fh:
        imported = [r for r in ArchiveIterator(fh) if r.rec_type == "response"]
    assert len(imported) == 4  # the three articles and the page that held none
    assert {r.rec_headers.get_header("Newsvault-Role") for r in imported} == {"import"}
    assert imported[0].rec_headers.get_header("WARC-Date") == "2025-03-04T05:06:07.000000Z"
    origin = imported[0].rec_headers.get_header("Newsvault-Imported-From")
    assert origin.startswith("crawl.warc.gz byte ")
    again = cli("-a", str(root), "import-warc", str(path), "--json")
    outcomes = json.loads(again.stdout)["outcomes"]
    assert "imported" not in outcomes and outcomes["already archived"] == 3
    assert outcomes["no article found (imported before)"] == 1
    assert stored(root) == rows
    assert len(archive_sql(root, "SELECT id FROM captures")) == 4
    assert len(archive_sql(root, "SELECT id FROM pages")) == 4


def test_uncompressed_and_the_other_reader_and_one_source(tmp_path: Path) -> None:
    path = crawl(tmp_path / "crawl.warc", gzip_records=False, truncated=False)
    roots = []
    for reader, jobs in (("fastwarc", "2"), ("warcio", "1")):
        root = tmp_path / reader
        make_archive(root, [("wire", "The Wire", "https://wire.example/feed.xml")])
        out = cli("-a", str(root), "import-warc", str(path), "--source", "wire",
                  "--reader", reader, "--jobs", jobs, "--json")  # fmt: skip
        assert json.loads(out.stdout)["outcomes"]["imported"] == 3
        roots.append(root)
    first, second = (stored(root) for root in roots)
    assert first == second and {r[0] for r in first} == {"wire"}
    assert [r[1] for r in first] == [1048572, 1048573, 1048574]  # in the order of the file


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    (tmp_path / "page.html").write_bytes(article("A page", 1))
    bad = cli("-a", str(root), "import-warc", str(tmp_path / "page.html"), code=2)
    said = f"{tmp_path / 'page.html'}: not a WARC file (it does not start with WARC/1.)"
    assert bad.stderr.strip() == f"newsvault: {said}"
    missing = cli("-a", str(root), "import-warc", str(tmp_path / "nope.warc.gz"), code=2)
    assert "no such file" in missing.stderr and len(missing.stderr.splitlines()) == 1
    bad_slug = crawl(tmp_path / "c.warc.gz", truncated=False)
    wrong = cli("-a", str(root), "import-warc", str(bad_slug), "--source", "Bad Slug", code=2)
    assert "--source 'Bad Slug'" in wrong.stderr


@pytest.mark.parametrize("gzip_records", [True, False])
def test_a_warc_given_to_archive_from_file_is_refused(tmp_path: Path, gzip_records: bool) -> None:
    root = tmp_path / "news"
    make_archive(root, [])
    path = crawl(tmp_path / "crawl.warc", gzip_records=gzip_records, truncated=False)
    named = tmp_path / "saved.html"  # told by its content, not its name
    named.write_bytes(path.read_bytes())
    refused = cli("-a", str(root), "archive", "--from-file", str(named),
                  "https://news.example.com/a/1.html", code=2)  # fmt: skip
    assert refused.stderr.strip() == (
        f"newsvault: {named}: a WARC file, not a saved page; import its pages with "
        f"`newsvault import-warc {named}`"
    )
    assert archive_sql(root, "SELECT id FROM articles") == []


def test_killed_mid_import_and_run_again_ends_as_one_run(tmp_path: Path) -> None:
    path = tmp_path / "big.warc.gz"
    warc = WarcFile(path)
    for n in range(80):
        warc.response(f"https://site{n % 3}.example.com/story/{n}.html", article(f"Story {n}", n))
    warc.close()
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for root in (whole, killed):
        make_archive(root, [])
    cli("-a", str(whole), "import-warc", str(path), "--jobs", "1")
    command = [sys.executable, "-m", "newsvault", "-a", str(killed), "import-warc", str(path),
               "--jobs", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(archive_sql(killed, "SELECT id FROM articles")) >= 10:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    part = len(archive_sql(killed, "SELECT id FROM articles"))
    assert 10 <= part < 80, part
    cli("-a", str(killed), "import-warc", str(path), "--jobs", "1")
    assert stored(killed) == stored(whole)
    captures = "SELECT url, digest FROM captures ORDER BY url"
    assert archive_sql(killed, captures) == archive_sql(whole, captures)
    assert Archive(killed).sources() == []  # host sources live in the database only
