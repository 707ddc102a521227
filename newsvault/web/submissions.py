"""URL submissions: validated and rate-limited on the way in, archived one at a time by a
worker thread, their state kept in the database so a restarted server picks up where it was.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from newsvault.archive import Archive
from newsvault.errors import ArchiveError, NewsvaultError, describe, one_line
from newsvault.fetch.guard import is_allowed
from newsvault.normalize import canonical_url
from newsvault.pages import archive_pages, check_url
from newsvault.store import Store
from newsvault.store.schema import submissions

MAX_URL = 2048
STATUSES = ("queued", "running", "done", "failed")
FULL_RETRY = 60  # seconds a client is told to wait when the queue is full

log = logging.getLogger(__name__)


class Refused(NewsvaultError):
    """A submission not accepted: the message says why and what to do."""

    def __init__(self, message: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


@dataclass
class Submission:
    id: int
    url: str
    status: str
    article_id: int | None
    message: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "status": self.status,
            "article_id": self.article_id,
            "message": self.message,
        }


def now() -> int:
    return int(time.time() * 1000)


def validate_url(url: str, *, allow_private: bool) -> str:
    """The URL to archive, or Refused: no non-web schemes, no private or local addresses."""
    url = (url or "").strip()
    if not url:
        raise Refused("give the address of a page to archive")
    if len(url) > MAX_URL:
        raise Refused(f"the URL is longer than {MAX_URL} characters")
    try:
        url = check_url(url)  # http(s) with a host, as `newsvault archive` asks
    except NewsvaultError as exc:
        raise Refused(str(exc)) from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise Refused("URLs with a user name or password are not archived")
    try:
        port = parts.port or 443
    except ValueError:
        raise Refused(f"{url!r} has no valid port number") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(f"{parts.hostname!r} does not resolve; check the address") from None
    for info in infos:
        address = str(ipaddress.ip_address(info[4][0].split("%")[0]))
        if not is_allowed(address, allow_private=allow_private, allowed=frozenset()):
            raise Refused(f"{parts.hostname} is a private or local address; not archived")
    return url


class RateLimit:
    """At most `per_minute` submissions per client in any 60 seconds."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        moment = time.monotonic()
        with self._lock:
            seen = self._seen[client]
            while seen and seen[0] <= moment - 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                wait = int(seen[0] + 60 - moment) + 1
                raise Refused(f"too many submissions; try again in {wait} s", 429, wait)
            seen.append(moment)


class Queue:
    """Submissions in the database; `submit` answers at once, the worker archives. At most
    `capacity` are queued or running at a time."""

    def __init__(
        self,
        archive: Archive,
        store: Store,
        after_archiving: Callable[[], None],
        capacity: int = 100,
    ) -> None:
        self.archive = archive
        self.store = store
        self.after_archiving = after_archiving
        self.capacity = capacity
        self._submitting = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with store.engine.begin() as conn:  # a server killed mid-job left it "running"
            conn.execute(
                submissions.update()
                .where(submissions.c.status == "running")
                .values(status="queued", updated=now())
            )

    def submit(self, url: str, client: str) -> Submission:
        existing = self.store.article_by_url(url, canonical_url(url))
        status, article_id = ("done", existing.id) if existing else ("queued", None)
        message = "already archived" if existing else None
        with self._submitting:  # count and insert as one step: the bound holds
            if not existing and self.store.submissions_waiting() >= self.capacity:
                raise Refused(
                    f"the archiving queue is full ({self.capacity} pages waiting); "
                    f"try again in {FULL_RETRY} s",
                    503,
                    FULL_RETRY,
                )
            with self.store.engine.begin() as conn:
                new_id = conn.execute(
                    submissions.insert().values(
                        url=url,
                        client=client,
                        status=status,
                        article_id=article_id,
                        message=message,
                        created=now(),
                        updated=now(),
                    )
                ).inserted_primary_key[0]
        self._wake.set()
        return Submission(new_id, url, status, article_id, message)

    def get(self, submission_id: int) -> Submission | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(submissions).where(submissions.c.id == submission_id)).first()
        if row is None:
            return None
        return Submission(row.id, row.url, row.status, row.article_id, row.message)

    # -- the worker ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="submissions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=30)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._next()
                if job is None:
                    self._wake.wait(timeout=2)
                    self._wake.clear()
                    continue
                self._run(job)
            except Exception:  # the worker must outlive any one job or database hiccup
                log.exception("submission worker: unexpected error; going on")
                self._stop.wait(2)

    def _run(self, job: Submission) -> None:
        self._set(job.id, "running")
        try:
            report = archive_pages(self.archive, [job.url])[0]
        except ArchiveError as exc:  # another process holds the archive: try again later
            self._set(job.id, "queued", str(exc))
            self._stop.wait(2)
            return
        except NewsvaultError as exc:
            self._set(job.id, "failed", str(exc))
            return
        except Exception as exc:
            log.exception("submission %d (%s) failed", job.id, job.url)
            self._set(job.id, "failed", one_line(f"internal error: {describe(exc)}"))
            return
        if report.article is None:
            self._set(job.id, "failed", report.outcome)
            return
        try:
            self.after_archiving()
        except Exception:  # archived all the same; the site catches up on the next rebuild
            log.exception("submission %d: rebuilding the site failed", job.id)
        self._set(job.id, "done", report.outcome, report.article.id)

    def _next(self) -> Submission | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(submissions)
                .where(submissions.c.status == "queued")
                .order_by(submissions.c.id)
                .limit(1)
            ).first()
        return Submission(row.id, row.url, row.status, None, None) if row else None

    def _set(
        self, job_id: int, status: str, message: str | None = None, article_id: int | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "message": message, "updated": now()}
        if article_id is not None:
            values["article_id"] = article_id
        with self.store.engine.begin() as conn:
            conn.execute(submissions.update().where(submissions.c.id == job_id).values(**values))
