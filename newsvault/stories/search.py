"""Search and story listings over the archive.

The index (SQLite FTS5, `search` table) holds folded text as tokens: overlapping character
pairs for Chinese, words otherwise (see fold.tokens). A query is folded the same way; a
Chinese run becomes the phrase of its pairs, so 条约 matches one token and 全面战略 the phrase
全面 面战 战略, and every part of the query is quoted: FTS syntax typed by a user (quotes, NEAR,
*, -) is searched for as text, never run. Snippets come from the original text, with the
query's forms in either script and its name variants marked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text

from newsvault.errors import NewsvaultError
from newsvault.models import Article, ms_to_iso
from newsvault.store import Store
from newsvault.store.db import _article
from newsvault.store.schema import articles, sources, stories
from newsvault.stories.fold import CJK, fold, surface_forms

MAX_QUERY_PARTS = 16
CANDIDATES = 400
SNIPPET = 60  # characters either side of the first match
_PARTS = re.compile(rf"[{CJK}]+|[^\W{CJK}_]+")


@dataclass
class Hit:
    article: Article
    snippet: str
    rank: float

    def to_json(self) -> dict[str, Any]:
        data = self.article.to_json()
        data.pop("html")
        return {**data, "snippet": self.snippet, "rank": round(self.rank, 4)}


@dataclass
class Story:
    id: int
    title: str
    first_seen: int
    last_seen: int
    articles: list[Article] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.articles)

    def to_json(self) -> dict[str, Any]:
        first = (
            min(self.articles, key=lambda a: (a.published, a.id or 0)) if self.articles else None
        )
        return {
            "id": self.id,
            "title": self.title,
            "first_seen": ms_to_iso(self.first_seen),
            "last_seen": ms_to_iso(self.last_seen),
            "first_reported_by": first.source if first else None,
            "articles": [
                {
                    "id": a.id,
                    "source": a.source,
                    "title": a.title,
                    "url": a.url,
                    "published": ms_to_iso(a.published),
                }
                for a in self.articles
            ],
        }


def match_expression(query: str) -> str:
    parts = _PARTS.findall(fold(query[:1000]))
    if not parts:
        raise NewsvaultError(
            f"search {query.strip()[:40]!r}: no words to search for; give a word or a name"
        )
    expressions = []
    for part in parts[:MAX_QUERY_PARTS]:
        if re.match(rf"[{CJK}]", part):
            pairs = [part] if len(part) == 1 else [part[i : i + 2] for i in range(len(part) - 1)]
            expressions.append('"' + " ".join(pairs) + '"' + ("*" if len(part) == 1 else ""))
        else:  # a whole word: a prefix query (word*) costs 15x, merging every longer term
            expressions.append(f'"{part}"')
    return " AND ".join(expressions)


def search(
    store: Store,
    query: str,
    *,
    source: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Hit]:
    """The best `limit` matches after the first `offset` (among the newest CANDIDATES)."""
    if store.engine.dialect.name != "sqlite":
        raise NewsvaultError("search needs the SQLite archive database (FTS5)")
    # The newest CANDIDATES matches are ranked by relevance (bm25, the headline weighing 4x):
    # walking the index newest first stops early, so a word found in half the archive
    # costs what a rare one does.
    sql = [
        "SELECT search.rowid AS id, bm25(search, 4.0, 1.0) AS rank FROM search",
        "JOIN articles ON articles.id = search.rowid",
        "JOIN sources ON sources.id = articles.source_id",
        "WHERE search MATCH :match AND articles.removed IS NULL",
    ]
    params: dict[str, Any] = {"match": match_expression(query), "limit": CANDIDATES}
    if source:
        sql.append("AND sources.slug = :source")
        params["source"] = source
    if since:
        sql.append("AND articles.published >= :since")
        params["since"] = int(since.timestamp() * 1000)
    if until:
        sql.append("AND articles.published < :until")
        params["until"] = int(until.timestamp() * 1000)
    sql.append("ORDER BY search.rowid DESC LIMIT :limit")
    with store.engine.connect() as conn:
        newest = conn.execute(text(" ".join(sql)), params).all()
        ranked = sorted(newest, key=lambda r: (r.rank, -r.id))[offset : offset + limit]
        rows = {
            row.id: row
            for row in conn.execute(
                select(articles, sources.c.slug)
                .join(sources)
                .where(articles.c.id.in_([r.id for r in ranked]))
            )
        }
    forms = surface_forms(query)
    return [
        Hit(_article(rows[r.id]), snippet(rows[r.id].text or rows[r.id].title, forms), -r.rank)
        for r in ranked
        if r.id in rows
    ]


def snippet(original: str, forms: set[str]) -> str:
    """Text around the first match, matches wrapped in <mark>…</mark>."""
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.I)
    first = pattern.search(original)
    start = max(0, (first.start() if first else 0) - SNIPPET)
    end = min(len(original), (first.end() if first else 0) + SNIPPET)
    window = " ".join(original[start:end].split())
    marked = pattern.sub(lambda m: f"<mark>{m.group()}</mark>", window)
    return ("…" if start else "") + marked + ("…" if end < len(original) else "")


def list_stories(
    store: Store, *, since: dt.datetime | None = None, limit: int = 50, min_size: int = 1
) -> list[Story]:
    query = select(stories).where(stories.c.size >= min_size)
    if since:
        query = query.where(stories.c.last_seen >= int(since.timestamp() * 1000))
    query = query.order_by(stories.c.last_seen.desc(), stories.c.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        found = [Story(r.id, r.title, r.first_seen, r.last_seen) for r in conn.execute(query)]
    _attach_articles(store, found)
    return found


def get_story(store: Store, story_id: int) -> Story:
    with store.engine.connect() as conn:
        row = conn.execute(select(stories).where(stories.c.id == story_id)).first()
    if row is None:
        raise NewsvaultError(f"no story {story_id}; see `newsvault stories` for ids")
    story = Story(row.id, row.title, row.first_seen, row.last_seen)
    _attach_articles(store, [story])
    return story


def _attach_articles(store: Store, found: list[Story]) -> None:
    by_id = {s.id: s for s in found}
    if not by_id:
        return
    query = (
        select(*[c for c in articles.c if c.name not in ("html",)], sources.c.slug)
        .join(sources)
        .where(articles.c.story_id.in_(list(by_id)), articles.c.removed.is_(None))
        .order_by(articles.c.published, articles.c.id)
    )
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            by_id[row.story_id].articles.append(_article(row))
