"""The search index: each article's folded text as index tokens, on either database.

stories.fold makes the tokens (overlapping character pairs for Chinese, words otherwise) and
stories.search ranks what is found. The index answers one question, the same way on every
database: the newest articles holding every part of a query (a word, a phrase of pairs, or
one Chinese character as the first of a pair), with their tokens for ranking.

- SQLite: FTS5 (`search`: rowid the article's id, columns title and body).
- PostgreSQL: `search` (the article's id, source and time, its title and body tokens, and a
  tsvector of them) with a GIN index.

A query is built from tokens alone, each quoted: nothing a user typed is run as FTS or
tsquery syntax.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from newsvault.store.engine import Driver

HOUR = 3_600_000  # ms: the grain of published_hours, each hour's lowest and highest id
MAX_LEXEME_BYTES = 2046  # a longer lexeme is refused by PostgreSQL (nobody searches one)
BLOCK = 1024  # article ids per block lexeme (PostgreSQL)
WIDEST_ROUND = 64  # blocks; a query needing more is asked of the rest of the archive at once


@dataclass(frozen=True)
class Part:
    """One part of a query: the tokens of a word or of a Chinese run (a phrase of pairs),
    or with `prefix` one Chinese character, matching every token that begins with it."""

    tokens: tuple[str, ...]
    prefix: bool = False

    @property
    def needle(self) -> str:
        """The part as it is found in the tokens' text (one space between tokens)."""
        return f" {self.tokens[0]}" if self.prefix else f" {' '.join(self.tokens)} "


@dataclass(frozen=True)
class Found:
    id: int
    title: str  # the index tokens, one space between
    body: str


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    since: int | None = None  # ms, included
    until: int | None = None  # ms, excluded


class SearchIndex(ABC):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @abstractmethod
    def add(self, conn: Connection, article_id: int, title: list[str], body: list[str]) -> None:
        """Index an article's tokens (again, if it was indexed before)."""

    def add_many(self, conn: Connection, entries: list[tuple[int, list[str], list[str]]]) -> None:
        """Index each (article id, title tokens, body tokens)."""
        for article_id, title, body in entries:
            self.add(conn, article_id, title, body)

    @abstractmethod
    def newest(self, parts: Sequence[Part], filters: Filters, limit: int) -> list[Found]:
        """The newest `limit` articles not removed that hold every part, newest first."""


_SQLITE_ADD = "INSERT OR REPLACE INTO search (rowid, title, body) VALUES (?, ?, ?)"


class SqliteSearch(SearchIndex):
    def add(self, conn: Connection, article_id: int, title: list[str], body: list[str]) -> None:
        self.add_many(conn, [(article_id, title, body)])

    def add_many(self, conn: Connection, entries: list[tuple[int, list[str], list[str]]]) -> None:
        rows = [(i, " ".join(title), " ".join(body)) for i, title, body in entries]
        Driver(conn).many(_SQLITE_ADD, rows)

    def newest(self, parts: Sequence[Part], filters: Filters, limit: int) -> list[Found]:
        # FTS5 walks its index newest first and stops at `limit`: a word found in half the
        # archive costs what a rare one does. (bm25() would first count every match of every
        # part in the whole index: the cost of a query grew with the archive.) A time span
        # bounds the rowids walked, so that matches outside it are not read one by one.
        params: dict[str, Any] = {"match": match_expression(parts), "limit": limit}
        sql = [
            "SELECT search.rowid AS id, search.title, search.body FROM search",
            # the planner would look each match up in the table (rows of text and HTML)
            "JOIN articles INDEXED BY articles_found ON articles.id = search.rowid",
            "WHERE search MATCH :match AND articles.removed IS NULL",
        ]
        with self.engine.connect() as conn:
            span = id_span(conn, filters)
            if span is None:
                return []
            if span.low is not None:
                sql.append("AND search.rowid >= :low")
                params["low"] = span.low
            if span.high is not None:
                sql.append("AND search.rowid <= :high")
                params["high"] = span.high
            if filters.source:
                params["source_id"] = source_id(conn, filters.source)
                if params["source_id"] is None:
                    return []
                sql.append("AND articles.source_id = :source_id")
            sql += [f"AND {c}" for c in _time_filters(filters, params, "articles.published")]
            sql.append("ORDER BY search.rowid DESC LIMIT :limit")
            rows = conn.execute(text(" ".join(sql)), params)
            return [Found(row.id, row.title, row.body) for row in rows]


