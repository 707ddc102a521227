"""Bringing new articles into the search index, the near-duplicate index and the stories.

Runs right after articles are stored (`newsvault run`, `archive`, `import-markdown`) and
before any search or story listing, on every article not yet `grouped`, oldest first, a
batch per transaction: a run killed half-way is finished by the next one, and nothing is
recomputed for articles already done. An article that cannot be processed (a bug, or input
nobody foresaw) is marked FAILED and logged, so it never holds up the ones after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, text, update

from newsvault.store import Store
from newsvault.store.engine import writing
from newsvault.store.schema import articles
from newsvault.stories.clusters import assign_story, salient_terms
from newsvault.stories.duplicates import find_original, shingles
from newsvault.stories.fold import fold, tokens

BATCH = 200
PENDING, DONE, FAILED = 0, 1, 2  # values of articles.grouped
log = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    articles: int = 0
    copies: int = 0
    new_stories: int = 0
    failed: int = 0


def process_pending(store: Store) -> ProcessReport:
    report = ProcessReport()
    sqlite = store.engine.dialect.name == "sqlite"
    while True:
        with store.engine.connect() as conn:
            pending = conn.execute(
                select(articles.c.id, articles.c.title, articles.c.text, articles.c.published)
                .where(articles.c.grouped == PENDING)
                .order_by(articles.c.published, articles.c.id)
                .limit(BATCH)
            ).all()
        if not pending:
            return report
        if not sqlite and not report.articles and not report.failed:
            log.info("search index skipped: search needs the SQLite archive database (FTS5)")
        with store.engine.connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(articles).where(articles.c.grouped == DONE)
            ).scalar_one()
        try:
            with writing(store.engine) as conn:  # a batch per transaction, `grouped` with it
                batch = ProcessReport()
                for number, row in enumerate(pending):
                    _process(conn, row, batch, sqlite, total + number)
        except Exception:  # find the article at fault: one transaction each
            batch = _one_by_one(store, pending, sqlite, total)
        for name in ("articles", "copies", "new_stories", "failed"):
            setattr(report, name, getattr(report, name) + getattr(batch, name))


def _one_by_one(store: Store, pending, sqlite: bool, total: int) -> ProcessReport:
    report = ProcessReport()
    for row in pending:
        try:
            with writing(store.engine) as conn:
                _process(conn, row, report, sqlite, total)
                total += 1
        except Exception as exc:
            log.warning("article %s left out of search and stories: %s", row.id, exc)
            with writing(store.engine) as conn:
                conn.execute(update(articles).where(articles.c.id == row.id).values(grouped=FAILED))
            report.failed += 1
    return report


def _process(conn: Connection, row, report: ProcessReport, sqlite: bool, total: int) -> None:
    folded_title, folded_text = fold(row.title), fold(row.text)
    if sqlite:
        index_text(conn, row.id, folded_title, folded_text)
    original = find_original(conn, row.id, shingles(folded_text), lambda i: _folded(conn, i))
    terms = salient_terms(folded_title, folded_text)
    _story, created = assign_story(conn, row.id, row.title, row.published, terms, original, total)
    report.new_stories += created
    conn.execute(
        update(articles).where(articles.c.id == row.id).values(copy_of=original, grouped=DONE)
    )
    report.articles += 1
    report.copies += original is not None


def index_text(conn: Connection, article_id: int, folded_title: str, folded_text: str) -> None:
    conn.execute(
        text("INSERT OR REPLACE INTO search (rowid, title, body) VALUES (:id, :title, :body)"),
        {
            "id": article_id,
            "title": " ".join(tokens(folded_title)),
            "body": " ".join(tokens(folded_text)),
        },
    )


def _folded(conn: Connection, article_id: int) -> str:
    return fold(
        conn.execute(select(articles.c.text).where(articles.c.id == article_id)).scalar() or ""
    )
