"""Export articles: as JSON lines (one Article.to_json() object a line), or as a WARC file
holding each article's raw capture, copied byte for byte from captures/, followed by a
`resource` record with the article's JSON that refers to it."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArchiveLoadFailed
from warcio.warcwriter import WARCWriter

from newsvault import days
from newsvault.errors import NewsvaultError, SourceError
from newsvault.models import Article
from newsvault.store import Store

FORMATS = ("jsonl", "warc")


@dataclass(frozen=True)
class Selection:
    """Which articles: some sources (all when empty), published in [since, until) (ms)."""

    sources: tuple[str, ...] = ()
    since: int | None = None
    until: int | None = None

    def matches(self, article: Article) -> bool:
        return (
            (not self.sources or article.source in self.sources)
            and (self.since is None or article.published >= self.since)
            and (self.until is None or article.published < self.until)
        )


@dataclass
class ExportReport:
    format: str
    output: Path | None  # None: standard output
    articles: int = 0
    captures: int = 0  # raw capture records copied (a feed's capture serves all its items)
    missing: list[str] = field(default_factory=list)  # captures that could not be read

    def summary(self) -> str:
        where = str(self.output) if self.output else "standard output"
        noun = "article" if self.articles == 1 else "articles"
        line = f"Exported {self.articles} {noun}"
        if self.format == "warc":
            line += f" with {self.captures} raw captures"
        line += f" to {where} ({self.format})."
        if self.missing:
            line += f" {len(self.missing)} captures could not be read: {self.missing[0]}"
        return line


def parse_day(value: str | None, option: str, *, end: bool = False) -> int | None:
    """newsvault.days.parse_day in ms since the epoch."""
    moment = days.parse_day(value, option, end=end)
    return None if moment is None else round(moment.timestamp() * 1000)


def selection(
    store: Store,
    known_sources: set[str],
    sources: list[str] | None,
    since: str | None,
    until: str | None,
) -> Selection:
    """A Selection from command-line input, each bad value named in one line."""
    for slug in sources or []:
        if slug not in known_sources and slug not in store.source_states():
            raise SourceError(f"--source {slug!r}: no such source; see `newsvault sources list`")
    chosen = Selection(
        tuple(dict.fromkeys(sources or [])),
        parse_day(since, "--since"),
        parse_day(until, "--until", end=True),
    )
    if chosen.since is not None and chosen.until is not None and chosen.since >= chosen.until:
        raise NewsvaultError(f"--since {since} is not before --until {until}")
    return chosen


def select_articles(
    store: Store, chosen: Selection, *, with_content: bool = True
) -> Iterator[Article]:
    """The chosen articles, newest first."""
    only = chosen.sources[0] if len(chosen.sources) == 1 else None
    for article in store.articles(source=only, with_content=with_content):
        if chosen.matches(article):
            yield article


def count_articles(store: Store, chosen: Selection) -> int:
    return sum(1 for _ in select_articles(store, chosen, with_content=False))


def export(
    store: Store,
    captures_dir: Path,
    chosen: Selection,
    format: str,
    output: Path | None,
    *,
    on_article: Callable[[Article], None] | None = None,
) -> ExportReport:
    """Write the chosen articles to `output` (standard output when None, JSON lines only).
    A file is written under a temporary name and renamed when complete."""
    check_output(format, output)
    report = ExportReport(format=format, output=output)
    articles = _counted(select_articles(store, chosen), report, on_article)
    if output is None:
        try:
            write_jsonl(articles, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # `newsvault export | head`: the reader has had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return report
    partial = _open_output(output)
    try:
        with partial.open("wb") as fh:
            if format == "jsonl":
                write_jsonl(articles, fh)
            else:
                write_warc(store, captures_dir, articles, fh, report, output.name)
        os.replace(partial, output)
    except OSError as exc:
        raise NewsvaultError(f"--output {output}: cannot write ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)
    return report


def check_output(format: str, output: Path | None) -> None:
    """Refuse an unknown format, or an output file that cannot be written, naming it."""
    if format not in FORMATS:
        raise NewsvaultError(f"--format {format!r}: use jsonl or warc")
    if format == "warc" and output is None:
        raise NewsvaultError("--format warc writes a file: give --output FILE.warc.gz")
    if output is not None:
        _open_output(output).unlink()


def write_jsonl(articles: Iterator[Article], out: BinaryIO) -> None:
    for article in articles:
        out.write(json.dumps(article.to_json(), ensure_ascii=False).encode() + b"\n")


def write_warc(
    store: Store,
    captures_dir: Path,
    articles: Iterator[Article],
    out: BinaryIO,
    report: ExportReport,
    filename: str,
) -> None:
    writer = WARCWriter(out, gzip=True)
    writer.write_record(
        writer.create_warcinfo_record(
            filename,
            {
                "software": "newsvault",
                "format": "WARC File Format 1.0",
                "description": "raw captures of archived articles, each followed by a resource "
                "record with the article as JSON (WARC-Refers-To: its capture)",
            },
        )
    )
    copied: dict[int, str | None] = {}  # capture id -> its WARC-Record-ID in this file
    for article in articles:
        capture = article.capture_id
        if capture is not None and capture not in copied:
            copied[capture] = _copy_capture(store, captures_dir, capture, out, report)
        body = json.dumps(article.to_json(), ensure_ascii=False).encode()
        headers = {"WARC-Date": _warc_date(article.fetched)}
        record_id = copied.get(capture) if capture is not None else None
        if record_id:
            headers["WARC-Refers-To"] = record_id
        record = writer.create_warc_record(
            article.url,
            "resource",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type="application/json",
            warc_headers_dict=headers,
        )
        writer.write_record(record)


def _copy_capture(
    store: Store, captures_dir: Path, capture_id: int, out: BinaryIO, report: ExportReport
) -> str | None:
    """Copy a capture's record (its own gzip member) as it is; its WARC-Record-ID, or None
    when the record cannot be read (the article is then exported without it)."""
    row = store.capture(capture_id)
    if row is None:
        report.missing.append(f"capture {capture_id} is not in the database")
        return None
    where = f"{row.warc_file}:{row.warc_offset}"
    try:
        with open(captures_dir / row.warc_file, "rb") as fh:
            fh.seek(row.warc_offset)
            raw = fh.read(row.warc_length)
    except OSError as exc:
        report.missing.append(f"{where} ({exc.strerror})")
        return None
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(raw))))
        record_id = record.rec_headers.get_header("WARC-Record-ID")
    except (ArchiveLoadFailed, StopIteration, ValueError, EOFError, zlib.error):
        record_id = None
    if len(raw) != row.warc_length or not record_id:
        report.missing.append(f"{where} (truncated or not a WARC record)")
        return None
    out.write(raw)
    report.captures += 1
    return str(record_id)


def _counted(
    articles: Iterator[Article],
    report: ExportReport,
    on_article: Callable[[Article], None] | None,
) -> Iterator[Article]:
    for article in articles:
        yield article
        report.articles += 1
        if on_article:
            on_article(article)


def _open_output(output: Path) -> Path:
    """The temporary name `output` is written under; fails early, naming the file."""
    if output.is_dir():
        raise NewsvaultError(f"--output {output}: is a folder; give a file name")
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.touch()
    except OSError as exc:
        raise NewsvaultError(f"--output {output}: cannot write ({exc.strerror})") from None
    return partial


def _warc_date(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
