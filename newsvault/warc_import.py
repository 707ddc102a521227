"""`import-warc`: WARC files another crawler wrote (CC-NEWS, Heritrix, wget, browsertrix)
become captures and articles.

Each HTML response (status 200, text/html) goes the way an archived page goes: kept as a
capture of the archive's own, its article extracted, stored under the source its site rule
names, else one named after its host (`pages.store_found`), or all under one `--source`.
A page whose URL (canonical: tracking parameters dropped) was archived before, or came
earlier in the files, is skipped before anything is written; so is a response imported
before that held no article. Everything else (requests, revisits, redirects, error pages,
images, broken or cut-off records) is counted by reason, never an exception.

The pages are stored in the order of the files, one writer: the article numbers follow it,
and `rebuild` replays the captures in that order to the same numbers. Extraction, the part
that costs, runs in `jobs` processes beside that writer (`--jobs`, one per core).

Run again, nothing is stored twice; killed at any moment and run again, the end state is
the one a single run reaches: a page whose capture was stored but not its article is taken
again (its capture found, not written twice), and a capture file a killed run wrote past
what the database knows is never appended to.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path

from multidict import CIMultiDict, CIMultiDictProxy

from newsvault.archive import Archive
from newsvault.captures import ROLE, SOURCE, CaptureWriter
from newsvault.errors import FetchError, NewsvaultError
from newsvault.extract import Extraction, RuleSet, extract
from newsvault.extract.rules import PACKAGE_RULES
from newsvault.fetch.client import Response
from newsvault.ingest import catch_up
from newsvault.models import slug_problem, to_ms
from newsvault.normalize import canonical_url
from newsvault.pages import archive_rules, capture_writer, keep_capture, page_outcome, store_found
from newsvault.store import Store
from newsvault.warcs import BROKEN, NOT_RESPONSE, Reader, WarcRecord, describe_skip, read_warc

IMPORTED = "imported"
IMPORTED_BEFORE = "no article found (imported before)"
NO_ARTICLE = "no article found"
DUPLICATE = "duplicate in the WARC files"
ARCHIVED = "already archived"
ORIGIN = "Newsvault-Imported-From"  # the WARC file and byte a page came from
_DROPPED = {"content-encoding", "transfer-encoding", "content-length"}  # the body is decoded
IN_FLIGHT = 8  # pages on their way to each extraction process at once
PROGRESS_EVERY = 50  # records between two progress updates


@dataclass
class ImportReport:
    records: int = 0  # WARC records read, of every type
    outcomes: Counter[str] = field(default_factory=Counter)  # imported | why not, per page
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few lines per reason
    article_ids: list[int] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    @property
    def imported(self) -> int:
        return self.outcomes[IMPORTED]

    def note(self, outcome: str, line: str | None = None, most: int = 3) -> None:
        self.outcomes[outcome] += 1
        if line is not None and len(self.examples.setdefault(outcome, [])) < most:
            self.examples[outcome].append(line)


@dataclass
class Progress:
    """Where the import is: bytes of the files read, of all."""

    done: int
    total: int
    last: str


def import_warcs(
    archive: Archive,
    paths: list[Path],
    *,
    source: str | None = None,
    jobs: int = 1,
    reader: Reader = "fastwarc",
    on_progress: Callable[[Progress], None] | None = None,
    publish: bool = True,
) -> ImportReport:
    """Import every page of the WARC files (checked first: an unreadable or non-WARC file
    is refused before anything is stored), then group and publish what was stored."""
    for path in paths:
        if not path.is_file():
            raise NewsvaultError(f"{path}: no such file")
        next(read_warc(path, reader), None)  # refuses what is not a WARC file, by its content
    named = _named_source(archive, source) if source else None
    store = archive.store()
    report = ImportReport()
    try:
        writer = capture_writer(archive, store)
        rules = archive_rules(archive)
        try:
            wanted = _wanted(store, paths, reader, report, on_progress)
            for record, response, found in _extracted(wanted, rules, jobs, archive.root):
                outcome, line, article_id = import_page(
                    store, writer, rules, record, response, found, named
                )
                report.note(outcome, line)
                if article_id is not None:
                    report.article_ids.append(article_id)
        finally:
            writer.close()
        report.sources = set(store.article_sources(report.article_ids).values())
        if publish:
            catch_up(archive, store)
    finally:
        store.close()
    return report


def _named_source(archive: Archive, slug: str) -> tuple[str, str]:
    problem = slug_problem(slug)
    if problem:
        raise NewsvaultError(f"--source {slug!r}: {problem}")
    followed = {s.slug: s.name for s in archive.sources()}
    return slug, followed.get(slug, slug)


def _wanted(
    store: Store,
    paths: list[Path],
    reader: Reader,
    report: ImportReport,
    on_progress: Callable[[Progress], None] | None,
) -> Iterator[tuple[WarcRecord, Response]]:
    """The responses worth extracting, each once, in file order; the rest counted."""
    seen: set[str] = set()
    total = sum(p.stat().st_size for p in paths)
    before = 0
    for path in paths:
        for record in read_warc(path, reader):
            report.records += 1
            if on_progress is not None and report.records % PROGRESS_EVERY == 0:
                on_progress(Progress(before + record.offset, total, record.url))
            if record.skip is not None:
                if record.skip != NOT_RESPONSE:  # requests, warcinfo: not pages at all
                    report.note(record.skip, f"{path.name}: {describe_skip(record)}")
                continue
            url = canonical_url(record.url)
            if url in seen:
                report.note(DUPLICATE)
                continue
            seen.add(url)
            try:
                response = imported_response(record)
            except FetchError as exc:
                report.note(BROKEN, f"{path.name}: {record.url}: {exc.reason}")
                continue
            if store.article_by_url(url, record.url) is not None:
                report.note(ARCHIVED)
            elif store.find_capture(record.url, response.digest) is not None and (
                store.page_outcomes(record.url)
            ):
                report.note(IMPORTED_BEFORE)  # a page that held no article
            else:
                yield record, response
        before += path.stat().st_size
        if on_progress is not None:
            on_progress(Progress(before, total, str(path)))


def imported_response(record: WarcRecord) -> Response:
    """A WARC record's response as if fetched: its body decoded, fetched at its WARC-Date."""
    headers = CIMultiDict((k, v) for k, v in record.headers if k.lower() not in _DROPPED)
    body = record.decoded()
    return Response(
        url=record.url,
        status=record.status,
        headers=CIMultiDictProxy(headers),
        raw=body,
        body=body,
        fetched=record.date or time.time(),
    )


