"""Intake: requests taken as GitHub issues, as the archivers newsvault descends from take
them. A reader opens an issue whose title or body holds the URLs of pages; each URL goes
through the submission path (the SSRF guard, fetch.allowed_addresses, the per-client rate
limit serve.submissions_per_minute and the queue's bound serve.queue_max, as the web form);
the issue then gets one comment (a line per URL: the archived copy under site.base_url, the
copy archived before, or the one-line reason it was not archived), its labels (`archived`,
`duplicate`, `failed`) and is closed.

An issue is answered once, whatever happens: each step is written down (store/intake.py)
before it is taken and again once it is done. A process killed after posting the comment
but before writing that down finds it when it starts again (the comment carries a hidden
marker naming the issue) instead of posting another; a submission made but not written down
is found by its client name (github:OWNER/REPO#NUMBER); labels and closing are the same
however often they are done. A URL another issue already waits for makes this issue wait
its turn, to be answered with the same copy as a duplicate.

`newsvault intake github OWNER/REPO` archives the URLs itself, at once; the `watch` daemon,
for each repository of intake.github, reads the open issues every intake.interval, queues
the URLs as submissions its workers archive, and answers each issue once they are done.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from newsvault.archive import Archive
from newsvault.captures import CaptureWriter
from newsvault.errors import NewsvaultError
from newsvault.extract import RuleSet
from newsvault.fetch.api import ApiClient
from newsvault.fetch.client import Fetcher
from newsvault.ingest import catch_up
from newsvault.intake.github import GitHub, GitHubError, Issue, RateLimited
from newsvault.models import Job, to_ms
from newsvault.normalize import canonical_url
from newsvault.pages import PageReport, archive_rules, archive_url, capture_writer
from newsvault.settings import REPO_NAME, Settings, duration_ms
from newsvault.store import Store
from newsvault.store.intake import IntakeStore, TakenIssue, TakenUrl
from newsvault.web.submissions import RateLimit, Refused, submit, validate_url

MAX_URLS = 20  # URLs taken from one issue; more are answered as not archived
MAX_ISSUES = 50  # new issues taken in one pass (the watch daemon's; the rest next time)
SOON_MS = 5_000  # an issue waiting for its URLs to be archived is looked at again this soon
LABELS = {"done": "archived", "known": "duplicate", "failed": "failed", "refused": "failed"}
_URL = re.compile(r"https?://[^\s<>\"'`\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+", re.I)
_TRAILING = ".,;:!?)]}*_~'\""
_LIMITS: dict[int, RateLimit] = {}  # per serve.submissions_per_minute, for the whole process


def marker(repo: str, number: int) -> str:
    """The hidden line that tells newsvault's comment on an issue from any other."""
    return f"<!-- newsvault intake {repo}#{number} -->"


def find_urls(*texts: str) -> list[str]:
    """The http(s) URLs written in these texts, in order, each once: trailing punctuation
    and markdown's link brackets left out."""
    found: list[str] = []
    for text in texts:
        for match in _URL.finditer(text or ""):
            for part in match.group(0).split("]("):
                url = part.rstrip(_TRAILING)
                if url.count("(") < url.count(")"):
                    url = url[: url.rfind(")")].rstrip(_TRAILING)
                if re.match(r"https?://[^/?#]", url, re.I) and url not in found:
                    found.append(url)
    return found


@dataclass
class IntakeReport:
    repo: str
    answered: list[TakenIssue] = field(default_factory=list)  # answered by this pass
    waiting: list[int] = field(default_factory=list)  # issues whose answer waits
    seen: int = 0  # open issues read
    problem: str | None = None  # what stopped the pass (a rate limit, GitHub refusing)
    until: float | None = None  # GitHub's rate limit: nothing before this (unix seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo, "open": self.seen, "answered": [i.to_json() for i in self.answered],
            "waiting": self.waiting, "problem": self.problem,
        }  # fmt: skip


Archiver = Callable[[int], Awaitable[None]]  # archives one submission, by id, now