def match_expression(parts: Sequence[Part]) -> str:
    """FTS5: each part a quoted phrase (a prefix phrase for one character), all of them."""
    return " AND ".join(
        '"' + " ".join(part.tokens) + '"' + ("*" if part.prefix else "") for part in parts
    )


class PostgresSearch(SearchIndex):
    """`doc` holds the tokens as lexemes without positions, the article's source (`#s7`)
    and its block of ids (`#b244`, BLOCK ids each). A GIN index cannot walk its matches
    newest first, as FTS5 does: a word found in half the archive would be sorted out of
    hundreds of thousands. So the newest block is asked first, then as many more as the
    rate of matches so far says are needed (each block one more lexeme in the same GIN
    lookup), and the whole archive only for what is rare there; a phrase's order is then
    checked on the tokens of the articles the lookup found."""

    def add(self, conn: Connection, article_id: int, title: list[str], body: list[str]) -> None:
        conn.execute(
            text(
                "INSERT INTO search (id, source_id, published, title, body, doc) "
                "SELECT id, source_id, published, :title, :body, "
                "CAST(:doc || ' ' || quote_literal('#s' || source_id) AS tsvector) "
                "FROM articles WHERE id = :id "
                "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                "body = excluded.body, doc = excluded.doc"
            ),
            {
                "id": article_id,
                "title": " ".join(title),
                "body": " ".join(body),
                "doc": lexemes([*title, *body, block_lexeme(article_id)]),
            },
        )

    def newest(self, parts: Sequence[Part], filters: Filters, limit: int) -> list[Found]:
        with self.engine.connect() as conn, conn.begin():
            # The planner counts a tsvector test as cheap and would read a small table whole,
            # but each row read costs its tsvector fetched and unpacked: the GIN index is
            # always cheaper.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            top = conn.execute(text("SELECT MAX(id) FROM search")).scalar()
            span = id_span(conn, filters)
            source = source_id(conn, filters.source) if filters.source else None
            if top is None or span is None or (filters.source and source is None):
                return []
            query = tsquery(parts)
            if source is not None:
                query += " & " + _quoted(f"#s{source}")
            if span.high is not None:
                top = min(top, span.high)
            bottom = span.low // BLOCK if span.low is not None else 0  # the oldest block asked
            found: list[Found] = []
            block, asked, count = top // BLOCK, 0, 1
            while count < WIDEST_ROUND:
                lowest = max(block - count + 1, bottom)
                blocks = " | ".join(_quoted(f"#b{b}") for b in range(lowest, block + 1))
                within = f"{query} & ({blocks})"
                found += self._round(conn, parts, filters, within, limit - len(found))
                asked += block - lowest + 1
                block = lowest - 1
                if len(found) >= limit or block < bottom:
                    return found
                count = _next_round(asked, len(found), limit)
            below = (block + 1) * BLOCK  # the rest of the span: older than the blocks asked
            return found + self._round(conn, parts, filters, query, limit - len(found), below)

    def _round(
        self,
        conn: Connection,
        parts: Sequence[Part],
        filters: Filters,
        query: str,
        limit: int,
        below: int | None = None,
    ) -> list[Found]:
        params: dict[str, Any] = {"query": query, "limit": limit}
        where = ["doc @@ CAST(:query AS tsquery)"]
        if below is not None:
            where.append("id < :below")
            params["below"] = below
        where += _time_filters(filters, params, "published")
        for number, part in enumerate(p for p in parts if len(p.tokens) > 1):
            params[f"phrase{number}"] = part.needle
            where.append(
                f"(strpos(' ' || title || ' ', :phrase{number}) > 0 "
                f"OR strpos(' ' || body || ' ', :phrase{number}) > 0)"
            )
        # Sorted within the blocks asked (OFFSET 0 keeps it a query of its own, found through
        # the GIN index), then taken newest first, each looked up in articles, up to `limit`.
        sql = (
            "SELECT id, title, body FROM ("
            f"SELECT id, title, body FROM search WHERE {' AND '.join(where)} "
            "ORDER BY id DESC OFFSET 0) AS search "
            "WHERE (SELECT removed FROM articles WHERE articles.id = search.id) IS NULL "
            "LIMIT :limit"
        )
        return [Found(row.id, row.title, row.body) for row in conn.execute(text(sql), params)]


@dataclass(frozen=True)
class IdSpan:
    """The lowest and highest id an article of a time span can have (None: no bound)."""

    low: int | None
    high: int | None


