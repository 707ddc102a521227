"""Save Page Now requests: one row per article and web archive, from the article archived
last when saving began (a "start" row) on, with what came of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from newsvault.models import ms_to_iso
from newsvault.store.engine import writing
from newsvault.store.schema import articles, saves

STATES = ("start", "submitted", "done", "failed")


@dataclass(frozen=True)
class Save:
    id: int
    service: str
    article_id: int
    url: str
    state: str  # submitted | done | failed
    job_id: str | None
    snapshot: str | None  # the new copy's address, once done
    message: str | None  # why it failed
    requested: int
    updated: int

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service, "article": self.article_id, "url": self.url,
            "state": self.state, "snapshot": self.snapshot, "message": self.message,
            "requested": ms_to_iso(self.requested), "updated": ms_to_iso(self.updated),
        }  # fmt: skip


class SaveStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def begin(self, service: str, *, now: int) -> None:
        """Mark where saving to `service` begins (again): after the article archived last
        now. What was archived while saving was off is not asked for."""
        with writing(self.engine) as conn:
            last = conn.execute(select(func.max(articles.c.id))).scalar() or 0
            reached = conn.execute(
                select(func.max(saves.c.article_id)).where(saves.c.service == service)
            ).scalar()
            if reached is not None and reached >= last:
                return
            conn.execute(
                insert(saves).values(
                    service=service, article_id=last, url="", state="start", requested=now,
                    updated=now,
                )
            )  # fmt: skip

    def next_article(self, service: str) -> tuple[int, str] | None:
        """(id, URL) of the first article archived since the last one asked for."""
        with self.engine.connect() as conn:
            after = conn.execute(
                select(func.max(saves.c.article_id)).where(saves.c.service == service)
            ).scalar()
            if after is None:
                return None
            row = conn.execute(
                select(articles.c.id, articles.c.url)
                .where(articles.c.id > after, articles.c.removed.is_(None))
                .order_by(articles.c.id)
                .limit(1)
            ).first()
        return (row.id, row.url) if row else None

    def submitted(self, service: str) -> Save | None:
        """The oldest request whose outcome is still to be asked for."""
        query = (
            select(saves)
            .where(saves.c.service == service, saves.c.state == "submitted")
            .order_by(saves.c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Save(**row._asdict()) if row else None

    def add(
        self, service: str, article_id: int, url: str, state: str, *, now: int,
        job_id: str | None = None, message: str | None = None,
    ) -> None:  # fmt: skip
        with writing(self.engine) as conn:
            conn.execute(
                insert(saves).values(
                    service=service, article_id=article_id, url=url, state=state,
                    job_id=job_id, message=message, requested=now, updated=now,
                )
            )  # fmt: skip

    def settle(
        self, save_id: int, state: str, *, now: int, snapshot: str | None = None,
        message: str | None = None,
    ) -> None:  # fmt: skip
        with writing(self.engine) as conn:
            conn.execute(
                update(saves)
                .where(saves.c.id == save_id)
                .values(state=state, snapshot=snapshot, message=message, updated=now)
            )

    def recent(self, *, limit: int = 50) -> list[Save]:
        """The latest requests, failures first."""
        failed = saves.c.state != "failed"
        query = (
            select(saves)
            .where(saves.c.state != "start")
            .order_by(failed, saves.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [Save(**row._asdict()) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        query = (
            select(saves.c.state, func.count())
            .where(saves.c.state != "start")
            .group_by(saves.c.state)
        )
        with self.engine.connect() as conn:
            return {state: int(n) for state, n in conn.execute(query)}
