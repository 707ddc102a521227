"""The job table: queued work, taken by workers under leases.

A worker *claims* due jobs: one statement marks them with its name and a lease expiry, so
two workers never take the same job, and a job whose worker died is due again once its lease
runs out; a worker still at a job extends its lease. On PostgreSQL the claim skips rows
another claimer has locked (FOR UPDATE SKIP LOCKED), so claimers on many machines never wait
for each other. Finishing, failing and rescheduling check the lease: a worker that lost its lease
(it stalled past the expiry and another took the job) changes nothing. Every call is one
short transaction; no lock is held while a job runs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, select, text, update

from newsvault.models import Job
from newsvault.store.engine import writing
from newsvault.store.schema import jobs

_CLAIM = """
UPDATE jobs SET lease_owner = :owner, lease_until = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM jobs
    WHERE finished IS NULL AND due <= :now AND (lease_until IS NULL OR lease_until < :now)
    {kinds}
    ORDER BY due, id
    LIMIT :limit
    {skip_locked}
)
RETURNING id, kind, target, due, attempts, last_error, lease_owner, lease_until, finished
"""


class JobQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, kind: str, target: str, due: int, *, now: int) -> None:
        """Make (kind, target) due at `due`, or earlier if it already is; a finished job of
        the same kind and target is taken up again."""
        with writing(self.engine) as conn:
            enqueue(conn, kind, target, due, now=now)

    def ensure(self, kind: str, targets: Iterable[str], *, due: int, now: int) -> int:
        """A job of `kind` for each target that has none, due at `due`, and one finished
        taken up again; jobs that exist keep their due time. How many were added."""
        wanted = sorted(set(targets))
        with writing(self.engine) as conn:
            have = {
                target: finished
                for target, finished in conn.execute(
                    select(jobs.c.target, jobs.c.finished).where(jobs.c.kind == kind)
                )
            }
            added = [t for t in wanted if t not in have or have[t] is not None]
            for target in added:
                enqueue(conn, kind, target, due, now=now)
        return len(added)

    def retire(self, kind: str, keep: Iterable[str], *, now: int) -> int:
        """Finish the unleased jobs of `kind` whose target is not in `keep` (a source no
        longer followed): how many."""
        with writing(self.engine) as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.kind == kind, jobs.c.finished.is_(None))
                .where(jobs.c.target.not_in(sorted(set(keep))), jobs.c.lease_owner.is_(None))
                .values(finished=now)
            )
        return result.rowcount

    def next_due(self, kinds: Iterable[str] = ()) -> int | None:
        """When the next unfinished job of these kinds (all: none given) can be claimed:
        when it falls due, or when the lease on it runs out."""
        claimable = case(
            (and_(jobs.c.lease_until.is_not(None), jobs.c.lease_until > jobs.c.due),
             jobs.c.lease_until),
            else_=jobs.c.due,
        )  # fmt: skip
        query = select(func.min(claimable)).where(jobs.c.finished.is_(None))
        if names := sorted(set(kinds)):
            query = query.where(jobs.c.kind.in_(names))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def settle(
        self,
        finished: list[tuple[Job, int | None]],
        rescheduled: list[tuple[str, str, int | None]],
        *,
        now: int,
    ) -> None:
        """In one transaction: `finish` each leased job of `finished`; and set when each
        (kind, target, due) of `rescheduled` is next due (None: finished), unless a worker
        holds it, for work done outside the queue (a re-check asked for by hand)."""
        with writing(self.engine) as conn:
            for job, next_due in finished:
                conn.execute(update(jobs).where(_held(job)).values(**_done(now, next_due)))
            for kind, target, due in rescheduled:
                change = {"finished": now} if due is None else {"due": due, "finished": None}
                conn.execute(
                    update(jobs)
                    .where(jobs.c.kind == kind, jobs.c.target == target)
                    .where(jobs.c.lease_owner.is_(None))
                    .values(**change)
                )

    def claim(
        self, owner: str, *, now: int, lease_ms: int, limit: int, kinds: Iterable[str] = ()
    ) -> list[Job]:
        """Due jobs, oldest due first, now leased to `owner` until now + lease_ms."""
        names = sorted(set(kinds))
        params: dict[str, Any] = {
            "owner": owner, "until": now + lease_ms, "now": now, "limit": limit,
        }  # fmt: skip
        params.update({f"kind{n}": kind for n, kind in enumerate(names)})
        statement = _CLAIM.format(
            kinds=(
                "AND kind IN (" + ", ".join(f":kind{n}" for n in range(len(names))) + ")"
                if names
                else ""
            ),
            skip_locked="FOR UPDATE SKIP LOCKED" if self.engine.dialect.name != "sqlite" else "",
        )
        with writing(self.engine) as conn:
            rows = conn.execute(text(statement), params).all()
        return sorted((Job(**row._asdict()) for row in rows), key=lambda j: (j.due, j.id))

    def finish(self, job: Job, *, now: int, next_due: int | None = None) -> bool:
        """Done: finished for good, or due again at `next_due` (a recurring job). False when
        the lease was lost meanwhile."""
        return self._update_held(job, _done(now, next_due))

    def fail(self, job: Job, error: str, *, retry_at: int | None) -> bool:
        """Failed this time: due again at `retry_at`, or given up (finished) when None."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": error}
        if retry_at is None:
            values["finished"] = job.lease_until or job.due
        else:
            values["due"] = retry_at
        return self._update_held(job, values)

    def extend(self, held: Iterable[Job], *, until: int) -> list[Job]:
        """Lengthen the leases of jobs a worker is still at to `until` (each Job given its new
        expiry, which finishing it checks): the jobs whose lease was lost meanwhile."""
        lost = []
        with writing(self.engine) as conn:
            for job in held:
                if conn.execute(update(jobs).where(_held(job)).values(lease_until=until)).rowcount:
                    job.lease_until = until
                else:
                    lost.append(job)
        return lost

    def release(self, owner: str) -> int:
        """Give back every job `owner` holds, due as they were (a worker stopping)."""
        with writing(self.engine) as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.lease_owner == owner, jobs.c.finished.is_(None))
                .values(lease_owner=None, lease_until=None, attempts=jobs.c.attempts - 1)
            )
        return result.rowcount

    def owners(self) -> set[str]:
        """Everyone holding a lease on an unfinished job now."""
        query = (
            select(jobs.c.lease_owner)
            .distinct()
            .where(jobs.c.lease_owner.is_not(None), jobs.c.finished.is_(None))
        )
        with self.engine.connect() as conn:
            return {owner for (owner,) in conn.execute(query)}

    def get(self, kind: str, target: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(jobs).where(jobs.c.kind == kind, jobs.c.target == target)
            ).first()
        return _job(row) if row else None

    def pending(self, *, now: int) -> dict[str, tuple[int, int]]:
        """Per kind: (jobs due now, jobs waiting for later) among those not finished."""
        due_now = func.sum(case((jobs.c.due <= now, 1), else_=0))
        query = (
            select(jobs.c.kind, due_now, func.count())
            .where(jobs.c.finished.is_(None))
            .group_by(jobs.c.kind)
        )
        with self.engine.connect() as conn:
            return {kind: (int(d or 0), int(n) - int(d or 0)) for kind, d, n in conn.execute(query)}

    def failing(self, *, limit: int = 50) -> list[Job]:
        """Jobs whose last attempt failed, the most attempts first."""
        query = (
            select(jobs)
            .where(jobs.c.last_error.is_not(None))
            .order_by(jobs.c.attempts.desc(), jobs.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query)]

    def _update_held(self, job: Job, values: dict[str, Any]) -> bool:
        with writing(self.engine) as conn:
            return bool(conn.execute(update(jobs).where(_held(job)).values(**values)).rowcount)


