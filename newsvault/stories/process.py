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

from newsvault.store import Store
from newsvault.store.stories import DONE, PENDING, UNINDEXED, Pending, StoryBatch, StoryStore
from newsvault.stories.clusters import assign_story, salient_terms
from newsvault.stories.duplicates import find_original, shingles
from newsvault.stories.fold import fold, tokens

BATCH = 200
__all__ = ["DONE", "PENDING", "ProcessReport", "process_pending"]
log = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    articles: int = 0
    copies: int = 0
    new_stories: int = 0
    failed: int = 0


def process_pending(store: Store) -> ProcessReport:
    report = ProcessReport()
    grouping = store.stories
    _index_grouped(grouping)
    while True:
        pending = grouping.waiting(PENDING, BATCH)
        if not pending:
            return report
        total = grouping.grouped_count()
        try:
            with grouping.batch() as batch:  # a batch per transaction, `grouped` with it
                done = ProcessReport()
                for number, row in enumerate(pending):
                    _process(batch, row, done, total + number)
        except Exception:  # find the article at fault: one transaction each
            done = _one_by_one(grouping, pending, total)
        for name in ("articles", "copies", "new_stories", "failed"):
            setattr(report, name, getattr(report, name) + getattr(done, name))


def _index_grouped(grouping: StoryStore) -> None:
    """Articles grouped before the database had a search index get into it."""
    while pending := grouping.waiting(UNINDEXED, BATCH):
        with grouping.batch() as batch:
            for row in pending:
                batch.add_to_index(row.id, tokens(fold(row.title)), tokens(fold(row.text)))
                batch.indexed(row.id)


def _one_by_one(grouping: StoryStore, pending: list[Pending], total: int) -> ProcessReport:
    report = ProcessReport()
    for row in pending:
        try:
            with grouping.batch() as batch:
                _process(batch, row, report, total)
                total += 1
        except Exception as exc:
            log.warning("article %s left out of search and stories: %s", row.id, exc)
            grouping.mark_failed(row.id)
            report.failed += 1
    return report


def _process(batch: StoryBatch, row: Pending, report: ProcessReport, total: int) -> None:
    folded_title, folded_text = fold(row.title), fold(row.text)
    batch.add_to_index(row.id, tokens(folded_title), tokens(folded_text))
    original = find_original(batch, row.id, shingles(folded_text), lambda i: fold(batch.text_of(i)))
    terms = salient_terms(folded_title, folded_text)
    story, created = assign_story(batch, row.id, row.title, row.published, terms, original, total)
    report.new_stories += created
    batch.grouped(row.id, original, story)
    report.articles += 1
    report.copies += original is not None
