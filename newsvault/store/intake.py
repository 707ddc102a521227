"""Intake's memory: each issue taken in, the step its answer has reached, and each URL taken
from it with what came of it. A step is written down before it is taken and again once it
is done, so a process killed between the two knows, when it starts again, which steps may
have been taken and must be looked for before being taken again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from newsvault.store.engine import writing
from newsvault.store.schema import intake_issues, intake_urls, submissions

# An issue's answer, step by step: its URLs taken (collected), the comment being posted
# (commenting: it may be there already), posted (commented), the labels added (labelled),
# the issue closed (closed: answered).
ISSUE_STATES = ("collected", "commenting", "commented", "labelled", "closed")
# A URL: waiting for its submission, submitted, or settled: done (archived), known (archived
# before: a duplicate), failed (it could not be), refused (not an address to archive).
URL_STATES = ("waiting", "submitted", "done", "known", "failed", "refused")
SETTLED = frozenset({"done", "known", "failed", "refused"})


@dataclass(frozen=True)
class TakenUrl:
    position: int
    url: str
    state: str
    submission_id: int | None
    article_id: int | None
    message: str | None


@dataclass(frozen=True)
class TakenIssue:
    repo: str
    number: int
    state: str
    author: str | None
    comment_id: int | None
    labels: list[str]
    urls: list[TakenUrl]

    @property
    def settled(self) -> bool:
        return all(u.state in SETTLED for u in self.urls)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo, "issue": self.number, "state": self.state,
            "comment": self.comment_id, "labels": self.labels,
            "urls": [
                {"url": u.url, "state": u.state, "article": u.article_id, "message": u.message}
                for u in self.urls
            ],
        }  # fmt: skip


class IntakeStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issue(self, repo: str, number: int) -> TakenIssue | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(intake_issues).where(
                    intake_issues.c.repo == repo, intake_issues.c.number == number
                )
            ).first()
            if row is None:
                return None
            urls = conn.execute(
                select(intake_urls)
                .where(intake_urls.c.repo == repo, intake_urls.c.number == number)
                .order_by(intake_urls.c.position)
            ).all()
        return TakenIssue(
            row.repo, row.number, row.state, row.author, row.comment_id,
            json.loads(row.labels or "[]"),
            [TakenUrl(u.position, u.url, u.state, u.submission_id, u.article_id, u.message)
             for u in urls],
        )  # fmt: skip

    def take(
        self, repo: str, number: int, author: str | None, urls: list[TakenUrl], *, now: int
    ) -> None:
        """The issue and the URLs taken from it, in one transaction."""
        with writing(self.engine) as conn:
            conn.execute(
                insert(intake_issues).values(
                    repo=repo, number=number, state="collected", author=author,
                    created=now, updated=now,
                )
            )  # fmt: skip
            for taken in urls:
                conn.execute(
                    insert(intake_urls).values(
                        repo=repo, number=number, position=taken.position, url=taken.url,
                        state=taken.state, article_id=taken.article_id, message=taken.message,
                    )
                )  # fmt: skip

    def set_url(self, repo: str, number: int, position: int, **values: Any) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                update(intake_urls)
                .where(intake_urls.c.repo == repo, intake_urls.c.number == number)
                .where(intake_urls.c.position == position)
                .values(**values)
            )

    def set_issue(self, repo: str, number: int, state: str, *, now: int, **values: Any) -> None:
        if "labels" in values:
            values["labels"] = json.dumps(values["labels"])
        with writing(self.engine) as conn:
            conn.execute(
                update(intake_issues)
                .where(intake_issues.c.repo == repo, intake_issues.c.number == number)
                .values(state=state, updated=now, **values)
            )

    def waiting_for(self, url: str, repo: str, number: int) -> bool:
        """Whether another issue waits for the same URL to be archived (this one then waits
        its turn, to be answered with that copy)."""
        query = (
            select(intake_urls.c.number)
            .where(intake_urls.c.url == url, intake_urls.c.state.in_(("waiting", "submitted")))
            .where((intake_urls.c.repo != repo) | (intake_urls.c.number != number))
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def submission_of(self, client: str, url: str) -> int | None:
        """The submission made for this client and URL, if one was (by a process killed
        before it wrote down the submission's id)."""
        query = (
            select(submissions.c.id)
            .where(submissions.c.client == client, submissions.c.url == url)
            .order_by(submissions.c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def issues(self, repo: str | None = None, *, limit: int = 100) -> list[TakenIssue]:
        query = select(intake_issues.c.repo, intake_issues.c.number).order_by(
            intake_issues.c.updated.desc()
        )
        if repo is not None:
            query = query.where(intake_issues.c.repo == repo)
        with self.engine.connect() as conn:
            keys = conn.execute(query.limit(limit)).all()
        return [issue for r, n in keys if (issue := self.issue(r, n)) is not None]
