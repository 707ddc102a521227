"""URLs people submitted for archiving: a row each, shown to them, and a `submission` job
for the workers (the `watch` daemon, or `serve`'s own) that archive them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from newsvault.store.engine import writing
from newsvault.store.jobs import enqueue
from newsvault.store.schema import submissions

STATUSES = ("queued", "running", "done", "failed")


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


class SubmissionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self, url: str, client: str, *, now: int, article_id: int | None = None, capacity: int
    ) -> Submission | None:
        """A new submission, queued with its job, or done at once when `article_id` says
        the page is archived already. None when `capacity` submissions are waiting."""
        status, message = ("done", "already archived") if article_id else ("queued", None)
        with writing(self.engine) as conn:  # counted and added in one write: the bound holds
            if article_id is None and _waiting(conn) >= capacity:
                return None
            row = dict(url=url, client=client, status=status, article_id=article_id)
            row.update(message=message, created=now, updated=now)
            key = conn.execute(submissions.insert().values(**row)).inserted_primary_key
            assert key is not None, "a one-row insert() has the new row's key"
            new_id = key[0]
            if article_id is None:
                enqueue(conn, "submission", str(new_id), now, now=now)
        return Submission(int(new_id), url, status, article_id, message)

    def get(self, submission_id: int) -> Submission | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(submissions).where(submissions.c.id == submission_id)).first()
        if row is None:
            return None
        return Submission(row.id, row.url, row.status, row.article_id, row.message)

    def waiting(self) -> int:
        """Submissions queued or being archived."""
        with self.engine.connect() as conn:
            return _waiting(conn)

    def set(
        self,
        submission_id: int,
        status: str,
        *,
        now: int,
        message: str | None = None,
        article_id: int | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "message": message, "updated": now}
        if article_id is not None:
            values["article_id"] = article_id
        with writing(self.engine) as conn:
            conn.execute(
                submissions.update().where(submissions.c.id == submission_id).values(**values)
            )


def _waiting(conn: Any) -> int:
    query = select(func.count()).where(submissions.c.status.in_(("queued", "running")))
    return int(conn.execute(query).scalar() or 0)


def requeue(engine: Engine, *, now: int) -> int:
    """A job for each submission still waiting: those a server from before the jobs stage
    (or one killed between the row and its job) left without one."""
    with writing(engine) as conn:
        ids = conn.execute(
            select(submissions.c.id).where(submissions.c.status.in_(("queued", "running")))
        ).scalars()
        waiting = list(ids)
        for submission_id in waiting:
            enqueue(conn, "submission", str(submission_id), now, now=now)
    return len(waiting)
