"""Re-checks: an archived article's page fetched again, to notice edits and deletions.

Per article, top to bottom: conditional GET with the validators of the last look -> keep the
response as a capture like any other -> bytes the same as last time: nothing is extracted ->
else extract, judge (live, gone or unreachable, with a reason: watch/verdict.py) -> a live
page whose title or text differ from the last page seen of it is a new version (a feed
article's first page is only the baseline) -> record the status and when to look next.

The next look follows `watch.recheck`, counted from when the article was archived; an
unreachable page is tried again sooner, backing off, and never called gone for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newsvault.archive import Archive
from newsvault.captures import CaptureWriter
from newsvault.errors import FetchError, NoArticle
from newsvault.extract import Extraction, RuleSet, extract
from newsvault.fetch.client import Fetcher
from newsvault.models import Article, Job
from newsvault.pages import (
    PAGE_ACCEPT,
    archive_rules,
    capture_writer,
    keep_capture,
    keep_error_page,
)
from newsvault.recover.queue import queue_recovery
from newsvault.store import Store
from newsvault.store.jobs import owner_name
from newsvault.store.watch import CheckState, Finding
from newsvault.watch.history import keep_page_version
from newsvault.watch.verdict import judge

RETRY_FIRST_MS = 10 * 60_000  # an unreachable page: again in 10 minutes, doubling
RETRY_MAX_MS = 24 * 3_600_000
LEASE_MS = 10 * 60_000
BATCH = 200  # articles looked at together


@dataclass
class CheckReport:
    article_id: int
    url: str
    status: str  # live | gone | unreachable
    reason: str | None = None
    before: str | None = None  # the status before this check (None: never checked)
    edited: bool = False  # a new version was recorded
    same_bytes: bool = False  # the page had not changed at all (304 or identical bytes)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.article_id, "url": self.url, "status": self.status,
            "reason": self.reason, "before": self.before, "edited": self.edited,
            "same_bytes": self.same_bytes,
        }  # fmt: skip


def recheck(
    archive: Archive,
    article_ids: list[int],
    *,
    now: int,
    on_done: Callable[[CheckReport], None] | None = None,
) -> list[CheckReport]:
    """Re-check these articles now, whatever their schedule."""
    store = archive.store()
    try:
        return asyncio.run(_check_all(archive, store, article_ids, [], now, on_done))
    finally:
        store.close()


def recheck_due(
    archive: Archive,
    store: Store,
    *,
    now: int,
    limit: int = 1000,
    on_done: Callable[[CheckReport], None] | None = None,
) -> list[CheckReport]:
    """The re-checks that are due, as leased jobs."""
    owner = owner_name(f"recheck-{id(store)}")
    jobs = store.jobs.claim(owner, now=now, lease_ms=LEASE_MS, limit=limit, kinds=["recheck"])
    if not jobs:
        return []
    try:
        ids = [int(job.target) for job in jobs]
        return asyncio.run(_check_all(archive, store, ids, jobs, now, on_done))
    finally:
        store.jobs.release(owner)  # anything not finished goes back as it was


async def _check_all(archive, store, ids, jobs, now, on_done) -> list[CheckReport]:
    by_id: dict[int, Job] = {int(job.target): job for job in jobs}
    writer = capture_writer(archive, store)
    schedule = archive.settings.recheck_schedule()
    rules = archive_rules(archive)
    reports: list[CheckReport] = []
    try:
        async with Fetcher(archive.settings.fetch_options()) as fetcher:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                reports += await _check_batch(
                    fetcher, store, writer, rules, chunk, by_id, schedule, now
                )
                if on_done:
                    for report in reports[-len(chunk) :]:
                        on_done(report)
    finally:
        writer.close()
    return reports


async def _check_batch(fetcher, store, writer, rules, ids, by_id, schedule, now):
    """Look at a batch of articles at once; read what is known of them in a few queries
    and write what was found in two transactions (the database is not the bottleneck)."""
    articles = store.articles_by_ids(ids)
    states = store.watch.states(ids)
    looking = [
        article_id
        for article_id in ids
        if (a := articles.get(article_id)) is not None and not a.removed and a.url
    ]
    last_capture = {i: _last_capture(articles[i], states.get(i)) for i in looking}
    identities = store.capture_identities([c for c in last_capture.values() if c is not None])
    looks = await asyncio.gather(
        *(
            _look(
                fetcher,
                store,
                writer,
                rules,
                articles[article_id],
                states.get(article_id),
                identities.get(last_capture[article_id] or 0),
                now,
            )
            for article_id in looking
        )
    )
    found = [
        (article_id, finding) for article_id, (finding, _, _) in zip(looking, looks, strict=True)
    ]
    changes = store.watch.record_many(found, now=now)
    newly_gone = [
        article_id
        for article_id, (before, status) in zip(looking, changes, strict=True)
        if status == "gone" and before != "gone"
    ]
    queue_recovery(store, newly_gone, now=now)  # where recover.auto is on
    finished: list[tuple[Job, int | None]] = []
    rescheduled: list[tuple[str, str, int | None]] = []
    reports = []
    for article_id, (finding, edited, same), (before, status) in zip(
        looking, looks, changes, strict=True
    ):
        article, state = articles[article_id], states.get(article_id)
        next_due = _next_due(article, state, finding, schedule, now)
        if article_id in by_id:
            finished.append((by_id[article_id], next_due))
        else:
            rescheduled.append(("recheck", str(article_id), next_due))
        reports.append(
            CheckReport(article_id, article.url, status, finding.reason, before, edited, same)
        )
    for article_id in set(ids) - set(looking):  # gone from the archive: nothing to look at
        if article_id in by_id:
            finished.append((by_id[article_id], None))
    store.jobs.settle(finished, rescheduled, now=now)
    return reports


async def check_jobs(
    fetcher: Fetcher,
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    jobs: list[Job],
    schedule: list[int],
    *,
    now: int,
) -> list[CheckReport]:
    """Run these leased re-check jobs (the `watch` daemon's), each finished or rescheduled."""
    by_id = {int(job.target): job for job in jobs}
    return await _check_batch(fetcher, store, writer, rules, list(by_id), by_id, schedule, now)


def _last_capture(article: Article, state: CheckState | None) -> int | None:
    """The capture the page was last seen as: the last re-check's, else the archived one."""
    if state is not None and state.capture_id is not None:
        return state.capture_id
    return article.capture_id


async def _look(
    fetcher: Fetcher,
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    article: Article,
    state: CheckState | None,
    last: tuple[str, str] | None,
    now: int,
) -> tuple[Finding, bool, bool]:
    """What the page says now, whether that is a new version of it, and whether the page
    is byte for byte what it was (nothing extracted)."""
    try:
        response = await fetcher.get(
            article.url,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
            accept=PAGE_ACCEPT,
        )
    except FetchError as exc:
        capture_id = keep_error_page(store, writer, exc)
        verdict = judge(article.url, article.text, exc, None)
        return Finding(verdict.status, verdict.reason, capture_id), False, False
    for hop in response.history:
        keep_capture(store, writer, hop)
    validators = {
        "etag": response.headers.get("ETag"),
        "last_modified": response.headers.get("Last-Modified"),
    }
    if response.not_modified:
        return _unchanged(state), False, True
    if last is not None and last == (response.url, response.digest):
        return _unchanged(state), False, True  # the same bytes: nothing extracted
    capture_id = keep_capture(store, writer, response)
    try:
        extraction: Extraction | NoArticle = extract(
            response.body, response.url, response.content_type, rules=rules
        )
    except NoArticle as exc:
        extraction = exc
    verdict = judge(article.url, article.text, response, extraction)
    edited = False
    if verdict.status == "live" and isinstance(extraction, Extraction):
        edited = keep_page_version(store, article, extraction, capture_id, now) == "edited"
    return Finding(verdict.status, verdict.reason, capture_id, **validators), edited, False


def _unchanged(state: CheckState | None, capture_id: int | None = None) -> Finding:
    """The page as it was at the last look: its status then (a page that was unreachable
    and now answers as before is live)."""
    status = state.status if state and state.status != "unreachable" else "live"
    return Finding(status, state.reason if status == "gone" and state else None, capture_id)


def _next_due(
    article: Article, state: CheckState | None, finding: Finding, schedule: list[int], now: int
) -> int | None:
    if finding.status == "unreachable":
        failures = (state.failures if state else 0) + 1
        return now + min(RETRY_FIRST_MS * 2 ** (failures - 1), RETRY_MAX_MS)
    later = [article.fetched + step for step in schedule if article.fetched + step > now]
    return later[0] if later else None
