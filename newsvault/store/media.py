"""Mirrored images: one row per image URL tried, with what came of it (a copy's digest and
MIME type when it was kept), and the images of the articles that mirroring asks about."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, select

from newsvault.store.engine import insert_new, writing
from newsvault.store.schema import articles, media, sources

_IN_CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class Copy:
    digest: str  # sha256 of the image's bytes
    mime: str


@dataclass(frozen=True)
class ArticleImages:
    id: int
    source: str  # slug
    images: str  # the article's stored `images` (JSON)


class MediaStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def copies(self) -> dict[str, Copy]:
        """Image URL -> its copy, of every image mirrored so far."""
        query = select(media.c.url, media.c.digest, media.c.mime).where(media.c.outcome == "ok")
        with self.engine.connect() as conn:
            return {url: Copy(digest, mime) for url, digest, mime in conn.execute(query)}

    def copy_of(self, url: str) -> Copy | None:
        """The mirrored copy of the image at `url`, if there is one."""
        query = select(media.c.digest, media.c.mime).where(
            media.c.url == url, media.c.outcome == "ok"
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Copy(row.digest, row.mime) if row else None

    def tried(self, urls: Iterable[str] | None = None) -> set[str]:
        """Those of these image URLs (every one, when None) tried before, whatever came of it."""
        with self.engine.connect() as conn:
            if urls is None:
                return set(conn.execute(select(media.c.url)).scalars())
            found: set[str] = set()
            for chunk in _chunks(sorted(set(urls))):
                query = select(media.c.url).where(media.c.url.in_(chunk))
                found |= set(conn.execute(query).scalars())
            return found

    def record(
        self,
        url: str,
        outcome: str,
        *,
        fetched: int,
        digest: str | None = None,
        mime: str | None = None,
        size: int | None = None,
    ) -> None:
        """What came of trying `url` ("ok", "failed: ...", "refused: ..."); an image tried
        before keeps its first row."""
        row = dict(url=url, outcome=outcome, fetched=fetched, digest=digest, mime=mime, size=size)
        with writing(self.engine) as conn:
            conn.execute(insert_new(conn, media), row)

    def images_of_sources(self, slugs: Iterable[str]) -> list[str]:
        """The stored `images` (JSON) of every article of these sources not removed."""
        query = (
            select(articles.c.images)
            .join(sources)
            .where(sources.c.slug.in_(list(slugs)), articles.c.removed.is_(None))
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def images_of_articles(self, ids: Iterable[int]) -> list[ArticleImages]:
        """Each of these articles not removed, with its source and stored `images`."""
        found: list[ArticleImages] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(ids))):
                query = (
                    select(articles.c.id, sources.c.slug, articles.c.images)
                    .join(sources)
                    .where(articles.c.id.in_(chunk), articles.c.removed.is_(None))
                )
                found += [ArticleImages(*row) for row in conn.execute(query)]
        return found


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
