"""`newsvault watch`: the long-running worker. It takes due jobs from the jobs stage and runs
them: polls of each source's feed on its own interval, re-checks of archived articles as they
fall due, pages people submitted, and the images of what was stored (an `image` job per
article with images, queued as it is stored). What a batch of jobs changed is published at
once: a new article first with its images' original URLs (those not mirrored before), then
again when its image job has mirrored them. Where the settings ask for them, it also looks
for copies in the web archives of what went missing (`recover`, recover.auto), answers the
open issues of GitHub repositories (`intake`, intake.github) and gives newly archived URLs to
Save Page Now (`save`, recover.save_to).

Every job is leased (store/jobs.py, watch.lease): a watcher that is killed loses nothing,
since its jobs fall due again when their leases run out, and storing is idempotent, so
nothing is archived twice. `newsvault worker` is this same loop, any number of them on as
many machines sharing one PostgreSQL database and one archive directory: what one process
must do alone (publishing, stories) is done under the archive's locks, which are then the
database's, and what each does from newsvault.toml (a job per source) is idempotent.
Stopping (SIGTERM, SIGINT) gives the jobs in flight a few seconds to finish, then gives
back the rest, due as they were. Sources added to newsvault.toml meanwhile are picked up
within seconds; other commands run beside it (store/engine.py, archive.Archive.lock).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsvault.archive import Archive
from newsvault.errors import NewsvaultError, describe, one_line
from newsvault.fetch.client import Fetcher
from newsvault.ingest import catch_up, publish
from newsvault.intake.intake import ensure_intake_jobs, run_intake_job
from newsvault.logs import EventLog
from newsvault.models import Job, Source, to_ms
from newsvault.pages import archive_rules, archive_url, capture_writer
from newsvault.pipeline import SourceReport, archive_source
from newsvault.publish.changes import Change
from newsvault.publish.images import image_links, mirror_articles
from newsvault.recover.recovery import run_recover_job
from newsvault.recover.save import ensure_save_jobs, run_save_job
from newsvault.settings import duration_ms
from newsvault.store.jobs import owner_name
from newsvault.store.submissions import requeue
from newsvault.watch.health import problems
from newsvault.watch.recheck import check_jobs

KINDS = ("submission", "poll", "recheck", "image", "recover", "intake", "save")
SERVE_KINDS = ("submission", "image")  # `serve` without --watch: what people submit, its images
GRACE_S = 8.0  # of the 10 s a stop may take: for the jobs in flight to finish
IDLE_S = 1.0  # the longest wait between looks at the queue (jobs come from other processes)
SYNC_S = 2.0  # how often newsvault.toml is looked at for sources added or removed
PUBLISH_S = 2.0  # changes are published at most this often while jobs keep finishing
RECHECK_CHUNK = 50  # re-checks claimed and run together
RETRY_MS = 10 * 60_000  # a job that failed unforeseen is tried again this much later


@dataclass
class WatchSummary:
    started: float = field(default_factory=time.time)
    polls: int = 0
    new: int = 0
    edited: int = 0
    poll_failures: int = 0
    rechecks: int = 0
    gone: int = 0
    submissions: int = 0
    images: int = 0  # new files in media/
    images_failed: int = 0  # images that could not be mirrored: they keep their original URL
    released: int = 0
    publishes: int = 0

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("ran for", f"{time.time() - self.started:.0f} s"),
            ("polls", f"{self.polls} ({self.poll_failures} failed)"),
            ("new articles", str(self.new)),
            ("edits", str(self.edited)),
            ("re-checks", f"{self.rechecks} ({self.gone} found gone)"),
            ("submissions", str(self.submissions)),
            ("images mirrored", f"{self.images} ({self.images_failed} failed)"),
            ("publishes", str(self.publishes)),
            ("jobs given back", str(self.released)),
        ]


class Watcher:
    def __init__(
        self,
        root: Path,
        events: EventLog,
        *,
        kinds: Iterable[str] = KINDS,
        site: bool = False,
        owner: str | None = None,
        role: str = "watch",
    ) -> None:
        self.root = root
        self.events = events
        self.kinds = tuple(k for k in KINDS if k in set(kinds))
        self.site = site  # publish the static site too (serve rebuilds the one it serves)
        self.owner = owner or owner_name(f"{role}-{uuid.uuid4().hex[:8]}")
        self.summary = WatchSummary()
        self.archive = Archive(root)
        self._config_mtime = 0.0
        self._synced = 0.0
        self._sources: dict[str, Source] = {}
        self._quiet: dict[str, int] = {}  # polls in a row that brought nothing new
        self._change = Change()
        self._published = 0.0
        self._problems: set[tuple[str, str]] = set()
        self._lost: set[int] = set()  # jobs in flight whose lease another worker took

    async def run(self, stop: asyncio.Event) -> WatchSummary:
        """Work until `stop` is set, then stop within GRACE_S plus the final publish."""
        archive = self.archive
        self.store = archive.store()
        self.writer = capture_writer(archive, self.store)
        self.rules = archive_rules(archive)
        self.events.emit("started", owner=self.owner, kinds=",".join(self.kinds))
        self._take_back()
        try:
            async with Fetcher(archive.settings.fetch_options()) as self.fetcher:
                if "submission" in self.kinds:
                    requeue(self.store.engine, now=_now())
                self._publish(everything=True)  # what a watcher killed earlier stored
                await self._loop(stop)
        finally:
            self.summary.released = self.store.jobs.release(self.owner)
            self.writer.close()
            try:
                self._publish()
            finally:
                self.store.close()
            self.events.emit("stopped", released=self.summary.released)
        return self.summary

    async def _loop(self, stop: asyncio.Event) -> None:
        running: dict[asyncio.Task[Any], list[Job]] = {}
        stopping = asyncio.create_task(stop.wait())
        renewed = time.monotonic()
        while not stop.is_set():
            self._sync()
            free = self.archive.settings["watch.workers"] - len(running)
            for jobs, work in self._claim(free) if free > 0 else []:
                running[asyncio.create_task(self._guarded(jobs, work))] = jobs
            timeout = min(IDLE_S, self._lease_ms / 3000) if running else self._idle_wait()
            done, _ = await asyncio.wait(
                {*running, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                running.pop(task, None)  # `stopping` is none of them
            if running and time.monotonic() - renewed > self._lease_ms / 3000:
                renewed = time.monotonic()
                self._renew([job for jobs in running.values() for job in jobs])
            if self._change and (not running or time.monotonic() - self._published > PUBLISH_S):
                self._publish()
        if running:
            self.events.emit("stopping", in_flight=len(running))
            _, late = await asyncio.wait(set(running), timeout=GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def _claim(self, free: int) -> list[tuple[list[Job], Awaitable[None]]]:
        """Due jobs for the free workers: submissions first (a person is waiting)."""
        now = _now()
        claimed: list[Job] = []
        for kinds in (["submission"], ["poll", "recheck", "image", "recover", "intake", "save"]):
            wanted = [k for k in kinds if k in self.kinds]
            if wanted and free - len(claimed) > 0:
                claimed += self.store.jobs.claim(
                    self.owner, now=now, lease_ms=self._lease_ms, limit=free - len(claimed),
                    kinds=wanted,
                )  # fmt: skip
        rechecks = [j for j in claimed if j.kind == "recheck"]
        work: list[tuple[list[Job], Awaitable[None]]] = [
            ([j], self._run_job(j)) for j in claimed if j.kind != "recheck"
        ]
        for start in range(0, len(rechecks), RECHECK_CHUNK):
            chunk = rechecks[start : start + RECHECK_CHUNK]
            work.append((chunk, self._recheck(chunk)))
        return work

    @property
    def _lease_ms(self) -> int:
        return duration_ms(self.archive.settings["watch.lease"], "watch.lease")

    def _renew(self, held: list[Job]) -> None:
        """A third of the lease gone: the jobs in flight keep theirs for a whole one more, so
        that a long job (a feed of many pages) is never taken by a second worker meanwhile."""
        still = [job for job in held if job.id not in self._lost]
        for job in self.store.jobs.extend(still, until=_now() + self._lease_ms):
            self._lost.add(job.id)  # said once; finishing it will change nothing
            self.events.emit("lease lost", level="warning", job=job.kind, target=job.target)

    def _idle_wait(self) -> float:
        due = self.store.jobs.next_due(self.kinds)
        if due is None:
            return IDLE_S
        return min(IDLE_S, max(0.0, (due - _now()) / 1000))

    async def _guarded(self, jobs: list[Job], work: Awaitable[None]) -> None:
        """Run one job (or a chunk of re-checks); an error nobody foresaw fails those jobs
        (tried again later, a submission told why) and never stops the watcher."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = one_line(f"internal error: {describe(exc)}")
            retry = _now() + RETRY_MS
            for job in jobs:
                if job.kind == "submission":
                    self.store.submissions.set(int(job.target), "failed", now=_now(),
                                               message=message)  # fmt: skip
                self.store.jobs.fail(job, message, retry_at=None if job.kind == "submission"
                                     else retry)  # fmt: skip
                self.events.emit("error", level="error", job=job.kind, target=job.target,
                                 message=message)  # fmt: skip

    async def _run_job(self, job: Job) -> None:
        if job.kind == "poll":
            await self._poll(job)
        elif job.kind == "image":
            await self._images(job)
        elif job.kind in ("recover", "intake", "save"):
            await self._elsewhere(job)
        else:
            await self._submission(job)

    # -- the kinds of job ---------------------------------------------------------------------

    async def _poll(self, job: Job) -> None:
        source = self._sources.get(job.target)
        if source is None:  # added by another process since this one last looked, perhaps
            self._sync(again=True)
            source = self._sources.get(job.target)
        if source is None:  # no longer followed
            self.store.jobs.finish(job, now=_now())
            return
        state = self.store.source_state(source.slug)
        report = await archive_source(
            self.fetcher, self.store, self.writer, self.rules, source, state,
            self.archive.settings["fetch.max_items"],
        )  # fmt: skip
        next_due = _now() + self._interval(source, report)
        self.store.jobs.finish(job, now=_now(), next_due=next_due)
        self.summary.polls += 1
        self.summary.new += report.new
        self.summary.edited += report.edited
        self.summary.poll_failures += report.failed
        for article_id in report.changed:
            self._change.article(article_id, source.slug)
        self.events.emit(
            "poll", level="warning" if report.failed else "info", source=source.slug,
            status=report.status, new=report.new, edited=report.edited,
            error=report.error, next=_iso(next_due),
        )  # fmt: skip

    def _interval(self, source: Source, report: SourceReport) -> int:
        """The source's interval, doubled for each failed poll in a row and for each poll in
        a row that brought nothing new, up to watch.max_interval."""
        settings = self.archive.settings
        base = source.interval or duration_ms(settings["watch.interval"], "watch.interval")
        most = duration_ms(settings["watch.max_interval"], "watch.max_interval")
        quiet = 0 if report.new or report.edited else self._quiet.get(source.slug, 0) + 1
        self._quiet[source.slug] = quiet
        state = self.store.source_state(source.slug)
        failures = state.failures if state and report.failed else 0
        return min(base * 2 ** min(max(quiet, failures), 20), max(most, base))

    async def _recheck(self, jobs: list[Job]) -> None:
        schedule = self.archive.settings.recheck_schedule()
        reports = await check_jobs(
            self.fetcher, self.store, self.writer, self.rules, jobs, schedule, now=_now()
        )
        self.summary.rechecks += len(reports)
        slugs = self.store.article_sources([r.article_id for r in reports])
        for report in reports:
            changed = report.before != report.status
            if changed or report.edited:
                self._change.status(report.article_id, slugs.get(report.article_id, ""))
                if report.edited:
                    self._change.article(report.article_id, slugs.get(report.article_id, ""))
                self.summary.gone += report.status == "gone"
                self.events.emit(
                    "recheck", level="warning" if report.status == "gone" else "info",
                    article=report.article_id, status=report.status, was=report.before,
                    reason=report.reason, edited=report.edited, url=report.url,
                )  # fmt: skip
        if reports and not any(r.before != r.status or r.edited for r in reports):
            self.events.emit("recheck", checked=len(reports), changed=0)

    async def _images(self, job: Job) -> None:
        """Mirror one article's images (those not tried before); its published copies are
        written again when one of them is new."""
        settings, links = self.archive.settings, image_links(self.archive)
        report = await mirror_articles(
            self.fetcher, self.store, self.root, [int(job.target)],
            max_bytes=settings["publish.media_max_bytes"], policy_of=links.policy,
        )  # fmt: skip
        self.store.jobs.finish(job, now=_now())
        self.summary.images += report.stored
        self.summary.images_failed += report.failed + report.refused
        for article_id, slug in report.articles.items():
            self._change.article(article_id, slug)
        if report.tried:
            self.events.emit(
                "images", level="warning" if report.failed or report.refused else "info",
                article=int(job.target), stored=report.stored, refused=report.refused,
                failed=report.failed,
            )  # fmt: skip

    async def _elsewhere(self, job: Job) -> None:
        """A job that asks a web archive or GitHub: a recovery, a repository's issues, a
        Save Page Now request (recover/, intake/)."""
        settings, now = self.archive.settings, _now()
        if job.kind == "recover":
            found = await run_recover_job(
                self.fetcher, self.store, self.writer, self.rules, settings, job, now=now
            )
            if found.article is not None and found.copy is not None:
                self._change.article(found.article.id or 0, found.article.source)
            self.events.emit("recover", level="info" if found.found else "warning",
                             target=job.target, outcome=found.outcome,
                             copy=found.copy.url if found.copy else None)  # fmt: skip
        elif job.kind == "intake":
            taken = await run_intake_job(self.store, settings, job)
            if taken.answered or taken.problem:
                self.events.emit("intake", level="warning" if taken.problem else "info",
                                 repo=taken.repo, answered=len(taken.answered),
                                 waiting=len(taken.waiting), problem=taken.problem)  # fmt: skip
        else:
            saved = await run_save_job(self.store, settings, job, now=now)
            if saved is not None and saved.outcome != "pending":
                self.events.emit("save", level="warning" if saved.failed else "info",
                                 url=saved.url, outcome=saved.outcome,
                                 copy=saved.snapshot)  # fmt: skip

    async def _submission(self, job: Job) -> None:
        submissions = self.store.submissions
        submission = submissions.get(int(job.target))
        if submission is None or submission.status in ("done", "failed"):
            self.store.jobs.finish(job, now=_now())
            return
        submissions.set(submission.id, "running", now=_now())
        report = await archive_url(
            self.fetcher, self.store, self.writer, self.rules, submission.url
        )
        if report.article is None:
            submissions.set(submission.id, "failed", now=_now(), message=report.outcome)
        else:
            self._change.article(report.article.id, report.article.source)
            submissions.set(
                submission.id, "done", now=_now(), message=report.outcome,
                article_id=report.article.id,
            )  # fmt: skip
        self.store.jobs.finish(job, now=_now())
        self.summary.submissions += 1
        self.events.emit(
            "submission", level="warning" if report.article is None else "info",
            id=submission.id, url=submission.url, outcome=report.outcome,
        )  # fmt: skip

    # -- sources and publishing ---------------------------------------------------------------

    def _take_back(self) -> None:
        """Release the jobs of watchers on this machine whose process is gone (killed, say):
        they need not wait for their leases to run out."""
        host = socket.gethostname()
        for owner in self.store.jobs.owners():
            name, _, rest = owner.partition(":")
            pid = rest.partition(":")[0]
            if name == host and pid.isdigit() and not _alive(int(pid)):
                released = self.store.jobs.release(owner)
                self.events.emit("taken back", owner=owner, jobs=released)

    def _sync(self, *, again: bool = False) -> None:
        """Follow newsvault.toml: a poll job for each source (due now when new), none for
        sources no longer there. A broken file is reported and the last good one kept.
        `again`: look at the file now, however recently it was looked at."""
        if time.monotonic() - self._synced < SYNC_S and self._sources and not again:
            return
        self._synced = time.monotonic()
        if "poll" not in self.kinds:
            return
        try:
            mtime = self.archive.config_path.stat().st_mtime
            if mtime != self._config_mtime:
                archive = Archive(self.root)
                self._sources = {s.slug: s for s in archive.sources()}
                self.archive, self._config_mtime = archive, mtime
                now = _now()
                for source in self._sources.values():
                    self.store.ensure_source(source.slug, source.name, source.url)
                ensure_save_jobs(self.store, archive.settings, now=now)
                ensure_intake_jobs(self.store, archive.settings, now=now)
                added = self.store.jobs.ensure("poll", self._sources, due=now, now=now)
                retired = self.store.jobs.retire("poll", self._sources, now=now)
                if added or retired:
                    self.events.emit("sources", following=len(self._sources), added=added,
                                     dropped=retired)  # fmt: skip
        except (NewsvaultError, OSError) as exc:
            self.events.emit("config", level="error", message=str(exc))

    def _publish(self, *, everything: bool = False) -> None:
        """What the jobs since the last publish changed, published; with `everything`, all
        that is missing (markdown files, the site in full), at a cost that follows the
        archive: when starting."""
        change, self._change = self._change, Change()
        self._published = time.monotonic()
        if not change and not everything:
            return
        try:
            if everything:
                built = (self.archive.site_dir / "index.html").is_file()
                result = catch_up(self.archive, self.store, site=self.site or built)
                done = {"markdown": f"{result.written} written, {result.lists_written} lists"}
            else:
                done = publish(self.archive, self.store, change, site=self.site or None)
        except Exception as exc:  # what was stored stays; the next publish writes it
            self._change.merge(change)
            self.events.emit("publish", level="error", message=describe(exc))
            return
        self.summary.publishes += 1
        self.events.emit(
            "publish", articles=len(change.articles), statuses=len(change.statuses), **done
        )
        self._report_health()

    def _report_health(self) -> None:
        """Say each extraction-health problem once when it arises, and once when it is over."""
        now = problems(self.store, self.archive.settings, _now())
        found = {(p.source, p.check): p for p in now}
        for key in sorted(found.keys() - self._problems):
            problem = found[key]
            self.events.emit("health", level="warning", source=problem.source,
                             check=problem.check, message=problem.message)  # fmt: skip
        for source, check in sorted(self._problems - found.keys()):
            self.events.emit("health", source=source, check=check, message="over")
        self._problems = set(found)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _now() -> int:
    return to_ms(time.time())


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


class BackgroundWatcher:
    """A Watcher on a thread of its own, for `serve`: started with the app, stopped with it."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self, timeout: float = GRACE_S + 2) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=timeout)

    def _main(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self.watcher.run(self._stop)

        try:
            asyncio.run(main())
        except Exception as exc:  # the app goes on serving what is archived
            self.watcher.events.emit("error", level="error", message=describe(exc))
        finally:
            self._ready.set()
