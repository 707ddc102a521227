"""What the publishers read: articles as listings show them (every one; or by id, by source
and number, by day, the newest), the members of stories, how many articles each source holds,
the sources behind the list pages, mirrored images and the articles re-checks have something
to say about.

Apart from `every` (a full build's), each query goes through an index, so that what a publish
of a change reads follows the change, not the size of the archive.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Engine, Select, exists, func, select, union

from newsvault.links import media_path, web_url
from newsvault.store.schema import article_status, articles, sources, stories, versions

_IN_CHUNK = 400  # values per IN (...): well under SQLite's bound-parameter limit
_LISTING = [c for c in articles.c if c.name not in ("html", "text")]


@dataclass
class ListingRow:
    """An article as listings need it: everything but the content."""

    id: int
    source: str
    number: int
    title: str
    url: str
    published: int
    fetched: int
    author: str | None
    origin: str | None
    lang: str | None
    images: list[str]
    capture_id: int | None
    copy_of: int | None
    story_id: int | None
    content_hash: str
    editor: str | None = None
    photographer: str | None = None
    credits: dict[str, str] = field(default_factory=dict)  # image src -> who took it


@dataclass(frozen=True)
class Listed:
    """An article as a list of articles shows it (a page of a source's, a day's)."""

    id: int
    source: str
    number: int
    title: str
    published: int
    copy_of: int | None = None


@dataclass(frozen=True)
class ListSource:
    """A source as the markdown list pages need it."""

    id: int
    slug: str
    name: str
    list_name: str | None


class Listings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- articles as listings show them ---------------------------------------------------

    def every(self) -> list[ListingRow]:
        """Every published article, newest first (a full build's one read of them all)."""
        return self._rows(_listing().order_by(*_NEWEST_FIRST))

    def by_ids(self, ids: Iterable[int]) -> list[ListingRow]:
        """The published articles among `ids`, newest first."""
        found = [row for chunk in _chunks(ids) for row in self._rows(_listing().where(chunk))]
        return sorted(found, key=lambda r: (-r.published, -r.id))

    def numbered(self, slug: str, low: int, high: int) -> list[Listed]:
        """A source's published articles numbered `low`..`high`, the newest (lowest) first."""
        query = _listed().where(
            articles.c.source_id == _source_id(slug), articles.c.number.between(low, high)
        )
        return self._listed(query.order_by(articles.c.number))

    def newest_numbered(self, slug: str, limit: int) -> list[Listed]:
        """A source's newest `limit` published articles by number (numbers count down)."""
        query = _listed().where(articles.c.source_id == _source_id(slug))
        return self._listed(query.order_by(articles.c.number).limit(limit))

    def published_between(self, start: int, end: int) -> list[Listed]:
        """Published articles with start <= published < end, newest first."""
        query = _listed().where(articles.c.published >= start, articles.c.published < end)
        return self._listed(query.order_by(*_NEWEST_FIRST))

    def latest(self, limit: int) -> list[ListingRow]:
        return self._rows(_listing().order_by(*_NEWEST_FIRST).limit(limit))

    def contents(self, ids: list[int]) -> Iterator[tuple[int, str]]:
        """(id, content HTML) of these articles, a few hundred per query."""
        for chunk in _chunks(ids):
            with self.engine.connect() as conn:
                yield from conn.execute(select(articles.c.id, articles.c.html).where(chunk))

    def _rows(self, query: Select) -> list[ListingRow]:
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def _listed(self, query: Select) -> list[Listed]:
        with self.engine.connect() as conn:
            return [
                Listed(r.id, r.slug, r.number, r.title.strip(), r.published, r.copy_of)
                for r in conn.execute(query)
            ]

    # -- stories --------------------------------------------------------------------------

    def story_titles(self, story_ids: Collection[int]) -> dict[int, str]:
        query = select(stories.c.id, stories.c.title)
        with self.engine.connect() as conn:
            return {
                story_id: title
                for chunk in _chunks(story_ids, stories.c.id)
                for story_id, title in conn.execute(query.where(chunk))
            }

    def story_members(self, story_ids: Collection[int]) -> dict[int, list[ListingRow]]:
        """The published articles of each of these stories, oldest first. A story's articles
        were all published between its first_seen and last_seen (stories.clusters keeps them
        so), so they are found through the index of publication times, each span read once
        for every story it holds."""
        query = select(stories.c.id, stories.c.first_seen, stories.c.last_seen)
        with self.engine.connect() as conn:
            found = [
                r for c in _chunks(story_ids, stories.c.id) for r in conn.execute(query.where(c))
            ]
        spans: list[tuple[int, int, list[int]]] = []
        for story_id, first, last in sorted(found, key=lambda s: (s.first_seen, s.id)):
            if spans and first <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], last), [*spans[-1][2], story_id])
            else:
                spans.append((first, last, [story_id]))
        members: defaultdict[int, list[ListingRow]] = defaultdict(list)
        for first, last, ids in spans:
            for chunk in _chunks(ids, articles.c.story_id):
                query = _listing().where(articles.c.published.between(first, last), chunk)
                for row in self._rows(query.order_by(articles.c.published, articles.c.id)):
                    members[row.story_id or 0].append(row)
        return dict(members)

    # -- sources --------------------------------------------------------------------------

    def totals(self, slugs: Iterable[str] | None = None) -> dict[str, int]:
        """Articles stored per source, removed ones too (every source holding any, or these):
        counted in the index of (source, number) alone, without reading the rows."""
        query = (
            select(sources.c.slug, func.count())
            .select_from(sources.join(articles, articles.c.source_id == sources.c.id))
            .group_by(sources.c.slug)
        )
        if slugs is not None:
            query = query.where(sources.c.slug.in_(sorted(set(slugs))))
        with self.engine.connect() as conn:
            return {slug: int(n) for slug, n in conn.execute(query)}

    def list_sources(self) -> list[ListSource]:
        query = select(sources.c.id, sources.c.slug, sources.c.name, sources.c.list_name)
        with self.engine.connect() as conn:
            return [ListSource(*row) for row in conn.execute(query.order_by(sources.c.id))]

    def holding_articles(self, source_ids: Collection[int]) -> set[int]:
        """Those of these sources that hold any article (removed ones too)."""
        held = exists().where(articles.c.source_id == sources.c.id)
        query = select(sources.c.id).where(sources.c.id.in_(sorted(source_ids)), held)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    # -- re-checks ------------------------------------------------------------------------

    def watched_ids(self) -> list[int]:
        """Articles that are gone or have versions: those re-checks have something to say
        about (WatchStore.summaries tells which of them readers are shown)."""
        query = union(
            select(article_status.c.article_id).where(article_status.c.status == "gone"),
            select(versions.c.article_id).where(versions.c.counted == 1),
        )
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars())


