"""The store: sources' fetch state, captures, articles and their versions.

SQLite in WAL mode by default, shared by several processes (store/engine.py), any
SQLAlchemy URL otherwise. A feed's new articles are written in batches, each in one
transaction; the feed's validators (ETag, Last-Modified) only after the last, so a killed
run is finished by the next one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, CursorResult, Engine, func, select, text, update
from sqlalchemy.engine import Row

from newsvault.captures import CaptureRef
from newsvault.links import safe_links, web_url
from newsvault.models import Article, to_ms
from newsvault.store import schema
from newsvault.store.engine import Driver, insert_new, open_engine, writing
from newsvault.store.health import HealthStore
from newsvault.store.jobs import JobQueue, enqueue
from newsvault.store.media import MediaStore
from newsvault.store.schema import articles, captures, pages, sources, versions
from newsvault.store.search import SearchIndex, note_published, search_index
from newsvault.store.submissions import SubmissionStore
from newsvault.store.watch import WatchStore

if TYPE_CHECKING:
    from newsvault.store.stories import StoryStore

FIRST_NUMBER = 0xFFFFF - 1  # ids count down from 1048575: the first article is 1048574
MIGRATE_LOCK = 0x6E76_6D69  # PostgreSQL advisory lock held while migrating ("nvmi")
NUMBER_LOCKS = 0x6E76_6E6F  # ("nvno", source id): held while a source's new articles are numbered
_IN_CHUNK = 400  # values per IN (...): well under SQLite's bound-parameter limit
# Asked and written for every page fetched: on the driver's cursor (engine.Driver)
_FIND_CAPTURE = "SELECT id FROM captures WHERE url = ? AND digest = ? LIMIT 1"
_ADD_CAPTURE = (
    "INSERT INTO captures (url, status, content_type, digest, warc_file, warc_offset,"
    " warc_length, fetched) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)


@dataclass
class SourceState:
    id: int
    slug: str
    name: str
    url: str
    list_name: str | None
    etag: str | None
    last_modified: str | None
    last_fetched: int | None
    last_success: int | None
    last_error: str | None
    failures: int
    note: str | None = None  # items the last successful poll could not take, in one line
    articles: int = 0


@dataclass(frozen=True)
class Known:
    id: int
    content_hash: str
    feed_hash: str | None


class Keyed(Protocol):
    """A feed item or an article: known to its source by key, or else by URL."""

    @property
    def key(self) -> str: ...

    @property
    def url(self) -> str: ...


@dataclass
class AddResult:
    new: list[Article]
    unchanged: int
    edited: int
    edited_ids: list[int] = field(default_factory=list)


def content_hash(title: str, html: str) -> str:
    return hashlib.sha256(f"{title}\x00{html}".encode()).hexdigest()


class Store:
    def __init__(self, url: str, *, durable: bool = False) -> None:
        """`durable` commits with synchronous=FULL: for what is acknowledged to a person."""
        self.engine: Engine = open_engine(url, durable=durable)
        self.first_recheck_ms = 3_600_000  # watch.recheck's first step; the archive sets it
        self.recover_auto = False  # recover.auto: recovery queued on its own; the archive sets it
        self.migrate()

    @classmethod
    def open(cls, path: Path, *, durable: bool = False) -> Store:
        return cls(f"sqlite:///{path}", durable=durable)

    @property
    def jobs(self) -> JobQueue:
        return JobQueue(self.engine)

    @property
    def search(self) -> SearchIndex:
        return search_index(self.engine)

    @property
    def stories(self) -> StoryStore:
        from newsvault.store.stories import StoryStore  # it builds articles as this module does

        return StoryStore(self.engine)

    @property
    def submissions(self) -> SubmissionStore:
        return SubmissionStore(self.engine)

    @property
    def watch(self) -> WatchStore:
        return WatchStore(self.engine)

    @property
    def health(self) -> HealthStore:
        return HealthStore(self.engine)

    @property
    def media(self) -> MediaStore:
        return MediaStore(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        pk = schema.PRIMARY_KEYS[self.engine.dialect.name]
        with writing(self.engine) as conn:
            if self.engine.dialect.name == "postgresql":  # one migrating process at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
            conn.execute(
                text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            )
            current = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
            for number, statements in enumerate(schema.MIGRATIONS, start=1):
                if number <= current:
                    continue
                for statement in statements:
                    dialect, _, sql = statement.rpartition(schema.ONLY_ON)
                    if dialect and dialect != self.engine.dialect.name:
                        continue
                    conn.execute(text(sql.replace("{pk}", pk)))
                conn.execute(
                    text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": number}
                )
        return len(schema.MIGRATIONS)

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0

    # -- sources --------------------------------------------------------------------------

    def ensure_source(
        self, slug: str, name: str, url: str = "", list_name: str | None = None
    ) -> int:
        with writing(self.engine) as conn:
            return self._ensure_source(conn, slug, name, url, list_name)

    def _ensure_source(
        self, conn: Connection, slug: str, name: str, url: str, list_name: str | None = None
    ) -> int:
        query = select(sources.c.id, sources.c.name, sources.c.url).where(sources.c.slug == slug)
        row = conn.execute(query).first()
        if row is None:  # another process may add it meanwhile: then its row is the one
            added = conn.execute(
                insert_new(conn, sources)
                .returning(sources.c.id)
                .values(slug=slug, name=name, url=url, list_name=list_name, failures=0)
            ).first()
            if added is not None:
                return int(added.id)
            row = conn.execute(query).one()
        changes: dict[str, Any] = {}
        if name and row.name != name:
            changes["name"] = name
        if url and row.url != url:
            changes["url"] = url
        if list_name:
            changes["list_name"] = list_name
        if changes:
            conn.execute(sources.update().where(sources.c.id == row.id).values(**changes))
        return int(row.id)

    def source_names(self) -> dict[str, str]:
        """Slug -> display name of every source with articles stored."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(sources.c.slug, sources.c.name)).all())

    def article_counts(self) -> list[tuple[str, str, int]]:
        """(slug, name, articles not removed) of every source holding any, by name."""
        query = (
            select(sources.c.slug, sources.c.name, func.count(articles.c.id))
            .join(articles, articles.c.source_id == sources.c.id)
            .where(articles.c.removed.is_(None))
            .group_by(sources.c.slug, sources.c.name)
            .order_by(sources.c.name)
        )
        with self.engine.connect() as conn:
            return [(slug, name, n) for slug, name, n in conn.execute(query)]

    def source_states(self) -> dict[str, SourceState]:
        counts = (
            select(articles.c.source_id, func.count().label("n"))
            .group_by(articles.c.source_id)
            .subquery()
        )
        query = select(sources, func.coalesce(counts.c.n, 0).label("articles")).outerjoin(
            counts, counts.c.source_id == sources.c.id
        )
        with self.engine.connect() as conn:
            return {row.slug: SourceState(**row._asdict()) for row in conn.execute(query)}

    def source_state(self, slug: str) -> SourceState | None:
        """One source's fetch state (its `articles` left at 0: not counted)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.slug == slug)).first()
        return SourceState(**row._asdict()) if row else None

    def article_sources(self, ids: Sequence[int]) -> dict[int, str]:
        """The slug of each article's source."""
        found: dict[int, str] = {}
        wanted = sorted(set(ids))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                query = (
                    select(articles.c.id, sources.c.slug)
                    .join(sources, sources.c.id == articles.c.source_id)
                    .where(articles.c.id.in_(wanted[start : start + _IN_CHUNK]))
                )
                found.update(dict(conn.execute(query).all()))
        return found

    def record_fetch(
        self,
        source_id: int,
        *,
        now: int,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        forget_validators: bool = False,
        note: str | None = None,
    ) -> None:
        """A poll's outcome: an error, or success with the feed's validators (kept as they
        were when it sent none, dropped with `forget_validators`) and a `note` on items it
        could not take."""
        with writing(self.engine) as conn:
            if error is None:
                values: dict[str, Any] = dict(
                    last_fetched=now, last_success=now, last_error=None, failures=0, note=note
                )
                if etag is not None or last_modified is not None or forget_validators:
                    values.update(etag=etag, last_modified=last_modified)
            else:
                values = dict(last_fetched=now, last_error=error, failures=sources.c.failures + 1)
            conn.execute(sources.update().where(sources.c.id == source_id).values(**values))

    # -- captures -------------------------------------------------------------------------

    def committed_capture_ends(self) -> dict[str, int]:
        query = select(
            captures.c.warc_file, func.max(captures.c.warc_offset + captures.c.warc_length)
        ).group_by(captures.c.warc_file)
        with self.engine.connect() as conn:
            return {file: int(end) for file, end in conn.execute(query)}

    def find_capture(self, url: str, digest: str) -> int | None:
        with self.engine.connect() as conn:
            return Driver(conn).value(_FIND_CAPTURE, (url, digest))

    def add_capture(self, ref: CaptureRef) -> int:
        with writing(self.engine) as conn:
            return self._add_capture(conn, ref)

    def _add_capture(self, conn: Connection, ref: CaptureRef) -> int:
        row = (ref.url, ref.status, ref.content_type, ref.digest, ref.file, ref.offset, ref.length)
        return int(Driver(conn).value(_ADD_CAPTURE, (*row, to_ms(ref.fetched))))

    def capture(self, capture_id: int) -> Row | None:
        with self.engine.connect() as conn:
            return conn.execute(select(captures).where(captures.c.id == capture_id)).first()

    # -- articles -------------------------------------------------------------------------

    def add_articles(
        self, source_id: int, items: list[Article], capture: CaptureRef | int | None
    ) -> AddResult:
        """Store a feed's items in one transaction: new ones get the next numbers in the
        order given (oldest first), known ones are skipped or, when their content changed,
        get a version row. An item is known by its key or its URL."""
        result = AddResult(new=[], unchanged=0, edited=0)
        with writing(self.engine) as conn:
            _numbering(conn, source_id)
            capture_id = (
                self._add_capture(conn, capture) if isinstance(capture, CaptureRef) else capture
            )
            lowest = conn.execute(
                select(func.min(articles.c.number)).where(articles.c.source_id == source_id)
            ).scalar()
            number = (lowest - 1) if lowest is not None else FIRST_NUMBER
            stored = self._known(conn, source_id, items)
            # A key or URL seen earlier in this same feed points at the item inserted for it.
            pending: dict[str, tuple[Article, str]] = {}
            edits: list[tuple[Article | int, Article, str]] = []
            rows: list[dict[str, Any]] = []
            for item in items:
                digest = content_hash(item.title, item.html)
                key = item.key or item.url
                known = (
                    stored.get(key)
                    or stored.get(item.url)
                    or next((stored[a] for a in item.aliases if a in stored), None)
                )
                earlier = pending.get(key) or pending.get(item.url)
                if known is not None:
                    if self._feed_edit(conn, known, item, digest):
                        edits.append((known.id, item, digest))
                    else:
                        result.unchanged += 1
                elif earlier is not None:
                    if earlier[1] == digest:
                        result.unchanged += 1
                    else:
                        edits.append((earlier[0], item, digest))
                else:
                    item.capture_id = item.capture_id or capture_id  # a page's own capture
                    item.number = number
                    number -= 1
                    rows.append(_article_row(source_id, item, digest))
                    pending[key] = pending[item.url] = (item, digest)
                    result.new.append(item)
            if rows:
                inserted = conn.execute(
                    articles.insert().returning(articles.c.id, sort_by_parameter_order=True),
                    rows,
                )
                for item, (article_id,) in zip(result.new, inserted, strict=True):
                    item.id = article_id
                    self._schedule_recheck(conn, item)
                    self._schedule_images(conn, item)
                note_published(conn, [(item.published, item.id or 0) for item in result.new])
            for target, item, digest in edits:
                article_id = target if isinstance(target, int) else target.id
                assert article_id is not None, "an item inserted above has its id"
                if self._add_version(conn, article_id, item, digest, capture_id):
                    result.edited += 1
                    result.edited_ids.append(article_id)
                else:
                    result.unchanged += 1
        return result

    def known_keys(self, source_id: int, items: Sequence[Keyed]) -> set[str]:
        """The keys and URLs among `items` this source has stored already."""
        with self.engine.connect() as conn:
            return set(self._known(conn, source_id, items))

    def record_page(
        self, url: str, outcome: str, *, seen: int, capture_id: int | None, article_id: int | None
    ) -> None:
        """What came of archiving a page: 'new', 'unchanged', 'edited', or 'no article found: …'."""
        with writing(self.engine) as conn:
            conn.execute(
                pages.insert().values(
                    url=url,
                    outcome=outcome,
                    seen=seen,
                    capture_id=capture_id,
                    article_id=article_id,
                )
            )

    def record_pages(
        self,
        new_captures: Sequence[CaptureRef],
        seen_pages: Sequence[tuple[str, str, int, CaptureRef | int]],
    ) -> dict[CaptureRef, int]:
        """Captures and what came of pages (url, outcome, seen, capture), a batch of them in
        one transaction: `record_page` for many. The id each new capture got."""
        with writing(self.engine) as conn:
            ids = {ref: self._add_capture(conn, ref) for ref in new_captures}
            rows = [
                {
                    "url": url, "outcome": outcome, "seen": seen, "article_id": None,
                    "capture_id": ids[capture] if isinstance(capture, CaptureRef) else capture,
                }
                for url, outcome, seen, capture in seen_pages
            ]  # fmt: skip
            if rows:
                conn.execute(pages.insert(), rows)
        return ids

    def page_outcomes(self, url: str) -> list[str]:
        query = select(pages.c.outcome).where(pages.c.url == url).order_by(pages.c.id)
        with self.engine.connect() as conn:
            return [outcome for (outcome,) in conn.execute(query)]

    def _feed_edit(self, conn: Connection, known: Known, item: Article, digest: str) -> bool:
        """Whether a feed item seen again is an edit to record as a version. Feed items are
        compared with what the feed said before, never with a page's text: an article whose
        stored text came from its page only records the feed's new hash (its page is
        re-checked on its own schedule). A row from before feed hashes were kept takes the
        feed's hash as it is now."""
        seen = item.feed_hash or digest
        if known.feed_hash == seen or (known.feed_hash is None and item.feed_hash is None):
            return known.feed_hash is None and known.content_hash != digest
        from_page = known.feed_hash is not None and known.feed_hash != known.content_hash
        conn.execute(update(articles).where(articles.c.id == known.id).values(feed_hash=seen))
        return known.feed_hash is not None and not from_page

    def _known(self, conn: Connection, source_id: int, items: Sequence[Keyed]) -> dict[str, Known]:
        """Id and content hashes of this source's stored articles, by key and by URL, for
        the keys and URLs among `items`."""
        aliases = {alias for i in items for alias in getattr(i, "aliases", ())}
        wanted = sorted({i.key or i.url for i in items} | {i.url for i in items} | aliases)
        found: dict[str, Known] = {}
        columns = (
            articles.c.id, articles.c.key, articles.c.url, articles.c.content_hash,
            articles.c.feed_hash,
        )  # fmt: skip
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            # two lookups, not one with OR: SQLite plans "key IN … OR url IN …" as a scan of
            # the whole source (1.3 s a batch at 700,000 articles), each of these as an index
            for column in (articles.c.key, articles.c.url):
                query = select(*columns).where(articles.c.source_id == source_id, column.in_(chunk))
                for row in conn.execute(query):
                    known = Known(row.id, row.content_hash, row.feed_hash)
                    found.setdefault(row.key, known)
                    found.setdefault(row.url, known)
        return found

    def _add_version(
        self, conn: Connection, article_id: int, item: Article, digest: str, capture_id: int | None
    ) -> bool:
        """A new version of an article; False when this content was seen before."""
        added = conn.execute(
            insert_new(conn, versions)
            .returning(versions.c.id)
            .values(
                article_id=article_id,
                seen=item.fetched,
                title=item.title,
                html=item.html,
                content_hash=digest,
                capture_id=capture_id,
            )
        )
        return added.first() is not None

    def import_article(self, source_id: int, item: Article) -> bool:
        """Insert an article keeping its number; False when one with that number exists."""
        with writing(self.engine) as conn:
            _numbering(conn, source_id)
            exists = conn.execute(
                select(articles.c.id).where(
                    articles.c.source_id == source_id, articles.c.number == item.number
                )
            ).first()
            if exists is not None:
                return False
            item.id = self._insert_article(
                conn, source_id, item, content_hash(item.title, item.html)
            )
            self._schedule_recheck(conn, item)
            return True

    def _schedule_recheck(self, conn: Connection, item: Article) -> None:
        """Every archived article is re-checked, first `first_recheck_ms` after archiving."""
        due = item.fetched + self.first_recheck_ms
        enqueue(conn, "recheck", str(item.id), due, now=item.fetched)

    def _schedule_images(self, conn: Connection, item: Article) -> None:
        """An article's images are mirrored once it is stored (publish/images.py), by an
        `image` job in the same transaction: a process killed before it mirrored them leaves
        the job to the next one. Imported articles get none (an import fetches nothing)."""
        if any(str(i.get("src", "")).startswith(("http://", "https://")) for i in item.images):
            enqueue(conn, "image", str(item.id), item.fetched, now=item.fetched)

    def _insert_article(self, conn: Connection, source_id: int, item: Article, digest: str) -> int:
        result = conn.execute(articles.insert().values(**_article_row(source_id, item, digest)))
        article_id = _new_id(result)
        note_published(conn, [(item.published, article_id)])
        return article_id

    def articles(
        self,
        source: str | None = None,
        limit: int | None = None,
        *,
        oldest_first: bool = False,
        with_content: bool = True,
        include_removed: bool = False,
    ) -> Iterator[Article]:
        """Articles newest first (by number within a source, by published time across).
        Without content, `html` and `text` are left empty: for listings. Articles an
        administrator removed are left out unless asked for."""
        columns = (
            articles.c
            if with_content
            else [c for c in articles.c if c.name not in ("html", "text")]
        )
        query = select(*columns, sources.c.slug).join(sources, sources.c.id == articles.c.source_id)
        if not include_removed:
            query = query.where(articles.c.removed.is_(None))
        if source is not None:
            query = query.where(sources.c.slug == source).order_by(
                articles.c.number.desc() if oldest_first else articles.c.number
            )
        else:
            order = (articles.c.published, articles.c.id)
            query = query.order_by(*(order if oldest_first else [c.desc() for c in order]))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield _article(row)

    def article(self, article_id: int) -> Article | None:
        query = select(articles, sources.c.slug).join(sources).where(articles.c.id == article_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _article(row) if row else None

    def articles_by_ids(self, article_ids: list[int]) -> dict[int, Article]:
        found: dict[int, Article] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(article_ids), _IN_CHUNK):
                chunk = article_ids[start : start + _IN_CHUNK]
                query = (
                    select(articles, sources.c.slug).join(sources).where(articles.c.id.in_(chunk))
                )
                found.update((row.id, _article(row)) for row in conn.execute(query))
        return found

    def capture_identities(self, capture_ids: list[int]) -> dict[int, tuple[str, str]]:
        """(url, digest) of these captures: what a response is compared with."""
        query = select(captures.c.id, captures.c.url, captures.c.digest).where(
            captures.c.id.in_(capture_ids)
        )
        with self.engine.connect() as conn:
            return {row.id: (row.url, row.digest) for row in conn.execute(query)}

    def article_by_number(self, slug: str, number: int) -> Article | None:
        query = (
            select(articles, sources.c.slug)
            .join(sources)
            .where(sources.c.slug == slug, articles.c.number == number)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _article(row) if row else None

    def article_by_url(self, *urls: str) -> Article | None:
        """The first article, in any source, whose key or URL is one of `urls`."""
        rows: list[Row] = []
        with self.engine.connect() as conn:
            for column in (articles.c.key, articles.c.url):  # each through its own index
                query = select(articles, sources.c.slug).join(sources).where(column.in_(urls))
                rows += conn.execute(query.order_by(articles.c.id).limit(1)).all()
        return _article(min(rows, key=lambda row: row.id)) if rows else None

    def article_by_key(self, slug: str, key: str) -> Article | None:
        query = (
            select(articles, sources.c.slug)
            .join(sources)
            .where(sources.c.slug == slug)
            .where((articles.c.key == key) | (articles.c.url == key))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        return _article(row) if row else None

    def articles_by_numbers(self, slug: str, numbers: list[int]) -> Iterator[Article]:
        """The articles of `slug` with these numbers, in the order given (unknown ones left out)."""
        for start in range(0, len(numbers), _IN_CHUNK):
            query = (
                select(articles, sources.c.slug)
                .join(sources)
                .where(sources.c.slug == slug)
                .where(articles.c.number.in_(numbers[start : start + _IN_CHUNK]))
            )
            with self.engine.connect() as conn:
                found = {row.number: row for row in conn.execute(query)}
            chunk = numbers[start : start + _IN_CHUNK]
            yield from (_article(found[n]) for n in chunk if n in found)

    def article_numbers(self, slug: str) -> list[int]:
        query = select(articles.c.number).join(sources).where(sources.c.slug == slug)
        with self.engine.connect() as conn:
            return [number for (number,) in conn.execute(query)]

    def remove_article(self, article_id: int, when: int) -> bool:
        """Take an article out of everything published; its row and capture are kept."""
        with writing(self.engine) as conn:
            done = conn.execute(
                articles.update()
                .where(articles.c.id == article_id, articles.c.removed.is_(None))
                .values(removed=when)
            )
        return done.rowcount > 0

    def version_count(self, article_id: int) -> int:
        return self.watch.edit_count(article_id)

    def totals(self) -> tuple[int, int, int]:
        """How many articles, versions and stories the database holds."""
        with self.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (articles, versions, schema.stories)
            )


def _numbering(conn: Connection, source_id: int) -> None:
    """Hold the source's numbers until the transaction ends. Numbers go down from the
    lowest stored, so two writers reading it at once would give the same one: on PostgreSQL
    writers of one source take turns by an advisory lock (released at commit), and the
    second then sees what the first stored, keys included. SQLite's write transactions are
    one at a time already (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:space, :source)"),
            {"space": NUMBER_LOCKS, "source": source_id},
        )


def _article_row(source_id: int, item: Article, digest: str) -> dict[str, Any]:
    return dict(
        source_id=source_id,
        number=item.number,
        key=item.key or item.url,
        url=item.url,
        title=item.title,
        author=item.author,
        origin=item.origin,
        editor=item.editor,
        photographer=item.photographer,
        lang=item.lang,
        published=item.published,
        fetched=item.fetched,
        html=item.html,
        text=item.text,
        images=item.images_json(),
        capture_id=item.capture_id,
        content_hash=digest,
        feed_hash=item.feed_hash,
    )


def _new_id(result: CursorResult) -> int:
    """The id of the row a one-row insert() added (SQLAlchemy types the key Optional: it is
    None for no such insert)."""
    key = result.inserted_primary_key
    assert key is not None, "a one-row insert() has the new row's key"
    return int(key[0])


def _article(row: Row) -> Article:
    """An article as it leaves the store: every URL in it through the one outgoing rule
    (links.py), whatever wrote the row."""
    return Article(
        id=row.id,
        source=row.slug,
        number=row.number,
        key=row.key,
        url=web_url(row.url),
        title=row.title,
        author=row.author,
        origin=row.origin,
        editor=getattr(row, "editor", None),
        photographer=getattr(row, "photographer", None),
        lang=row.lang,
        published=row.published,
        fetched=row.fetched,
        html=safe_links(getattr(row, "html", "")),
        text=getattr(row, "text", ""),
        images=_web_images(json.loads(row.images)),
        capture_id=row.capture_id,
        copy_of=getattr(row, "copy_of", None),
        story_id=getattr(row, "story_id", None),
        removed=getattr(row, "removed", None),
        feed_hash=getattr(row, "feed_hash", None),
    )


def _web_images(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for image in images:
        src = web_url(image.get("src")) if isinstance(image, dict) else ""
        if src:
            kept.append({**image, "src": src})
    return kept
