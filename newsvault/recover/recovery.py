"""Recovery: an article whose original is gone (or was never fetched), looked for in the web
archives, and the copy kept as a version that says where it came from.

Per article, top to bottom: the moment it went missing (when a re-check first found it gone;
now, for one that is not) -> the copies of its URL in the Wayback Machine and archive.today
(recover/copies.py), the newest from before that moment first, then the oldest after it ->
each copy fetched through the fetcher (every limit and the SSRF guard), kept as a capture,
extracted as the original site's page with its rule, and judged as a re-check judges a page
(a deletion notice, or no article, is no copy) -> the first that holds the article is kept as
a version marked "recovered from <where>, <when>". What newsvault captured itself is never
replaced; a copy that says what the archived article says is not kept twice. A URL never
archived becomes a new article from the copy, the version saying where it came from.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newsvault.archive import Archive
from newsvault.captures import CaptureWriter
from newsvault.errors import FetchError
from newsvault.extract import Extraction, RuleSet
from newsvault.fetch.client import Fetcher
from newsvault.ingest import catch_up
from newsvault.models import Article, Job, ms_to_iso, to_ms
from newsvault.normalize import canonical_url
from newsvault.pages import PAGE_ACCEPT, archive_rules, capture_writer, look_at, store_found
from newsvault.recover.copies import Copy, find_copies
from newsvault.settings import Settings
from newsvault.store import Store
from newsvault.store.db import content_hash
from newsvault.watch.verdict import judge

MAX_TRIES = 4  # copies fetched for one article, at most, on each side of the moment
RETRY_MS = 60 * 60_000  # an archive that could not be asked: again in an hour
MAX_ATTEMPTS = 3  # then the recover job is given up


@dataclass
class RecoveryReport:
    target: str  # what was asked for: an article id or a URL
    # recovered | new article | same as archived | recovered before | no copy found |
    # failed: … (no archive could be asked) | no article …
    outcome: str
    article: Article | None = None
    copy: Copy | None = None
    tried: list[str] = field(default_factory=list)  # "<copy or archive>: why it was not used"

    @property
    def found(self) -> bool:
        return self.copy is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "outcome": self.outcome,
            "article": self.article.id if self.article else None,
            "url": self.article.url if self.article else None,
            "from": self.copy.service if self.copy else None,
            "copy": self.copy.url if self.copy else None,
            "captured": ms_to_iso(self.copy.captured) if self.copy else None,
            "tried": self.tried,
        }


async def recover_article(
    fetcher: Fetcher,
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    settings: Settings,
    target: str,
    *,
    now: int,
) -> RecoveryReport:
    """Look for a copy of the article `target` names (its id, or a URL: one archived, or
    not yet) and keep the first that holds it."""
    article = _article(store, target)
    url = article.url if article else target
    if not url.startswith(("http://", "https://")):
        return RecoveryReport(target, f"no article {target!r}")
    state = store.watch.state(article.id or 0) if article else None
    missing = state.gone_since if state and state.status == "gone" and state.gone_since else now
    report = RecoveryReport(target, "no copy found", article)
    wayback, archive_today = settings["recover.wayback_url"], settings["recover.archive_today_url"]
    services = len([s for s in (wayback, archive_today) if s])
    if not services:
        report.outcome = "failed: no web archive to ask (recover.wayback_url, archive_today_url)"
        return report
    answered = 0
    for side in ({"before": missing}, {"after": missing}):
        if side.get("after", 0) >= now:
            break  # nothing can have been captured after now
        found = await find_copies(
            fetcher, url, wayback=wayback, archive_today=archive_today, **side
        )
        report.tried += found.problems
        answered += services - len(found.problems)
        for copy in found.copies[:MAX_TRIES]:
            if await _try_copy(fetcher, store, writer, rules, report, copy, now):
                return report
    if not answered:
        report.outcome = "failed: " + "; ".join(report.tried)
    return report


def recover(
    archive: Archive,
    targets: list[str],
    *,
    on_done: Callable[[RecoveryReport], None] | None = None,
) -> list[RecoveryReport]:
    """`newsvault recover`: each target (an article id, or a URL) looked for now, one after
    the other; then the markdown of what became new written."""
    store = archive.store(durable=True)  # a person is told it is recovered
    try:
        reports = asyncio.run(_recover_all(archive, store, targets, on_done))
        catch_up(archive, store)
    finally:
        store.close()
    return reports


async def _recover_all(archive, store, targets, on_done) -> list[RecoveryReport]:
    writer, rules, reports = capture_writer(archive, store), archive_rules(archive), []
    try:
        async with Fetcher(archive.settings.fetch_options()) as fetcher:
            for target in targets:
                report = await recover_article(
                    fetcher, store, writer, rules, archive.settings, target,
                    now=to_ms(time.time()),
                )  # fmt: skip
                reports.append(report)
                if on_done:
                    on_done(report)
    finally:
        writer.close()
    return reports


def _article(store: Store, target: str) -> Article | None:
    if target.isdigit():
        return store.article(int(target))
    return store.article_by_url(canonical_url(target), target) if "://" in target else None


async def _try_copy(
    fetcher: Fetcher,
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    report: RecoveryReport,
    copy: Copy,
    now: int,
) -> bool:
    """Fetch one copy and keep it if it holds the article; False (and why, in `tried`)
    when it does not."""
    try:
        response = await fetcher.get(copy.url, accept=PAGE_ACCEPT, robots=False)
    except FetchError as exc:
        report.tried.append(f"{copy.url}: {exc.reason}")
        return False
    look = look_at(store, writer, rules, response, read_as=copy.public_url)
    found, capture_id = look.found, look.capture_id
    if found is None:  # no article, or an extractor failing on this one page
        report.tried.append(f"{copy.url}: {look.outcome}")
        return False
    as_original = dataclasses.replace(response, url=copy.original, history=[])
    article = report.article
    verdict = judge(copy.original, article.text if article else "", as_original, found)
    if verdict.status != "live":
        report.tried.append(f"{copy.url}: not the article ({verdict.reason})")
        return False
    report.copy = copy
    if article is None:  # never archived: the copy is the article, the version says whence
        report.article, outcome = store_found(store, rules, found, now, capture_id)
        kept = _keep(store, report.article, found, copy, capture_id, now, new=outcome == "new")
        report.outcome = "new article" if outcome == "new" else kept
    else:
        report.outcome = _keep(store, article, found, copy, capture_id, now, new=False)
    return True


def _keep(
    store: Store, article: Article, found: Extraction, copy: Copy, capture_id: int, now: int,
    *, new: bool,
) -> str:  # fmt: skip
    """Keep the copy as a version of `article`: "recovered"; "same as archived" when it
    says what the archived article says (but for an article made of the copy, `new`);
    "recovered before" when this copy was kept already."""
    digest = content_hash(found.title, found.html)
    if not new and digest == content_hash(article.title, article.html):
        copies = store.watch.recovered(article.id or 0)
        kept_before = any(content_hash(c.title, c.html) == digest for c in copies)
        return "recovered before" if kept_before else "same as archived"
    kept = store.watch.add_recovered_version(
        article.id or 0, found.title, found.html, digest, seen=now, capture_id=capture_id,
        service=copy.service, copy_url=copy.url, captured=copy.captured,
    )  # fmt: skip
    return "recovered" if kept else "recovered before"


async def run_recover_job(
    fetcher: Fetcher,
    store: Store,
    writer: CaptureWriter,
    rules: RuleSet,
    settings: Settings,
    job: Job,
    *,
    now: int,
) -> RecoveryReport:
    """One leased `recover` job (queued when recover.auto is on): finished, or tried again
    in an hour when no archive could be asked, up to MAX_ATTEMPTS."""
    if not settings["recover.auto"]:  # turned off since it was queued: nobody is asked
        store.jobs.finish(job, now=now)
        return RecoveryReport(job.target, "not asked: recover.auto is off")
    report = await recover_article(fetcher, store, writer, rules, settings, job.target, now=now)
    if report.outcome.startswith("failed: ") and job.attempts < MAX_ATTEMPTS:
        store.jobs.fail(job, report.outcome, retry_at=now + RETRY_MS)
    else:
        store.jobs.finish(job, now=now)
    return report
