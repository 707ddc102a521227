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
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, func, select, types, update
from sqlalchemy.sql.elements import BindParameter

from newsvault.models import Article
from newsvault.store.db import _article
from newsvault.store.engine import execute_many, writing
from newsvault.store.schema import articles, minhash_bands, sources, stories, story_terms, term_df
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
            yield StoryBatch(conn, self.index)

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


# The batch's statements, built once: a statement built for each call cost more Python time
# than SQLite took to run it (coercing every column and value, then its cache key).
def _param(name: str, kind: type[types.TypeEngine[Any]] = types.Integer) -> BindParameter[Any]:
    return bindparam(name, type_=kind())


_ID, _PUBLISHED = _param("article"), _param("when", types.BigInteger)
_GROUPED = (
    update(articles)
    .where(articles.c.id == _ID)
    .values(copy_of=_param("copy"), story_id=_param("story"), grouped=DONE)
)
_INDEXED = update(articles).where(articles.c.id == _ID).values(grouped=DONE)
_TEXT_OF = select(articles.c.text).where(articles.c.id == _ID)
_COPY_OF = select(articles.c.copy_of).where(articles.c.id == _ID)
_STORY_OF = select(articles.c.story_id).where(articles.c.id == _ID)
_TERMS: BindParameter[Any] = bindparam("terms", expanding=True)
_SHARED = func.count().label("shared")
_SHARING_BANDS = (
    select(minhash_bands.c.article_id, _SHARED)
    .where(
        minhash_bands.c.article_id != _ID,
        minhash_bands.c.hash.in_(bindparam("bands", expanding=True)),
    )
    .group_by(minhash_bands.c.article_id)
    .having(_param("min_shared") <= _SHARED)
    .order_by(_SHARED.desc(), minhash_bands.c.article_id)
    .limit(_param("limit"))
)
_DOCUMENT_FREQUENCY = select(term_df.c.term, term_df.c.n).where(term_df.c.term.in_(_TERMS))
_COUNT_TERMS = (
    "INSERT INTO term_df (term, n) VALUES (?, 1) ON CONFLICT (term) DO UPDATE SET n = term_df.n + 1"
)
_STORIES_WITH = (
    select(story_terms.c.story_id)
    .join(stories, stories.c.id == story_terms.c.story_id)
    .where(story_terms.c.term.in_(_TERMS))
    .where(
        stories.c.last_seen >= _param("start", types.BigInteger),
        stories.c.first_seen <= _param("end", types.BigInteger),
    )
    .group_by(story_terms.c.story_id)
    .order_by(func.count().desc(), story_terms.c.story_id.desc())
    .limit(_param("limit"))
)
_TERMS_OF = select(story_terms.c.story_id, story_terms.c.term).where(
    story_terms.c.story_id.in_(bindparam("stories", expanding=True)),
    story_terms.c.term.in_(_TERMS),
)
_NEW_STORY = stories.insert().values(
    title=_param("headline", types.Text),
    first_article=_ID,
    first_seen=_PUBLISHED,
    last_seen=_PUBLISHED,
    size=0,
)
_EARLIER = stories.c.first_seen > _PUBLISHED  # who reported first leads the story
_JOIN = (
    update(stories)
    .where(stories.c.id == _param("story"))
    .values(
        size=stories.c.size + 1,
        last_seen=case((stories.c.last_seen < _PUBLISHED, _PUBLISHED), else_=stories.c.last_seen),
        first_seen=case((_EARLIER, _PUBLISHED), else_=stories.c.first_seen),
        first_article=case((_EARLIER, _ID), else_=stories.c.first_article),
        title=case((_EARLIER, _param("headline", types.Text)), else_=stories.c.title),
    )
)
_ADD_TERMS = "INSERT INTO story_terms (term, story_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
_ADD_BANDS = "INSERT INTO minhash_bands (band, hash, article_id) VALUES (?, ?, ?)"


class StoryBatch:
    """Reads and writes of one batch, in its transaction."""

    def __init__(self, conn: Connection, index: SearchIndex) -> None:
        self.conn = conn
        self.index = index

    def add_to_index(self, article_id: int, title: list[str], body: list[str]) -> None:
        self.index.add(self.conn, article_id, title, body)

    def grouped(self, article_id: int, copy_of: int | None, story_id: int) -> None:
        """The article is done: its copy, its story (one update: SQLite rewrites the whole
        row, text and HTML included, for each)."""
        self.conn.execute(_GROUPED, {"article": article_id, "copy": copy_of, "story": story_id})

    def indexed(self, article_id: int) -> None:
        """An article grouped before the index was there is now in it too."""
        self.conn.execute(_INDEXED, {"article": article_id})

    def text_of(self, article_id: int) -> str:
        return self.conn.execute(_TEXT_OF, {"article": article_id}).scalar() or ""

    def copy_of(self, article_id: int) -> int | None:
        return self.conn.execute(_COPY_OF, {"article": article_id}).scalar()

    def story_of(self, article_id: int) -> int | None:
        return self.conn.execute(_STORY_OF, {"article": article_id}).scalar()

    # -- near-duplicates ----------------------------------------------------------------------

    def sharing_bands(
        self, article_id: int, bands: list[int], min_shared: int, limit: int
    ) -> list[int]:
        """Other articles with at least `min_shared` of these band hashes, the most first."""
        params = {"article": article_id, "bands": bands, "min_shared": min_shared, "limit": limit}
        return [row[0] for row in self.conn.execute(_SHARING_BANDS, params)]

    def add_bands(self, article_id: int, bands: list[int]) -> None:
        execute_many(self.conn, _ADD_BANDS, [(b, h, article_id) for b, h in enumerate(bands)])

    # -- stories --------------------------------------------------------------------------------

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        rows = self.conn.execute(_DOCUMENT_FREQUENCY, {"terms": terms}).all()
        return {term: n for term, n in rows}

    def count_terms(self, terms: Sequence[str]) -> None:
        """One more article holds each of these terms."""
        execute_many(self.conn, _COUNT_TERMS, [(t,) for t in terms])

    def stories_with(self, terms: list[str], start: int, end: int, limit: int) -> list[int]:
        """Stories active between start and end holding the most of these terms."""
        params = {"terms": terms, "start": start, "end": end, "limit": limit}
        return list(self.conn.execute(_STORIES_WITH, params).scalars().all())

    def terms_of(self, story_ids: list[int], terms: list[str]) -> list[tuple[int, str]]:
        """(story, term) for each of these terms a story holds."""
        rows = self.conn.execute(_TERMS_OF, {"stories": story_ids, "terms": terms})
        return [(row[0], row[1]) for row in rows]

    def new_story(self, title: str, article_id: int, published: int) -> int:
        params = {"headline": title, "article": article_id, "when": published}
        key = self.conn.execute(_NEW_STORY, params).inserted_primary_key
        assert key is not None, "a one-row insert() has the new row's key"
        return int(key[0])

    def join(
        self, story_id: int, article_id: int, title: str, published: int, terms: Sequence[str]
    ) -> None:
        """The article joins the story: its size, time span, lead (who reported first leads
        it) and terms grow. The article's row says so when it is `grouped`."""
        params = {"story": story_id, "article": article_id, "headline": title, "when": published}
        self.conn.execute(_JOIN, params)
        execute_many(self.conn, _ADD_TERMS, [(t, story_id) for t in terms])