class Intake:
    """One repository's intake: `await Intake(...).run(repo)` is one pass over its issues."""

    def __init__(
        self,
        store: Store,
        github: GitHub,
        settings: Settings,
        *,
        archive_now: Archiver | None = None,
        new_issues: int = MAX_ISSUES,
    ) -> None:
        self.store = store
        self.github = github
        self.settings = settings
        self.archive_now = archive_now  # None: the watch daemon's workers archive them
        self.new_issues = new_issues
        self.memory = IntakeStore(store.engine)
        per_minute = settings["serve.submissions_per_minute"]
        self.limit = _LIMITS.setdefault(per_minute, RateLimit(per_minute))
        self.base = settings["site.base_url"].rstrip("/")
        if not self.base:
            raise NewsvaultError(
                "intake answers with links to the archived copies: set site.base_url in "
                "newsvault.toml (where the site is served)"
            )

    async def run(self, repo: str) -> IntakeReport:
        report = IntakeReport(repo)
        try:
            issues = await self.github.open_issues(repo)
            report.seen = len(issues)
            taken_new = 0
            for issue in issues:
                if self.memory.issue(repo, issue.number) is None:
                    if taken_new >= self.new_issues:
                        report.waiting.append(issue.number)
                        continue
                    taken_new += 1
                answered = await self._issue(repo, issue)
                if answered == "waiting":
                    report.waiting.append(issue.number)
                elif answered == "answered" and (done := self.memory.issue(repo, issue.number)):
                    report.answered.append(done)
        except RateLimited as exc:
            report.problem, report.until = str(exc), exc.until
        except (GitHubError, Refused) as exc:  # GitHub refusing, the submission queue full
            report.problem = str(exc)
        return report

    async def _issue(self, repo: str, issue: Issue) -> str:
        """Take the issue forward as far as it goes now: "answered" once it is, "before"
        when it was answered before, "waiting" while it waits."""
        taken = self.memory.issue(repo, issue.number)
        if taken is None:
            taken = await self._take(repo, issue)
            if taken is None:
                return "waiting"
        if taken.state == "closed":
            return "before"
        if not await self._settle(taken):
            return "waiting"
        await self._answer(self.memory.issue(repo, issue.number) or taken)
        return "answered"

    async def _take(self, repo: str, issue: Issue) -> TakenIssue | None:
        """Write down the issue and the URLs in it, each judged: refused (not an address to
        archive), known (archived before), or waiting to be archived. None when another
        issue waits for one of the same URLs: this one waits its turn."""
        allow = self.settings["fetch.allow_private_networks"]
        allowed = frozenset(self.settings["fetch.allowed_addresses"])
        rows: list[TakenUrl] = []
        for position, url in enumerate(find_urls(issue.title, issue.body)):
            if position >= MAX_URLS:
                reason = f"more than {MAX_URLS} URLs in one issue; open another for the rest"
                rows.append(TakenUrl(position, url, "refused", None, None, reason))
                continue
            try:
                checked = await asyncio.to_thread(
                    validate_url, url, allow_private=allow, allowed=allowed
                )
            except Refused as exc:
                rows.append(TakenUrl(position, url, "refused", None, None, str(exc)))
                continue
            if self.memory.waiting_for(checked, repo, issue.number):
                return None
            known = self.store.article_by_url(checked, canonical_url(checked))
            state = "known" if known else "waiting"
            rows.append(TakenUrl(position, checked, state, None, known.id if known else None,
                                 "already archived" if known else None))  # fmt: skip
        self.memory.take(repo, issue.number, issue.author, rows, now=_now())
        return self.memory.issue(repo, issue.number)

    async def _settle(self, taken: TakenIssue) -> bool:
        """Submit the URLs waiting, archive them (one-shot) or see whether the workers have,
        and write down what came of each: True once every URL is settled."""
        client = f"github:{taken.repo}#{taken.number}"
        for url in taken.urls:
            if url.state != "waiting":
                continue
            submission_id = self.memory.submission_of(client, url.url)
            if submission_id is None:
                try:
                    self.limit.check(f"github:{taken.author or taken.repo}")
                except Refused:
                    return False  # this reader asked for too much at once: later
                capacity = self.settings["serve.queue_max"]
                submission_id = submit(self.store, url.url, client, capacity=capacity).id
            self.memory.set_url(
                taken.repo, taken.number, url.position, state="submitted",
                submission_id=submission_id,
            )  # fmt: skip
        taken = self.memory.issue(taken.repo, taken.number) or taken
        for url in taken.urls:
            if url.state != "submitted" or url.submission_id is None:
                continue
            if self.archive_now is not None:
                await self.archive_now(url.submission_id)
            submission = self.store.submissions.get(url.submission_id)
            if submission is None or submission.status not in ("done", "failed"):
                continue
            if submission.status == "failed":
                state = "failed"
            else:
                state = "known" if submission.message == "already archived" else "done"
            self.memory.set_url(
                taken.repo, taken.number, url.position, state=state,
                article_id=submission.article_id, message=submission.message,
            )  # fmt: skip
        taken = self.memory.issue(taken.repo, taken.number) or taken
        return taken.settled

    async def _answer(self, taken: TakenIssue) -> None:
        """Comment, label, close: each step written down before and after."""
        repo, number = taken.repo, taken.number
        state = taken.state
        if state in ("collected", "commenting"):
            comment_id = None
            if state == "commenting":  # killed around the post: look before posting again
                comment_id = await self._posted(repo, number)
            else:
                self.memory.set_issue(repo, number, "commenting", now=_now())
            if comment_id is None:
                comment_id = await self.github.comment(repo, number, self.comment(taken))
            self.memory.set_issue(repo, number, "commented", now=_now(), comment_id=comment_id)
            state = "commented"
        labels = labels_for(taken)
        if state == "commented":
            await self.github.add_labels(repo, number, labels)
            self.memory.set_issue(repo, number, "labelled", now=_now(), labels=labels)
            state = "labelled"
        if state == "labelled":
            await self.github.close(repo, number)
            self.memory.set_issue(repo, number, "closed", now=_now())

    async def _posted(self, repo: str, number: int) -> int | None:
        mark = marker(repo, number)
        for comment in await self.github.comments(repo, number):
            if mark in str(comment.get("body") or ""):
                return int(comment.get("id") or 0)
        return None

    def comment(self, taken: TakenIssue) -> str:
        """The answer: a line per URL, the hidden marker last."""
        lines = []
        for url in taken.urls:
            article = self.store.article(url.article_id) if url.article_id else None
            link = f"{self.base}/articles/{article.source}/{article.number}.html" if article else ""
            if url.state == "done" and link:
                lines.append(f"- Archived: {link} (from {url.url})")
            elif url.state == "known" and link:
                lines.append(f"- Archived before: {link} (from {url.url})")
            else:
                reason = (url.message or "not archived").removeprefix("failed: ")
                lines.append(f"- Not archived: {url.url}: {reason}")
        if not lines:
            lines.append("No http(s) URL found in this issue's title or body: nothing archived.")
        return "\n".join([*lines, "", marker(taken.repo, taken.number)])


