"""Recovery queued on its own, where recover.auto is on: a `recover` job when a re-check
finds an article gone, and when a page answers 404, 410 or 451 as it is archived (a feed
item's page, a submitted URL). Off by default: asking a web archive for a URL tells it what
the archive looks for."""

from __future__ import annotations

from collections.abc import Iterable

from newsvault.errors import FetchError, HTTPStatusError
from newsvault.store import Store

# A page that failed as it was archived is looked for a minute later, once the feed item it
# belongs to is stored (the job then finds the article by its URL).
AFTER_FAILED_PAGE_MS = 60_000
FOR_GOOD = frozenset({404, 410, 451})  # the statuses a re-check calls gone (watch/verdict.py)


def queue_recovery(store: Store, targets: Iterable[int | str], *, now: int, delay: int = 0) -> int:
    """A `recover` job for each target (an article id, or a URL), where recover.auto is on
    (store.recover_auto); how many were queued."""
    if not store.recover_auto:
        return 0
    queued = 0
    for target in targets:
        store.jobs.enqueue("recover", str(target), now + delay, now=now)
        queued += 1
    return queued


def queue_after_failure(store: Store, url: str, error: FetchError, *, now: int) -> int:
    """Recovery for a page that failed for good as it was archived."""
    if isinstance(error, HTTPStatusError) and error.status in FOR_GOOD:
        return queue_recovery(store, [url], now=now, delay=AFTER_FAILED_PAGE_MS)
    return 0
