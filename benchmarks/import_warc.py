"""import-warc benchmark: pages imported per second per core, beside reading the same WARC
with no extraction, and FastWARC beside warcio reading it.

The WARC is made here from real pages: ../shared/datasets/gne-pages (Chinese, 30 sites) and
../shared/datasets/scrapinghub (English), cycled to `--pages` responses, each under an address
of its own (its canonical link renamed so that every copy is a page of its own), written as
crawlers write them: warcinfo, then a request and a response per page, a gzip member per
record, and among them what a crawl also holds (an image for every tenth page, a redirect for
every twentieth). Measured, each in this one process unless said, in wall time and in CPU
time of this process (pages per CPU second is what one core does, whatever else the machine
is busy with; with --jobs 2 this process is the writer alone, the extraction processes' time
not counted in it):

- reading: every record and its body, by FastWARC and by warcio alone (their own iterators),
  and by newsvault's reader over each (`warcs.read_warc`: HTTP parsed, skips decided);
- extraction alone: `extract()` over the same pages, nothing stored;
- `import-warc` end to end into a new archive (captures written, articles stored, stories
  and search index, markdown written), with --jobs 1 and --jobs 2 (extraction processes
  beside the one writer);
- `rebuild` of the archive the first import made, from its captures alone.

    .venv/bin/python benchmarks/import_warc.py [--pages 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.archive import Archive  # noqa: E402
from newsvault.extract import extract, leading_url, shipped_rules  # noqa: E402
from newsvault.rebuild import rebuild  # noqa: E402
from newsvault.warc_import import import_warcs  # noqa: E402
from newsvault.warcs import NOT_HTML, REDIRECT, read_warc  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
_CANONICAL = re.compile(rb"""(rel\s*=\s*["']?)canonical|(property\s*=\s*["']?)og:url""", re.I)


def dataset_pages(datasets: Path) -> list[tuple[str, bytes]]:
    """(url, html) of every page of both datasets."""
    pages = []
    for path in sorted((datasets / "gne-pages").glob("*/*.html")):
        data = path.read_bytes()
        url = leading_url(data) or f"https://{path.parent.name}.example.cn/{path.stem}.html"
        pages.append((url, data))
    truth = json.loads((datasets / "scrapinghub" / "ground-truth.json").read_text())
    for page_id, labels in sorted(truth.items()):
        data = gzip.decompress(
            (datasets / "scrapinghub" / "html" / f"{page_id}.html.gz").read_bytes()
        )
        pages.append((labels["url"], data))
    return pages


def copies(pages: list[tuple[str, bytes]], count: int) -> Iterator[tuple[str, bytes]]:
    """`count` pages, the datasets' cycled, each copy at an address of its own."""
    for n in range(count):
        url, html = pages[n % len(pages)]
        if n >= len(pages):
            url = re.sub(r"^(https?://[^/]+)", rf"\1/copy-{n // len(pages)}", url)
        yield url, _CANONICAL.sub(lambda m: (m.group(1) or m.group(2)) + b"x-renamed", html)


def make_warc(path: Path, pages: list[tuple[str, bytes]], count: int) -> int:
    """The benchmark's WARC; the number of HTML responses in it."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "benchmark"}))
        for n, (url, html) in enumerate(copies(pages, count)):
            _exchange(writer, url, "200 OK", [("Content-Type", "text/html; charset=utf-8")], html)
            if n % 10 == 0:
                _exchange(writer, url + ".jpg", "200 OK", [("Content-Type", "image/jpeg")],
                          b"\xff\xd8" + os.urandom(20_000))  # fmt: skip
            if n % 20 == 0:
                _exchange(writer, url + "?old", "301 Moved Permanently", [("Location", url)], b"")
    return count


def _exchange(writer: WARCWriter, url: str, status: str, headers: list, body: bytes) -> None:
    request = writer.create_warc_record(
        url, "request", payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True),
    )  # fmt: skip
    writer.write_record(request)
    http = StatusAndHeaders(status, [*headers, ("Content-Length", str(len(body)))], "HTTP/1.1")
    writer.write_record(
        writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
    )


def read_fastwarc_alone(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    count = 0
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh, parse_http=True):
            record.reader.read()
            count += 1
    return count


def read_warcio_alone(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    count = 0
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            record.content_stream().read()
            count += 1
    return count


def read_newsvault(path: Path, reader: str) -> int:
    return sum(1 for record in read_warc(path, reader) if record.skip is None)  # type: ignore[arg-type]


def extract_alone(path: Path) -> int:
    rules = shipped_rules()
    count = 0
    for record in read_warc(path):
        if record.skip is None:
            with contextlib.suppress(Exception):  # a page without an article counts as done
                extract(record.decoded(), record.url, record.content_type, rules=rules)
            count += 1
    return count


def import_into_new_archive(
    path: Path, jobs: int, rebuilt: list[tuple[float, float]]
) -> tuple[int, int]:
    """(pages looked at, articles imported); the seconds `rebuild` then takes go in `rebuilt`."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive.init(Path(tmp) / "a", config_text="[fetch]\n")
        report = import_warcs(archive, [path], jobs=jobs)
        skipped = report.outcomes[NOT_HTML] + report.outcomes[REDIRECT]
        if jobs == 1:
            done, wall, cpu = timed(rebuild, archive)
            rebuilt.append((wall, cpu))
            assert done.articles == report.imported, (done.articles, report.imported)
        return sum(report.outcomes.values()) - skipped, report.imported


def timed(work, *args):
    """(result, wall seconds, CPU seconds of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work(*args)
    return result, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args()
    console = Console(width=160)
    pages = dataset_pages(args.datasets)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.warc.gz"
        html = make_warc(path, pages, args.pages)
        size = path.stat().st_size
        console.print(
            f"{html:,} HTML responses ({len(pages)} dataset pages cycled), "
            f"{size / 1e6:.1f} MB gzip per record; {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f} before"
        )
        table = Table(title=f"import-warc, {html:,} pages", title_justify="left")
        columns = ("what", "processes", "wall s", "CPU s (this process)", "pages/s (wall)",
                   "pages per CPU s (this process)", "MB/s (wall)")  # fmt: skip
        for column in columns:
            table.add_column(column, justify="right" if column != "what" else "left")

        def row(what: str, cores: int, seconds: float, cpu: float) -> None:
            table.add_row(
                what, str(cores), f"{seconds:.2f}", f"{cpu:.2f}", f"{html / seconds:,.0f}",
                f"{html / cpu:,.0f}", f"{size / 1e6 / seconds:,.1f}",
            )  # fmt: skip

        for name, work in (
            ("read: FastWARC alone", lambda: read_fastwarc_alone(path)),
            ("read: warcio alone", lambda: read_warcio_alone(path)),
            ("read: newsvault over FastWARC", lambda: read_newsvault(path, "fastwarc")),
            ("read: newsvault over warcio", lambda: read_newsvault(path, "warcio")),
        ):
            _, wall, cpu = min((timed(work) for _ in range(3)), key=lambda t: t[1])
            row(name, 1, wall, cpu)
        _, wall, cpu = timed(extract_alone, path)
        row("extract alone (read + extract, nothing stored)", 1, wall, cpu)
        rebuilt: list[tuple[float, float]] = []
        for jobs in (1, 2):
            (looked, imported), wall, cpu = timed(import_into_new_archive, path, jobs, rebuilt)
            assert looked == html, (looked, html)
            if jobs == 1:
                wall, cpu = wall - rebuilt[0][0], cpu - rebuilt[0][1]
            row(f"import-warc --jobs {jobs} ({imported:,} articles)", jobs + (jobs > 1), wall, cpu)
        row("rebuild of the archive --jobs 1 made, from its captures", 1, *rebuilt[0])
        console.print(table)
        console.print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