def labels_for(taken: TakenIssue) -> list[str]:
    """archived, duplicate and failed, as the issue's URLs went (failed: none found)."""
    found = {LABELS[u.state] for u in taken.urls if u.state in LABELS}
    return sorted(found) if taken.urls else ["failed"]


def github_token() -> str:
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise NewsvaultError(
            "intake needs a GitHub token that may comment on, label and close the issues: "
            "set GITHUB_TOKEN"
        )
    return token


def ensure_intake_jobs(store: Store, settings: Settings, *, now: int) -> None:
    """An `intake` job for each repository of intake.github, none for those taken out."""
    wanted = [f"github:{repo}" for repo in settings["intake.github"]]
    store.jobs.ensure("intake", wanted, due=now, now=now)
    store.jobs.retire("intake", wanted, now=now)


async def run_intake_job(store: Store, settings: Settings, job: Job) -> IntakeReport:
    """One pass of a leased `intake` job (the watch daemon's): its URLs queued as
    submissions for the workers; due again soon while issues wait for them, at GitHub's
    reset after a rate limit, else after intake.interval."""
    repo = job.target.removeprefix("github:")
    interval = duration_ms(settings["intake.interval"], "intake.interval")
    try:
        token = github_token()
        async with ApiClient(settings.fetch_options()) as api:
            github = GitHub(api, settings["intake.github_api"], token)
            report = await Intake(store, github, settings).run(repo)
    except NewsvaultError as exc:
        store.jobs.fail(job, str(exc), retry_at=_now() + interval)
        return IntakeReport(repo, problem=str(exc))
    if report.until is not None:
        due = to_ms(report.until)
    elif report.waiting:
        due = _now() + SOON_MS
    else:
        due = _now() + interval
    store.jobs.finish(job, now=_now(), next_due=due)
    return report


def intake_github(archive: Archive, repo: str) -> IntakeReport:
    """`newsvault intake github OWNER/REPO`: one pass over the repository's open issues,
    their URLs archived at once (a second pass answers those that waited for another
    issue's), then the markdown written."""
    if not REPO_NAME.fullmatch(repo):
        raise NewsvaultError(f"{repo!r} is not a repository; write OWNER/REPO")
    token = github_token()
    store = archive.store(durable=True)  # what readers are told is archived must stay so
    try:
        report = asyncio.run(_intake_now(archive, store, repo, token))
        catch_up(archive, store)
    finally:
        store.close()
    return report


async def _intake_now(archive: Archive, store: Store, repo: str, token: str) -> IntakeReport:
    settings = archive.settings
    rules = archive_rules(archive)
    writer = capture_writer(archive, store)
    try:
        async with (
            Fetcher(settings.fetch_options()) as fetcher,
            ApiClient(settings.fetch_options()) as api,
        ):

            async def archive_now(submission_id: int) -> None:
                await archive_submission(fetcher, store, writer, rules, submission_id)

            github = GitHub(api, settings["intake.github_api"], token)
            intake = Intake(store, github, settings, archive_now=archive_now, new_issues=10**9)
            report = await intake.run(repo)
            if report.waiting and report.problem is None:
                again = await intake.run(repo)
                again.answered = report.answered + again.answered
                report = again
    finally:
        writer.close()
    return report


async def archive_submission(
    fetcher: Fetcher, store: Store, writer: CaptureWriter, rules: RuleSet, submission_id: int
) -> PageReport | None:
    """Archive one submission now, as a worker would (its job is then done); None when it
    was archived, or given up, already."""
    submission = store.submissions.get(submission_id)
    if submission is None or submission.status in ("done", "failed"):
        return None
    store.submissions.set(submission.id, "running", now=_now())
    report = await archive_url(fetcher, store, writer, rules, submission.url)
    if report.article is None:
        store.submissions.set(submission.id, "failed", now=_now(), message=report.outcome)
    else:
        store.submissions.set(
            submission.id, "done", now=_now(), message=report.outcome,
            article_id=report.article.id,
        )  # fmt: skip
    store.jobs.settle([], [("submission", str(submission.id), None)], now=_now())
    return report


def _now() -> int:
    return to_ms(time.time())
