"""Extraction health: is each source still archived well?

Three checks, counted per source in the store's `health` table (newsvault/store/health.py)
by the ingest code, one call per page and per poll:

- `rule_missed`: a page matched a site rule, but the rule's body selectors found nothing and
  the generic extractor ran instead (the site changed its layout). A problem after
  `watch.health_misses` such pages in a row.
- `extraction_failed`: a page held no article. A problem after `watch.health_failures` such
  pages in a row with none extracted between.
- `silent_feed`: the feed answered (200 or 304) but brought no new item. A problem once no
  new item came for `watch.silent_after`, counted from the last poll that brought one (or,
  for a feed that never did, from the first poll that did not). A poll that failed says
  nothing either way: failing sources are reported on their own.

`problems()` is what `newsvault status`, `sources list` and the app's /status page show;
`log_problems()` is for a long-running process (the `watch` daemon) to log them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from newsvault.errors import NoArticle, describe
from newsvault.extract import Extraction
from newsvault.models import ms_to_iso, to_ms
from newsvault.settings import Settings, duration_ms
from newsvault.store import Store
from newsvault.store.health import Outcome, Streak

log = logging.getLogger(__name__)

RULE_MISSED, EXTRACTION_FAILED, SILENT_FEED = "rule_missed", "extraction_failed", "silent_feed"
_DETAIL_CHARS = 200
_THRESHOLDS = {RULE_MISSED: "watch.health_misses", EXTRACTION_FAILED: "watch.health_failures"}
_MESSAGES = {
    RULE_MISSED: "{source}: site rule {detail} missed on {count} pages in a row since {since}; "
    "the site may have changed its layout, see rules/ (`newsvault rules test`)",
    EXTRACTION_FAILED: "{source}: no article extracted from {count} pages in a row since "
    "{since} (last: {detail}); the site may have changed, a site rule in rules/ may help",
    SILENT_FEED: "{source}: the feed answered but brought no new item for {span} (since "
    "{since}; {polls} since then)",
}


@dataclass(frozen=True)
class Problem:
    source: str  # the source's slug
    check: str  # rule_missed | extraction_failed | silent_feed
    count: int  # bad outcomes in a row (pages, or polls that brought nothing new)
    since: int  # ms since the epoch: the first of them (silent feed: the last new item)
    last: int  # ms since the epoch: the latest of them
    detail: str | None  # the rule's file (rule_missed), the last reason (extraction_failed)
    message: str  # one line for people

    @property
    def summary(self) -> str:
        """A few words, for a table cell."""
        if self.check == RULE_MISSED:
            return f"rule {self.detail or ''} missed {self.count}× in a row"
        if self.check == EXTRACTION_FAILED:
            return f"no article {self.count}× in a row"
        return f"no new item since {_minute(self.since)[:10]}"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "check": self.check,
            "count": self.count,
            "since": ms_to_iso(self.since),
            "last": ms_to_iso(self.last),
            "detail": self.detail,
            "message": self.message,
        }


def note_page(
    store: Store,
    source_slug: str,
    extraction_or_error: Extraction | BaseException,
    *,
    now: int | None = None,
) -> None:
    """Count what came of one page of `source_slug`: an article (with or without its site
    rule) or the exception extraction raised (NoArticle, or anything else)."""
    store.health.note_many(page_outcomes(source_slug, extraction_or_error), now=_now(now))


def page_outcomes(
    source_slug: str, extraction_or_error: Extraction | BaseException
) -> list[Outcome]:
    """What note_page counts of one page, for a caller that stores a batch's at once."""
    found = extraction_or_error
    if isinstance(found, Extraction):
        outcomes = [Outcome(source_slug, EXTRACTION_FAILED, True)]
        if found.rule is not None:
            outcomes.append(Outcome(source_slug, RULE_MISSED, not found.rule_missed, found.rule))
        return outcomes
    reason = str(found) if isinstance(found, NoArticle) else f"failed: {describe(found)}"
    return [Outcome(source_slug, EXTRACTION_FAILED, False, reason[:_DETAIL_CHARS])]


def note_poll(store: Store, source_slug: str, new_items: int, ok: bool, now: int) -> None:
    """Count one poll of `source_slug`'s feed: `ok` when the feed answered (not modified
    included), with `new_items` new articles. A failed poll counts for nothing here."""
    if ok:
        store.health.note(source_slug, SILENT_FEED, new_items > 0, now=now)


def problems(store: Store, settings: Settings, now: int) -> list[Problem]:
    """The sources past a threshold, the longest-standing problem first."""
    found = []
    for streak in store.health.failing():
        problem = _problem(streak, settings, now)
        if problem is not None:
            found.append(problem)
    return sorted(found, key=lambda p: (p.since, p.source, p.check))


def by_source(found: list[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = defaultdict(list)
    for problem in found:
        grouped[problem.source].append(problem)
    return dict(grouped)


def log_problems(
    store: Store,
    settings: Settings,
    *,
    now: int,
    logged: set[tuple[str, str]] | None = None,
) -> list[Problem]:
    """Log each problem as one warning line, and return them all. With `logged` (kept by the
    caller from one call to the next), only problems not logged before are, and those that
    went away are logged as over; `logged` is updated."""
    found = problems(store, settings, now)
    current = {(p.source, p.check): p for p in found}
    for problem in found:
        if logged is None or (problem.source, problem.check) not in logged:
            log.warning("%s", problem.message)
    if logged is not None:
        for source, check in sorted(logged - current.keys()):
            log.warning("%s: %s is over", source, check.replace("_", " "))
        logged.clear()
        logged.update(current)
    return found


def _problem(streak: Streak, settings: Settings, now: int) -> Problem | None:
    last = now if streak.last_bad is None else streak.last_bad
    since = last if streak.since is None else streak.since
    if streak.check == SILENT_FEED:
        since = since if streak.last_good is None else streak.last_good
        due = now - since >= duration_ms(settings["watch.silent_after"], "watch.silent_after")
    else:
        due = streak.bad >= settings[_THRESHOLDS[streak.check]]
    if not due:
        return None
    message = _MESSAGES[streak.check].format(
        source=streak.source, detail=streak.detail, count=streak.bad, since=_minute(since),
        span=_span(now - since), polls=_count(streak.bad, "poll"),
    )  # fmt: skip
    return Problem(streak.source, streak.check, streak.bad, since, last, streak.detail, message)


def _now(now: int | None) -> int:
    return to_ms(time.time()) if now is None else now


def _minute(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(ms: int) -> str:
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms >= size:
            return _count(ms // size, unit)
    return "under a minute"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