_NEWEST_FIRST = (articles.c.published.desc(), articles.c.id.desc())


def _listing(columns=_LISTING) -> Select:
    return (
        select(*columns, sources.c.slug)
        .join(sources, sources.c.id == articles.c.source_id)
        .where(articles.c.removed.is_(None))
    )


def _listed() -> Select:
    c = articles.c
    return _listing([c.id, c.number, c.title, c.published, c.copy_of])


def _chunks(values: Iterable[int], column: ColumnElement[int] = articles.c.id):
    """`column IN (...)` for the distinct `values`, a few hundred at a time."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), _IN_CHUNK):
        yield column.in_(wanted[start : start + _IN_CHUNK])


def _source_id(slug: str):
    return select(sources.c.id).where(sources.c.slug == slug).scalar_subquery()


def _row(r) -> ListingRow:
    images = json.loads(r.images)
    return ListingRow(
        id=r.id,
        source=r.slug,
        number=r.number,
        title=r.title.strip(),
        url=web_url(r.url),  # the outgoing URL rule, as for the store's articles
        published=r.published,
        fetched=r.fetched,
        author=r.author,
        origin=r.origin,
        lang=r.lang,
        images=[s for i in images if (s := _image_src(i.get("src")))],
        capture_id=r.capture_id,
        copy_of=r.copy_of,
        story_id=r.story_id,
        content_hash=r.content_hash,
        editor=r.editor,
        photographer=r.photographer,
        credits={s: i["credit"] for i in images if i.get("credit") and (s := _image_src(i["src"]))},
    )


def _image_src(src: str | None) -> str:
    """An image's URL as published copies take it: a web URL, or the archive's own copy an
    imported markdown archive links to (/media/...); "" for anything else."""
    if src and media_path(src) is not None:
        return src
    return web_url(src)