def id_span(conn: Connection, filters: Filters) -> IdSpan | None:
    """Where in the ids the filters' time span lies, from published_hours (the whole hours
    around its ends included); None when no article was published in it."""
    low = high = None
    if filters.since is not None:
        low = conn.execute(_FIRST_ID_SINCE, {"hour": hour_of(filters.since)}).scalar()
        if low is None:
            return None
    if filters.until is not None:
        high = conn.execute(_LAST_ID_UNTIL, {"hour": hour_of(filters.until)}).scalar()
        if high is None:
            return None
    if low is not None and high is not None and low > high:
        return None
    return IdSpan(low, high)


def note_published(conn: Connection, published_ids: Sequence[tuple[int, int]]) -> None:
    """Widen each hour's id span to take in these (published, id) pairs. The hours go in
    in order, so that writers sharing hours on PostgreSQL lock their rows in one order."""
    spans: dict[int, tuple[int, int]] = {}
    for published, article_id in published_ids:
        hour = hour_of(published)
        first, last = spans.get(hour, (article_id, article_id))
        spans[hour] = (min(first, article_id), max(last, article_id))
    if spans:
        rows = [{"hour": h, "first": f, "last": last} for h, (f, last) in sorted(spans.items())]
        conn.execute(_NOTE_HOUR, rows)


def hour_of(ms: int) -> int:
    """The hour of a time as both databases divide integers: rounded toward zero."""
    hour = abs(ms) // HOUR
    return hour if ms >= 0 else -hour


def source_id(conn: Connection, slug: str) -> int | None:
    return conn.execute(_SOURCE_ID, {"slug": slug}).scalar()


_FIRST_ID_SINCE = text("SELECT MIN(first_id) FROM published_hours WHERE hour >= :hour")
_LAST_ID_UNTIL = text("SELECT MAX(last_id) FROM published_hours WHERE hour <= :hour")
_SOURCE_ID = text("SELECT id FROM sources WHERE slug = :slug")
_NOTE_HOUR = text(
    "INSERT INTO published_hours (hour, first_id, last_id) VALUES (:hour, :first, :last) "
    "ON CONFLICT (hour) DO UPDATE SET "
    "first_id = CASE WHEN excluded.first_id < published_hours.first_id "
    "THEN excluded.first_id ELSE published_hours.first_id END, "
    "last_id = CASE WHEN excluded.last_id > published_hours.last_id "
    "THEN excluded.last_id ELSE published_hours.last_id END"
)


def _next_round(asked: int, found: int, limit: int) -> int:
    """How many blocks to ask next: enough for what is missing at the rate found so far,
    and half as many again (at most 8 times those asked), or 8 times those asked if none
    was found; a round that wide asks the rest of the archive instead, where the query is
    rare enough to be sorted whole."""
    if not found:
        return 8 * asked
    return max(1, min(8 * asked, math.ceil(1.5 * (limit - found) * asked / found)))


def block_lexeme(article_id: int) -> str:
    return f"#b{article_id // BLOCK}"


def lexemes(tokens: list[str]) -> str:
    """A tsvector literal of these tokens, without positions (a phrase is checked on the
    tokens themselves, with none of tsvector's limits on positions)."""
    kept = (t for t in dict.fromkeys(tokens) if len(t.encode()) <= MAX_LEXEME_BYTES)
    return " ".join(_quoted(t) for t in kept)


def tsquery(parts: Sequence[Part]) -> str:
    """Every token of every part (a phrase's order is checked after), or a prefix."""
    terms = []
    for part in parts:
        if part.prefix:
            terms.append(f"{_quoted(part.tokens[0])}:*")
        else:
            terms.extend(_quoted(t) for t in part.tokens)
    return " & ".join(terms)


def _quoted(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _time_filters(filters: Filters, params: dict[str, Any], column: str) -> list[str]:
    sql = []
    if filters.since is not None:
        sql.append(f"{column} >= :since")
        params["since"] = filters.since
    if filters.until is not None:
        sql.append(f"{column} < :until")
        params["until"] = filters.until
    return sql


def search_index(engine: Engine) -> SearchIndex:
    if engine.dialect.name == "postgresql":
        return PostgresSearch(engine)
    if engine.dialect.name == "sqlite":
        return SqliteSearch(engine)
    raise NotImplementedError(f"no search index on {engine.dialect.name}")
