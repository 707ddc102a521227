"""What re-checks found: each article's status (live, gone, unreachable) with its reason and
times, every change of status, and the versions of its page.

An article's page is compared with the last page seen of it, never with a feed's summary:
for an article whose text came from its feed, the first page seen is kept as an uncounted
version, the baseline later pages are compared with.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, or_, select, true, update

from newsvault.models import Article, ms_to_iso
from newsvault.store.engine import writing
from newsvault.store.schema import article_status, articles, sources, status_events, versions


@dataclass
class CheckState:
    article_id: int
    status: str
    reason: str | None
    last_seen: int | None
    gone_since: int | None
    checked: int
    checks: int
    failures: int
    capture_id: int | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class Version:
    seen: int
    title: str
    html: str
    origin: str  # "feed", "page" or "recovered" (a copy a web archive kept)
    counted: bool  # an edit; False for the baseline of a feed article's page, and copies
    recovered_from: str | None = None  # the web archive ("web.archive.org", "archive.today")
    recovered_url: str | None = None  # the copy's address there
    recovered_at: int | None = None  # ms since the epoch: when the archive captured it

    @property
    def mark(self) -> str | None:
        """ "recovered from <where>, <when>" for a copy a web archive kept; None otherwise."""
        if self.recovered_from is None:
            return None
        return f"recovered from {self.recovered_from}, {ms_to_iso(self.recovered_at)}"


@dataclass(frozen=True)
class Watched:
    """What readers are shown of an article's re-checks: whether it is gone (since when, and
    why) and its edits."""

    gone: bool
    gone_since: int | None  # ms since the epoch; None unless gone
    reason: str | None  # why it is called gone; None unless gone
    edits: int  # counted versions
    versions: int  # every version after the archived one, baselines included
    last_edit: int | None  # ms since the epoch, of the newest counted version
    last_version: int | None  # and of the newest version


@dataclass(frozen=True)
class Finding:
    """One re-check's outcome, to record."""

    status: str
    reason: str | None
    capture_id: int | None = None
    etag: str | None = None
    last_modified: str | None = None


class WatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def state(self, article_id: int) -> CheckState | None:
        query = select(article_status).where(article_status.c.article_id == article_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return CheckState(**row._asdict()) if row else None

    def states(self, article_ids: list[int]) -> dict[int, CheckState]:
        query = select(article_status).where(article_status.c.article_id.in_(article_ids))
        with self.engine.connect() as conn:
            return {row.article_id: CheckState(**row._asdict()) for row in conn.execute(query)}

    def record_many(
        self, findings: list[tuple[int, Finding]], *, now: int
    ) -> list[tuple[str | None, str]]:
        """Store each re-check's finding, in one transaction; returns (status before, status
        now) for each. A change of status is kept as an event."""
        with writing(self.engine) as conn:
            return [_record(conn, article_id, finding, now) for article_id, finding in findings]

    def fields(self, article: Article) -> dict[str, Any]:
        """What `show` and the API add to an article: status, gone_reason, last_seen,
        gone_since (ISO 8601, UTC), versions (its edits and the copies recovered from web
        archives) and recovered (each such copy: where it came from and when). An article
        never re-checked is live, last seen when it was archived."""
        state = self.state(article.id or 0)
        copies = self.recovered(article.id or 0)
        return {
            "status": state.status if state else "live",
            "gone_reason": state.reason if state and state.status == "gone" else None,
            "last_seen": ms_to_iso(
                state.last_seen if state and state.last_seen else article.fetched
            ),
            "gone_since": ms_to_iso(state.gone_since) if state else None,
            "versions": self.edit_count(article.id or 0) + len(copies),
            "recovered": [
                {
                    "from": copy.recovered_from,
                    "url": copy.recovered_url,
                    "captured": ms_to_iso(copy.recovered_at),
                    "recovered": ms_to_iso(copy.seen),
                    "title": copy.title,
                    "mark": copy.mark,
                }
                for copy in copies
            ],
        }

    def recovered(self, article_id: int) -> list[Version]:
        """The copies of the article recovered from web archives, oldest first."""
        return [v for v in self.versions(article_id) if v.origin == "recovered"]

    def edit_count(self, article_id: int) -> int:
        """Edits: versions after the first archived one (a page's baseline is no edit)."""
        query = select(func.count()).where(
            versions.c.article_id == article_id, versions.c.counted == 1
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def versions(self, article_id: int) -> list[Version]:
        """Every version after the first archived one, oldest first (baselines included)."""
        query = (
            select(versions.c.seen, versions.c.title, versions.c.html, versions.c.origin,
                   versions.c.counted, versions.c.recovered_from, versions.c.recovered_url,
                   versions.c.recovered_at)
            .where(versions.c.article_id == article_id)
            .order_by(versions.c.seen, versions.c.id)
        )  # fmt: skip
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Version(r.seen, r.title, r.html, r.origin, bool(r.counted), r.recovered_from,
                    r.recovered_url, r.recovered_at)
            for r in rows
        ]  # fmt: skip

    def add_page_version(
        self, article: Article, title: str, html: str, digest: str, *, seen: int,
        capture_id: int | None, counted: bool,
    ) -> bool:  # fmt: skip
        """A version of the article's page; False when this content was kept before."""
        return self._add_version(
            article.id or 0, title, html, digest, seen=seen, capture_id=capture_id,
            origin="page", counted=counted,
        )  # fmt: skip

    def add_recovered_version(
        self, article_id: int, title: str, html: str, digest: str, *, seen: int,
        capture_id: int | None, service: str, copy_url: str, captured: int,
    ) -> bool:  # fmt: skip
        """A copy of the article that a web archive kept (`service`, at `copy_url`, captured
        then): a version of its own, never an edit and never in place of what newsvault
        captured. False when this content was kept before."""
        return self._add_version(
            article_id, title, html, digest, seen=seen, capture_id=capture_id,
            origin="recovered", counted=False, recovered_from=service, recovered_url=copy_url,
            recovered_at=captured,
        )  # fmt: skip

    def _add_version(
        self, article_id: int, title: str, html: str, digest: str, *, seen: int,
        capture_id: int | None, origin: str, counted: bool, **recovered: Any,
    ) -> bool:  # fmt: skip
        with writing(self.engine) as conn:
            known = conn.execute(
                select(versions.c.id).where(
                    versions.c.article_id == article_id, versions.c.content_hash == digest
                )
            ).first()
            if known is not None:
                return False
            conn.execute(
                insert(versions).values(
                    article_id=article_id, seen=seen, title=title, html=html,
                    content_hash=digest, capture_id=capture_id, origin=origin,
                    counted=int(counted), **recovered,
                )
            )  # fmt: skip
        return True

    def listed(self, status: str, *, limit: int = 100) -> list[tuple[int, CheckState]]:
        """Articles with this status, the most recent change first."""
        query = (
            select(article_status)
            .where(article_status.c.status == status)
            .order_by(article_status.c.gone_since.desc(), article_status.c.checked.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(row.article_id, CheckState(**row._asdict())) for row in conn.execute(query)]

    def edited(self, *, limit: int = 100) -> list[tuple[int, int]]:
        """(article id, edits) of articles with counted versions, the latest edit first."""
        query = (
            select(versions.c.article_id, func.count(), func.max(versions.c.seen))
            .where(versions.c.counted == 1)
            .group_by(versions.c.article_id)
            .order_by(func.max(versions.c.seen).desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(article_id, n) for article_id, n, _ in conn.execute(query)]

    def article_ids(self, source: str | None = None) -> list[int]:
        query = select(articles.c.id).where(articles.c.removed.is_(None)).order_by(articles.c.id)
        if source is not None:
            query = query.join(sources).where(sources.c.slug == source)
        with self.engine.connect() as conn:
            return [article_id for (article_id,) in conn.execute(query)]

    def summaries(self, ids: Collection[int] | None = None) -> dict[int, Watched]:
        """What readers are shown of every article that is gone or was edited, by article id,
        in one query (the site builder's, for all articles at once); or of those among `ids`,
        a few hundred per query through the indexes (a publish of what changed)."""
        if ids is not None:
            wanted, found = sorted(ids), {}
            for start in range(0, len(wanted), 400):
                found.update(self._summaries(wanted[start : start + 400]))
            return found
        return self._summaries(None)

    def _summaries(self, ids: list[int] | None) -> dict[int, Watched]:
        gone = article_status.c.status == "gone"
        counts = (
            select(
                versions.c.article_id,
                func.count().label("versions"),
                func.sum(versions.c.counted).label("edits"),
                func.max(versions.c.seen).label("last_version"),
                func.max(case((versions.c.counted == 1, versions.c.seen))).label("last_edit"),
            )
            .where(true() if ids is None else versions.c.article_id.in_(ids))
            .group_by(versions.c.article_id)
            .subquery()
        )
        joined = articles.outerjoin(
            article_status, article_status.c.article_id == articles.c.id
        ).outerjoin(counts, counts.c.article_id == articles.c.id)
        query = (
            select(
                articles.c.id, gone.label("gone"), article_status.c.gone_since,
                article_status.c.reason, counts.c.edits, counts.c.versions,
                counts.c.last_edit, counts.c.last_version,
            )
            .select_from(joined)
            .where(articles.c.removed.is_(None), or_(gone, counts.c.edits > 0))
            .where(true() if ids is None else articles.c.id.in_(ids))
        )  # fmt: skip
        with self.engine.connect() as conn:
            return {
                r.id: Watched(
                    gone=bool(r.gone),
                    gone_since=r.gone_since if r.gone else None,
                    reason=r.reason if r.gone else None,
                    edits=int(r.edits or 0),
                    versions=int(r.versions or 0),
                    last_edit=r.last_edit,
                    last_version=r.last_version,
                )
                for r in conn.execute(query)
            }

    def counts(self) -> dict[str, int]:
        """Re-checked articles per status."""
        query = select(article_status.c.status, func.count()).group_by(article_status.c.status)
        with self.engine.connect() as conn:
            return {status: int(n) for status, n in conn.execute(query)}


def _record(
    conn: Connection, article_id: int, finding: Finding, now: int
) -> tuple[str | None, str]:
    row = conn.execute(
        select(article_status).where(article_status.c.article_id == article_id)
    ).first()
    before = row.status if row else None
    values: dict[str, Any] = {
        "status": finding.status,
        "reason": finding.reason,
        "checked": now,
        "checks": (row.checks if row else 0) + 1,
        "failures": 0,
    }
    if finding.status == "unreachable":
        values["failures"] = (row.failures if row else 0) + 1
        if row is not None and before == "gone":  # an unreachable site: nothing new of a gone page
            values.update(status="gone", reason=row.reason)
    if finding.status == "live":
        values.update(last_seen=now, gone_since=None)
    elif finding.status == "gone" and (row is None or row.gone_since is None):
        values["gone_since"] = now
    if finding.capture_id is not None:
        values["capture_id"] = finding.capture_id
    if finding.etag is not None or finding.last_modified is not None:
        values.update(etag=finding.etag, last_modified=finding.last_modified)
    if row is None:
        values.setdefault("last_seen", None)
        conn.execute(insert(article_status).values(article_id=article_id, **values))
    else:
        conn.execute(
            update(article_status).where(article_status.c.article_id == article_id).values(**values)
        )
    if values["status"] != before:
        conn.execute(
            insert(status_events).values(
                article_id=article_id, at=now, status=values["status"],
                reason=values["reason"],
            )
        )  # fmt: skip
    return before, values["status"]
