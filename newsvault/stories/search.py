"""Search and story listings over the archive.

The index (store/search.py: FTS5 on SQLite, a tsvector on PostgreSQL) holds folded text as
tokens: overlapping character pairs for Chinese, words otherwise (see fold.tokens). A query
is folded the same way; a Chinese run becomes the phrase of its pairs, so 条约 matches one
token and 全面战略 the phrase 全面 面战 战略, and the store quotes every part: query syntax
typed by a user (quotes, NEAR, *, -, &, |) is searched for as text, never run. The newest
CANDIDATES matches are ranked here, the same way on every database. Snippets come from the
original text, with the query's forms in either script and its name variants marked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from newsvault.errors import NewsvaultError
from newsvault.models import Article, ms_to_iso
from newsvault.store import Store
from newsvault.store.search import Filters, Found, Part
from newsvault.store.stories import StoryRow
from newsvault.stories.fold import CJK, fold, surface_forms, tokens

MAX_QUERY_PARTS = 16
CANDIDATES = 400
SNIPPET = 60  # characters either side of the first match
TITLE_WEIGHT, K1, B = 4.0, 1.2, 0.75  # BM25's usual k1 and b
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


def query_parts(query: str) -> list[Part]:
    """The parts of a query, folded as the index is: a Chinese run is the phrase of its
    pairs (one character: every pair it begins), anything else a whole word."""
    runs = _PARTS.findall(fold(query[:1000]))
    if not runs:
        raise NewsvaultError(
            f"search {query.strip()[:40]!r}: no words to search for; give a word or a name"
        )
    parts = []
    for run in runs[:MAX_QUERY_PARTS]:
        if re.match(rf"[{CJK}]", run) and len(run) == 1:
            parts.append(Part((run,), prefix=True))
        else:  # a whole word: a prefix query (word*) costs 15x, merging every longer term
            parts.append(Part(tuple(tokens(run))))
    return parts


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
    parts = query_parts(query)
    filters = Filters(
        source or None,
        int(since.timestamp() * 1000) if since else None,
        int(until.timestamp() * 1000) if until else None,
    )
    newest = store.search.newest(parts, filters, CANDIDATES)
    ranked = rank(newest, parts)[offset : offset + limit]
    found = store.articles_by_ids([f.id for _score, f in ranked])
    forms = surface_forms(query)
    return [
        Hit(found[f.id], snippet(found[f.id].text or found[f.id].title, forms), score)
        for score, f in ranked
        if f.id in found
    ]


def rank(found: list[Found], parts: list[Part]) -> list[tuple[float, Found]]:
    """Best first: BM25 over the candidates (a headline match weighing TITLE_WEIGHT times a
    body match, saturating; a longer text weighs each match less), the newest first among
    equals. Computed here from the tokens, so that every database ranks alike. Every part
    weighs the same: counting its matches in the whole archive (for BM25's IDF, as FTS5's
    bm25() does) is what made a common word slow to find."""
    if not found:
        return []
    lengths = [_length(f.title) + _length(f.body) for f in found]
    average = sum(lengths) / len(lengths) or 1.0
    scored = []
    for f, length in zip(found, lengths, strict=True):
        title, body = f" {f.title} ", f" {f.body} "
        norm = K1 * (1 - B + B * length / average)
        score = 0.0
        for part in parts:
            frequency = TITLE_WEIGHT * title.count(part.needle) + body.count(part.needle)
            score += frequency * (K1 + 1) / (frequency + norm)
        scored.append((score, f))
    return sorted(scored, key=lambda item: (-item[0], -item[1].id))


def _length(tokens: str) -> int:
    return tokens.count(" ") + 1 if tokens else 0


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
    since_ms = int(since.timestamp() * 1000) if since else None
    return _with_articles(store, store.stories.listing(since_ms, limit, min_size))


def get_story(store: Store, story_id: int) -> Story:
    found = _with_articles(store, store.stories.by_ids([story_id]))
    if not found:
        raise NewsvaultError(f"no story {story_id}; see `newsvault stories` for ids")
    return found[0]


def _with_articles(store: Store, rows: list[StoryRow]) -> list[Story]:
    found = [Story(r.id, r.title, r.first_seen, r.last_seen) for r in rows]
    members = store.stories.members([s.id for s in found])
    for story in found:
        story.articles = members.get(story.id, [])
    return found
