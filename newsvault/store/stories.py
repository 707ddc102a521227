"""The stories stage's tables: which articles wait to be grouped, near-duplicates' MinHash
bands, stories and their terms, and the search index beside them (store/search.py).

stories/process.py decides; this is how it reads and writes. A batch of articles is one
transaction (`StoryStore.batch`), so an article's index entry, bands, story and `grouped`
state are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select, update

from newsvault.models import Article
from newsvault.store.db import _article
from newsvault.store.engine import Driver, marks, writing
from newsvault.store.schema import articles, sources, stories
from newsvault.store.search import SearchIndex, search_index

PENDING, DONE, FAILED, UNINDEXED = 0, 1, 2, 3  # values of articles.grouped
# UNINDEXED: grouped before the database had a search index (PostgreSQL, until its migration)


@dataclass(frozen=True)
class Pending:
    id: int
    title: str
    text: str
    published: int


@dataclass(frozen=True)
class StoryRow:
    id: int
    title: str
    first_seen: int
    last_seen: int


class StoryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.index: SearchIndex = search_index(engine)

    def waiting(self, state: int, limit: int) -> list[Pending]:
        """Articles in this `grouped` state, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(articles.c.id, articles.c.title, articles.c.text, articles.c.published)
                .where(articles.c.grouped == state)
                .order_by(articles.c.published, articles.c.id)
                .limit(limit)
            ).all()
        return [Pending(r.id, r.title, r.text, r.published) for r in rows]

    def grouped_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(articles).where(articles.c.grouped == DONE)
            ).scalar_one()

    @contextmanager
    def batch(self) -> Iterator[StoryBatch]:
        """One write transaction: committed at the end, rolled back on an exception."""
        with writing(self.engine) as conn:
            batch = StoryBatch(conn, self.index)
            yield batch
            batch.finish()

    def mark_failed(self, article_id: int) -> None:
        with writing(self.engine) as conn:
            conn.execute(update(articles).where(articles.c.id == article_id).values(grouped=FAILED))

    def listing(self, since: int | None, limit: int, min_size: int) -> list[StoryRow]:
        """Stories of at least `min_size` articles, the last seen first."""
        query = select(stories).where(stories.c.size >= min_size)
        if since is not None:
            query = query.where(stories.c.last_seen >= since)
        query = query.order_by(stories.c.last_seen.desc(), stories.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [StoryRow(r.id, r.title, r.first_seen, r.last_seen) for r in conn.execute(query)]

    def by_ids(self, story_ids: Sequence[int]) -> list[StoryRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(stories).where(stories.c.id.in_(list(story_ids))))
            return [StoryRow(r.id, r.title, r.first_seen, r.last_seen) for r in rows]

    def members(self, story_ids: Sequence[int]) -> dict[int, list[Article]]:
        """Each story's articles not removed (without their html), the first published first."""
        found: dict[int, list[Article]] = {}
        if not story_ids:
            return found
        query = (
            select(*[c for c in articles.c if c.name != "html"], sources.c.slug)
            .join(sources)
            .where(articles.c.story_id.in_(list(story_ids)), articles.c.removed.is_(None))
            .order_by(articles.c.published, articles.c.id)
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found.setdefault(row.story_id, []).append(_article(row))
        return found


# The batch's statements: run on the driver's cursor (engine.Driver), ten or so an article.
_GROUPED = f"UPDATE articles SET copy_of = ?, story_id = ?, grouped = {DONE} WHERE id = ?"
_INDEXED = f"UPDATE articles SET grouped = {DONE} WHERE id = ?"
_TEXT_OF = "SELECT text FROM articles WHERE id = ?"
_COPY_OF = "SELECT copy_of FROM articles WHERE id = ?"
_STORY_OF = "SELECT story_id FROM articles WHERE id = ?"
_SHARING_BANDS = (
    "SELECT article_id, count(*) AS shared FROM minhash_bands"
    " WHERE article_id != ? AND hash IN {bands} GROUP BY article_id HAVING count(*) >= ?"
    " ORDER BY shared DESC, article_id LIMIT ?"
)
_ADD_BANDS = "INSERT INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)"
_DOCUMENT_FREQUENCY = "SELECT term, n FROM term_df WHERE term IN {terms}"
_COUNT_TERMS = (
    "INSERT INTO term_df (term, n) VALUES (?, 1) ON CONFLICT (term) DO UPDATE SET n = term_df.n + 1"
)
_STORIES_WITH = (
    "SELECT story_terms.story_id FROM story_terms"
    " JOIN stories ON stories.id = story_terms.story_id"
    " WHERE story_terms.term IN {terms} AND stories.last_seen >= ? AND stories.first_seen <= ?"
    " GROUP BY story_terms.story_id ORDER BY count(*) DESC, story_terms.story_id DESC LIMIT ?"
)
_TERMS_OF = "SELECT story_id, term FROM story_terms WHERE story_id IN {stories} AND term IN {terms}"
_NEW_STORY = (
    "INSERT INTO stories (title, first_article, first_seen, last_seen, size)"
    " VALUES (?, ?, ?, ?, 0) RETURNING id"
)
# Who reported first leads the story; every CASE reads the row as it was before the update.
_JOIN = (
    "UPDATE stories SET size = size + 1,"
    " last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END,"
    " first_seen = CASE WHEN first_seen > ? THEN ? ELSE first_seen END,"
    " first_article = CASE WHEN first_seen > ? THEN ? ELSE first_article END,"
    " title = CASE WHEN first_seen > ? THEN ? ELSE title END"
    " WHERE id = ?"
)
_ADD_TERMS = "INSERT INTO story_terms (term, story_id) VALUES (?, ?) ON CONFLICT DO NOTHING"


class StoryBatch:
    """Reads and writes of one batch, in its transaction. The search index is written last
    (`finish`): SQLite's FTS5 writes what it holds to disk at every statement that may need
    undoing (a foreign key checked, say), so entries added between the batch's other
    statements cost a flush each."""

    def __init__(self, conn: Connection, index: SearchIndex) -> None:
        self.conn = conn
        self.index = index
        self.sql = Driver(conn)
        self._to_index: list[tuple[int, list[str], list[str]]] = []

    def add_to_index(self, article_id: int, title: list[str], body: list[str]) -> None:
        self._to_index.append((article_id, title, body))

    def finish(self) -> None:
        self.index.add_many(self.conn, self._to_index)
        self._to_index = []

    def grouped(self, article_id: int, copy_of: int | None, story_id: int) -> None:
        """The article is done: its copy, its story (one update: SQLite rewrites the whole
        row, text and HTML included, for each)."""
        self.sql.run(_GROUPED, (copy_of, story_id, article_id))

    def indexed(self, article_id: int) -> None:
        """An article grouped before the index was there is now in it too."""
        self.sql.run(_INDEXED, (article_id,))

    def text_of(self, article_id: int) -> str:
        return self.sql.value(_TEXT_OF, (article_id,)) or ""

    def copy_of(self, article_id: int) -> int | None:
        return self.sql.value(_COPY_OF, (article_id,))

    def story_of(self, article_id: int) -> int | None:
        return self.sql.value(_STORY_OF, (article_id,))

    # -- near-duplicates ----------------------------------------------------------------------

    def sharing_bands(
        self, article_id: int, bands: list[int], min_shared: int, limit: int
    ) -> list[int]:
        """Other articles with at least `min_shared` of these band hashes, the most first."""
        sql = _SHARING_BANDS.format(bands=marks(len(bands)))
        return [row[0] for row in self.sql.rows(sql, (article_id, *bands, min_shared, limit))]

    def add_bands(self, article_id: int, bands: list[int]) -> None:
        self.sql.many(_ADD_BANDS, [(b, h, article_id) for b, h in enumerate(bands)])

    # -- stories --------------------------------------------------------------------------------

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        if not terms:
            return {}
        return dict(self.sql.rows(_DOCUMENT_FREQUENCY.format(terms=marks(len(terms))), terms))

    def count_terms(self, terms: Sequence[str]) -> None:
        """One more article holds each of these terms."""
        self.sql.many(_COUNT_TERMS, [(t,) for t in terms])

    def stories_with(self, terms: list[str], start: int, end: int, limit: int) -> list[int]:
        """Stories active between start and end holding the most of these terms."""
        if not terms:
            return []
        sql = _STORIES_WITH.format(terms=marks(len(terms)))
        return [row[0] for row in self.sql.rows(sql, (*terms, start, end, limit))]

    def terms_of(self, story_ids: list[int], terms: list[str]) -> list[tuple[int, str]]:
        """(story, term) for each of these terms a story holds."""
        if not story_ids or not terms:
            return []
        sql = _TERMS_OF.format(stories=marks(len(story_ids)), terms=marks(len(terms)))
        return [(row[0], row[1]) for row in self.sql.rows(sql, (*story_ids, *terms))]

    def new_story(self, title: str, article_id: int, published: int) -> int:
        return int(self.sql.value(_NEW_STORY, (title, article_id, published, published)))

    def join(
        self, story_id: int, article_id: int, title: str, published: int, terms: Sequence[str]
    ) -> None:
        """The article joins the story: its size, time span, lead (who reported first leads
        it) and terms grow. The article's row says so when it is `grouped`."""
        p = published
        self.sql.run(_JOIN, (p, p, p, p, p, article_id, p, title, story_id))
        self.sql.many(_ADD_TERMS, [(t, story_id) for t in terms])