def owner_name(role: str) -> str:
    """A lease owner's name: host, process id (a watcher taking back a dead process's jobs
    reads them), then what it is."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def _done(now: int, next_due: int | None) -> dict[str, Any]:
    """A leased job's row once its work is done: finished, or due again at `next_due`."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": None}
    if next_due is None:
        values["finished"] = now
    else:
        values.update(due=next_due, attempts=0)
    return values


def _held(job: Job) -> Any:
    """The job's row while `job`'s lease still holds it."""
    return and_(
        jobs.c.id == job.id,
        jobs.c.lease_owner == job.lease_owner,
        jobs.c.lease_until == job.lease_until,
    )


def enqueue(conn: Connection, kind: str, target: str, due: int, *, now: int) -> None:
    """`JobQueue.enqueue` inside a transaction of the caller's (with the rows it creates)."""
    conn.execute(
        text(
            "INSERT INTO jobs (kind, target, due, created) VALUES (:kind, :target, :due, :now) "
            "ON CONFLICT (kind, target) DO UPDATE SET "
            "due = CASE WHEN jobs.finished IS NOT NULL OR excluded.due < jobs.due "
            "THEN excluded.due ELSE jobs.due END, finished = NULL"
        ),
        {"kind": kind, "target": target, "due": due, "now": now},
    )


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        target=row.target,
        due=row.due,
        attempts=row.attempts,
        last_error=row.last_error,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        finished=row.finished,
    )
