"""Extraction health: per source and check, how many bad outcomes came in a row.

A check is one of CHECKS: `rule_missed` (a page of the source matched a site rule whose body
selectors found nothing), `extraction_failed` (a page held no article) and `silent_feed` (a
poll that answered but brought no new item). Each row keeps the bad outcomes in a row, when
the first of them came (`since`), and when the last bad and the last good one came. A good
outcome sets the count back to 0. One statement per outcome; a batch is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text

from newsvault.store.engine import writing
from newsvault.store.schema import health

CHECKS = ("rule_missed", "extraction_failed", "silent_feed")

_BAD = text(
    "INSERT INTO health (source, kind, bad, since, last_bad, detail) "
    "VALUES (:source, :kind, 1, :now, :now, :detail) "
    "ON CONFLICT (source, kind) DO UPDATE SET bad = health.bad + 1, "
    "since = COALESCE(health.since, excluded.since), last_bad = excluded.last_bad, "
    "detail = COALESCE(excluded.detail, health.detail)"
)
_GOOD = text(
    "INSERT INTO health (source, kind, bad, last_good) VALUES (:source, :kind, 0, :now) "
    "ON CONFLICT (source, kind) DO UPDATE SET bad = 0, since = NULL, "
    "last_good = excluded.last_good"
)


@dataclass(frozen=True)
class Outcome:
    """One page's or one poll's outcome for one check."""

    source: str
    check: str
    ok: bool
    detail: str | None = None  # what the bad outcome was: the rule's file, the reason


@dataclass(frozen=True)
class Streak:
    """A (source, check) row: `bad` outcomes in a row since `since` (None when bad is 0)."""

    source: str
    check: str
    bad: int
    since: int | None
    last_bad: int | None
    last_good: int | None
    detail: str | None


class HealthStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def note(
        self, source: str, check: str, ok: bool, *, now: int, detail: str | None = None
    ) -> None:
        """One outcome."""
        self.note_many([Outcome(source, check, ok, detail)], now=now)

    def note_many(self, outcomes: Iterable[Outcome], *, now: int) -> None:
        """Outcomes in the order they came, all at `now`, in one transaction."""
        rows = list(outcomes)
        unknown = {o.check for o in rows} - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown health check {sorted(unknown)[0]!r}")
        with writing(self.engine) as conn:
            for o in rows:
                params = {"source": o.source, "kind": o.check, "now": now, "detail": o.detail}
                conn.execute(_GOOD if o.ok else _BAD, params)

    def failing(self) -> list[Streak]:
        """Every (source, check) whose last outcome was bad, the longest-standing first."""
        query = select(health).where(health.c.bad > 0).order_by(health.c.since, health.c.source)
        with self.engine.connect() as conn:
            return [_streak(row) for row in conn.execute(query)]

    def get(self, source: str, check: str) -> Streak | None:
        query = select(health).where(health.c.source == source, health.c.kind == check)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _streak(row) if row else None


def _streak(row: Any) -> Streak:
    return Streak(
        source=row.source, check=row.kind, bad=row.bad, since=row.since,
        last_bad=row.last_bad, last_good=row.last_good, detail=row.detail,
    )  # fmt: skip