def _extracted(
    wanted: Iterable[tuple[WarcRecord, Response]], rules: RuleSet, jobs: int, root: Path
) -> Iterator[tuple[WarcRecord, Response, Extraction | str]]:
    """Each response with its article (or why there is none), in order; with `jobs` over
    1, extracted in that many processes while this one stores, a bounded number of pages
    on their way at once."""
    if jobs <= 1:
        for record, response in wanted:
            yield record, response, extract_page(rules, response)
        return
    context = multiprocessing.get_context("forkserver")
    with context.Pool(jobs, initializer=_start_worker, initargs=(str(root),)) as pool:
        flying: deque[tuple[WarcRecord, Response, AsyncResult]] = deque()
        for record, response in wanted:
            page = (response.body, response.url, response.content_type)
            flying.append((record, response, pool.apply_async(_extract_in_worker, (page,))))
            if len(flying) >= jobs * IN_FLIGHT:
                done_record, done_response, result = flying.popleft()
                yield done_record, done_response, result.get()
        while flying:
            done_record, done_response, result = flying.popleft()
            yield done_record, done_response, result.get()


_worker_rules: RuleSet | None = None


def _start_worker(root: str) -> None:
    global _worker_rules
    _worker_rules = RuleSet.load(Path(root) / "rules", PACKAGE_RULES)


def _extract_in_worker(page: tuple[bytes, str, str | None]) -> Extraction | str:
    body, url, content_type = page
    assert _worker_rules is not None, "set by _start_worker"
    return _extract(_worker_rules, body, url, content_type)


def extract_page(rules: RuleSet, response: Response) -> Extraction | str:
    """A page's article, or what came of it when there is none (`pages.page_outcome`)."""
    return _extract(rules, response.body, response.url, response.content_type)


def _extract(rules: RuleSet, body: bytes, url: str, content_type: str | None) -> Extraction | str:
    try:
        return extract(body, url, content_type, rules=rules)
    except Exception as exc:  # one page's failure is its outcome, as for an archived page
        return page_outcome(exc)


def import_page(
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    record: WarcRecord,
    response: Response,
    found: Extraction | str,
    named: tuple[str, str] | None,
) -> tuple[str, str | None, int | None]:
    """Keep the response as a capture and store its article: (outcome, a line on it, the
    new article's id)."""
    fields = {ROLE: "import", ORIGIN: f"{record.file} byte {record.offset}"}
    if named:
        fields[SOURCE] = named[0]
    capture_id = keep_capture(store, writer, response, fields=fields)
    fetched = to_ms(response.fetched)
    if isinstance(found, str):
        store.record_page(response.url, found, seen=fetched, capture_id=capture_id, article_id=None)
        return NO_ARTICLE, f"{record.file}: {response.url}: {found}", None
    known = store.article_by_url(canonical_url(found.url), found.url, response.url)
    if known is None:
        article, outcome = store_found(store, rules, found, fetched, capture_id, source=named)
        known = article if outcome == "new" else None
        store.record_page(
            response.url, outcome, seen=fetched, capture_id=capture_id, article_id=article.id
        )
        if known is not None:
            return IMPORTED, None, article.id
        return ARCHIVED, None, None
    # the page names as its own an address archived before
    store.record_page(
        response.url, ARCHIVED, seen=fetched, capture_id=capture_id, article_id=known.id
    )
    return ARCHIVED, None, None
