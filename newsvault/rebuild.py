"""`rebuild`: a new database from `captures/` alone, as DESIGN.md promises.

The captures are replayed in the order they were written (files by number, records in
file order) through the same code that stored them the first time: a feed's response goes
through `pipeline.archive_source` again, the pages its items needed answered from the
captures that follow it; a page archived on request through `pages.archive_url`; an
imported page through `warc_import.import_page`. A `Replay` stands in for the fetcher and
the capture writer: a fetch is answered with the next capture of that URL not replayed yet
(of the same run), a write with where that response already lies, so the rebuilt capture
rows point at the very records the old ones did. Search, near-duplicates and stories are
brought up to date at the end of every run replayed, as they were after every run.

What the captures say of themselves (WARC headers written since `rebuild` exists): which
source a feed poll was for (`Newsvault-Source`), what a response was taken for
(`Newsvault-Role`: feed, import; else a page), which run wrote it (`Newsvault-Batch`), and
its time to the millisecond (WARC-Date). Older captures lack the first three: a feed is
then known by its URL among the sources of newsvault.toml, a run by the file it is in.

The new database is written beside the old one (`newsvault.db.rebuilt`); `--replace` swaps
it in and keeps the old one as `newsvault.db.before-rebuild`. On PostgreSQL it is a database
of the same server, `<name>_rebuilt`, swapped in by renames (the old one kept as
`<name>_before_rebuild`; store/admin.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from multidict import CIMultiDict, CIMultiDictProxy

from newsvault.archive import Archive
from newsvault.captures import BATCH, ROLE, SOURCE, CaptureRef, Fields
from newsvault.errors import NetworkError, NewsvaultError
from newsvault.fetch.client import REDIRECT_STATUSES, Response, answered, body_digest
from newsvault.models import Source
from newsvault.pages import archive_rules, archive_url
from newsvault.pipeline import archive_source
from newsvault.store import Store, admin
from newsvault.stories.process import process_pending
from newsvault.warc_import import extract_page, import_page
from newsvault.warcs import WarcRecord, read_record, read_warc

REBUILT = "newsvault.db.rebuilt"
BACKUP = "newsvault.db.before-rebuild"
REBUILT_SUFFIX = "_rebuilt"  # on PostgreSQL: databases named after the archive's
BACKUP_SUFFIX = "_before_rebuild"
MAX_HOPS = 5
_SQLITE_FILES = ("", "-wal", "-shm")  # a database and the files SQLite keeps beside it


@dataclass
class RebuildReport:
    path: str  # where the new database is: a file, or a PostgreSQL URL without its password
    backup: str = ""  # where the old one is kept, when replaced
    records: int = 0  # response records read
    feeds: int = 0  # feed polls replayed
    pages: int = 0  # pages archived on request or re-checked, replayed
    imports: int = 0  # imported pages replayed
    runs: int = 0
    articles: int = 0
    versions: int = 0
    stories: int = 0
    replaced: bool = False


def capture_files(directory: Path) -> list[Path]:
    """The capture files in the order they were written: by number (a host's files, on
    several machines, by number then host)."""

    def order(path: Path) -> tuple[int, str]:
        serial = path.name.split(".", 1)[0]
        return (int(serial) if serial.isdigit() else 0, path.name)

    return sorted(directory.glob("*.warc.gz"), key=order)


class Replay:
    """The captures as the fetcher and the capture writer see them while they are replayed."""

    def __init__(self, directory: Path, records: list[WarcRecord]) -> None:
        self.directory = directory
        self.records = records
        self.used = [False] * len(records)
        self.by_url: dict[str, list[int]] = defaultdict(list)
        for position, record in enumerate(records):
            self.by_url[record.url].append(position)
        self._refs: dict[int, CaptureRef] = {}
        self._start = 0

    def begin(self, position: int) -> None:
        """What is replayed next starts at this record: fetches are answered from here on."""
        self._start = position

    # -- the fetcher's side ------------------------------------------------------------------

    async def get(self, url: str, **_: object) -> Response:
        """The next capture of `url`, its redirects followed through the captures of their
        targets; an error page raises as the fetcher raises. A URL with no capture left
        (the fetch failed on the network then, or robots.txt kept it) fails as unreachable."""
        hops: list[Response] = []
        current = url
        while True:
            position = self._next(current)
            if position is None:
                raise NetworkError(current, "not in the captures")
            self.used[position] = True
            record = self.records[position]
            response = self.response(position)
            location = record.header("Location")
            if record.status in REDIRECT_STATUSES and location and len(hops) < MAX_HOPS:
                hops.append(response)
                current = urljoin(current, location)
                continue
            return answered(url, response, hops)

    def _next(self, url: str) -> int | None:
        """The first capture of `url` from the current record on, of the same run; else the
        last one before it (a response with the same bytes as one kept before was never
        written again)."""
        positions = self.by_url.get(url, [])
        batch = self.records[self._start].fields.get(BATCH)
        for position in positions:
            record = self.records[position]
            fresh = position >= self._start and not self.used[position]
            if fresh and (batch is None or record.fields.get(BATCH) == batch):
                return position
        earlier = [p for p in positions if p < self._start]
        return earlier[-1] if earlier else None

    def response(self, position: int) -> Response:
        """A capture as the response it was, remembered for `write`."""
        head = self.records[position]
        record = read_record(self.directory / head.file, head.offset)
        body = record.decoded()
        response = Response(
            url=record.url,
            status=record.status,
            headers=CIMultiDictProxy(CIMultiDict(record.headers)),
            raw=record.raw,
            body=body,
            fetched=record.date,
        )
        self._refs[id(response)] = CaptureRef(
            url=record.url,
            status=record.status,
            content_type=response.content_type,
            digest=body_digest(body),
            file=head.file,
            offset=head.offset,
            length=head.length,
            fetched=record.date,
        )
        return response

    # -- the capture writer's side -----------------------------------------------------------

    def write(self, response: Response, fields: Fields = None) -> CaptureRef:
        return self._refs[id(response)]

    def close(self) -> None:
        pass


def rebuild(
    archive: Archive,
    *,
    replace: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> RebuildReport:
    """Write a new database from the captures; with `replace`, put it in the old one's place
    (kept as newsvault.db.before-rebuild, or the database `<name>_before_rebuild` on
    PostgreSQL). A rebuild killed half-way is started over."""
    url = archive.settings["database"]
    if url and not admin.is_postgresql(url):
        raise NewsvaultError(
            f"{admin.shown(url)}: rebuild writes SQLite (no database setting) or PostgreSQL "
            "(postgresql://USER@HOST/NAME), not this database"
        )
    if url:
        target_url = admin.sibling(url, REBUILT_SUFFIX)
        backup_url = admin.sibling(url, BACKUP_SUFFIX)
        if replace:  # before the replay, rather than after it
            admin.refuse_if_connected(url)
        admin.create_fresh(target_url, like=url)
        store = Store(target_url)
        where = admin.shown(target_url)
    else:
        target = archive.root / REBUILT
        _remove(target)
        store = Store.open(target)
        where = str(target)
    store.first_recheck_ms = archive.settings.recheck_schedule()[0]
    try:
        records = _read_all(archive.captures_dir)
        report = RebuildReport(path=where, records=len(records))
        _replay(archive, store, records, report, on_progress)
        process_pending(store)
        report.articles, report.versions, report.stories = store.totals()
    finally:
        store.close()  # its pool too: a database is renamed only when no one is connected
    if replace:
        if url:
            admin.swap_in(url, target_url, backup_url)
            report.path, report.backup = admin.shown(url), admin.shown(backup_url)
        else:
            swap_in(archive.root)
            report.path, report.backup = str(archive.db_path), str(archive.root / BACKUP)
        report.replaced = True
    return report


def _read_all(directory: Path) -> list[WarcRecord]:
    """Every response record of the captures, without its body (read again when replayed)."""
    records = []
    for path in capture_files(directory):
        for record in read_warc(path, "fastwarc"):
            if record.kind == "response" and record.skip not in ("truncated record",):
                record.raw = b""
                records.append(record)
    return records


def _replay(
    archive: Archive,
    store: Store,
    records: list[WarcRecord],
    report: RebuildReport,
    on_progress: Callable[[int, int], None] | None,
) -> None:
    rules = archive_rules(archive)
    followed = archive.sources()
    by_slug = {s.slug: s for s in followed}
    by_url = {s.url: s for s in followed if s.url}
    max_items = archive.settings["fetch.max_items"]
    replay = Replay(archive.captures_dir, records)
    run: str | None = None
    for position, record in enumerate(records):
        if on_progress is not None and position:
            on_progress(position, len(records))  # the ones before this one replayed
        if replay.used[position]:
            continue
        this_run = record.fields.get(BATCH) or record.file
        if this_run != run:
            if run is not None:  # as after every run: grouped before the next one stored
                process_pending(store)
            run, report.runs = this_run, report.runs + 1
        replay.begin(position)
        role = record.fields.get(ROLE) or ("feed" if record.url in by_url else "page")
        if role == "feed":
            source = _feed_source(record, by_slug, by_url)
            asyncio.run(archive_source(replay, store, replay, rules, source, None, max_items))  # type: ignore[arg-type]
            report.feeds += 1
        elif role == "import":
            replay.used[position] = True
            if record.skip is None:
                response = replay.response(position)
                slug = record.fields.get(SOURCE)
                named = (slug, by_slug[slug].name if slug in by_slug else slug) if slug else None
                found = extract_page(rules, response)
                import_page(store, replay, rules, record, response, found, named)  # type: ignore[arg-type]
            report.imports += 1
        else:
            asyncio.run(archive_url(replay, store, replay, rules, record.url))  # type: ignore[arg-type]
            report.pages += 1
    if on_progress is not None and records:
        on_progress(len(records), len(records))


def _feed_source(
    record: WarcRecord, by_slug: dict[str, Source], by_url: dict[str, Source]
) -> Source:
    """The source a feed capture was polled for, at the URL it was polled at then."""
    slug = record.fields.get(SOURCE)
    source = by_slug.get(slug) if slug else by_url.get(record.url)
    if source is None:  # a source no longer followed: its captures still hold its articles
        source = Source(slug=slug or "feed", name=slug or record.url, url=record.url)
    return dataclasses.replace(source, url=record.url)


def swap_in(root: Path) -> None:
    """The rebuilt database in the old one's place, the old one kept beside it (with the
    files SQLite keeps beside a database, so that nothing it had is lost)."""
    current, rebuilt, backup = root / "newsvault.db", root / REBUILT, root / BACKUP
    if not rebuilt.is_file():
        raise NewsvaultError(f"{rebuilt}: no rebuilt database; run `newsvault rebuild` first")
    _remove(backup)
    for suffix in _SQLITE_FILES:
        if Path(f"{current}{suffix}").exists():
            os.replace(f"{current}{suffix}", f"{backup}{suffix}")
    for suffix in _SQLITE_FILES:
        if Path(f"{rebuilt}{suffix}").exists():
            os.replace(f"{rebuilt}{suffix}", f"{current}{suffix}")


def _remove(database: Path) -> None:
    for suffix in _SQLITE_FILES:
        Path(f"{database}{suffix}").unlink(missing_ok=True)
