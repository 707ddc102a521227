"""What follows storing: the images mirrored, the stories stage over what was stored, then
the publishers.

Every way articles come in (a feed's poll, a page archived on request, a re-check, the
`watch` daemon's jobs) ends here. Each step holds its archive lock for its own length only,
so two processes storing at once take turns at it instead of failing.

`catch_up` writes whatever is missing, at a cost that grows with the archive: for one-shot
commands and a watcher starting (what a killed process stored but never wrote). `publish`
tells the publishers what a batch changed, at a cost that grows with the change: for the
watcher's every batch. `mirror_due` and `mirror_stored` fetch the images of what was stored
(publish/images.py) before it is published, so that its first published copy points at them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable

from newsvault.archive import Archive
from newsvault.fetch.client import Fetcher
from newsvault.publish.changes import Change
from newsvault.publish.checksums import publishing
from newsvault.publish.images import MirrorReport, image_links, mirror_articles
from newsvault.publish.markdown import (
    PublishResult,
    publish_markdown,
    publish_markdown_changes,
)
from newsvault.store import Store
from newsvault.store.jobs import owner_name
from newsvault.stories.process import process_pending

IMAGE_LEASE_MS = 10 * 60_000  # image jobs taken by a one-shot command


def catch_up(
    archive: Archive, store: Store, *, site: bool = False, rewrite: Collection[int] = ()
) -> PublishResult:
    """Group and index what was stored, then write the markdown files it lacks and those of
    the articles in `rewrite` (an image of theirs mirrored since they were written), and,
    with `site`, bring the static site up to date."""
    with archive.lock("stories"):
        process_pending(store)
    images = image_links(archive)
    list_size = archive.settings["publish.list_size"]
    with publishing(archive):
        result = publish_markdown(
            store, archive.root, list_size=list_size, only_missing=True, images=images
        )
        if rewrite:
            changed = Change(articles=set(rewrite))
            again = publish_markdown_changes(
                store, archive.root, changed, list_size=list_size, images=images
            )
            result.written += again.written
            result.unchanged -= min(result.unchanged, again.written)
        if site:
            from newsvault.publish.site import build_site  # jinja2 and the site: when asked

            build_site(store, archive.root, archive.settings, archive.sources())
    return result


def publish(archive: Archive, store: Store, change: Change, *, site: bool | None) -> dict[str, str]:
    """Group and index what was stored, then bring each publisher's output up to date with
    `change` (the site: when built before, or `site` True): publisher -> one-line summary."""
    with archive.lock("stories"):
        process_pending(store)
    from newsvault.publish.publishers import publish_changes, publishers_for  # jinja2: here only

    with publishing(archive):
        return publish_changes(store, change, publishers_for(archive, site=site))


def mirror_due(
    archive: Archive,
    store: Store,
    *,
    now: int,
    limit: int = 1000,
    on_done: Callable[[], None] | None = None,
) -> MirrorReport:
    """The image jobs that are due (the articles stored with images, by this process or one
    killed before it mirrored them), as leased jobs: each image fetched once into media/."""
    owner = owner_name(f"images-{id(store)}")
    jobs = store.jobs.claim(owner, now=now, lease_ms=IMAGE_LEASE_MS, limit=limit, kinds=["image"])
    if not jobs:
        return MirrorReport()
    try:
        report = _mirror(archive, store, [int(job.target) for job in jobs], on_done)
        store.jobs.settle([(job, None) for job in jobs], [], now=now)
    finally:
        store.jobs.release(owner)  # anything not finished goes back as it was
    return report


def mirror_stored(
    archive: Archive,
    store: Store,
    article_ids: Iterable[int],
    *,
    now: int,
    on_done: Callable[[], None] | None = None,
) -> MirrorReport:
    """The images of these articles, now (someone waits for them), and their image jobs
    done (one a worker holds is left to it)."""
    ids = sorted(set(article_ids))
    if not ids:
        return MirrorReport()
    report = _mirror(archive, store, ids, on_done)
    store.jobs.settle([], [("image", str(i), None) for i in ids], now=now)
    return report


def _mirror(
    archive: Archive, store: Store, ids: list[int], on_done: Callable[[], None] | None
) -> MirrorReport:
    links = image_links(archive)

    async def run() -> MirrorReport:
        async with Fetcher(archive.settings.fetch_options()) as fetcher:
            return await mirror_articles(
                fetcher, store, archive.root, ids,
                max_bytes=archive.settings["publish.media_max_bytes"],
                policy_of=links.policy, on_done=on_done,
            )  # fmt: skip

    return asyncio.run(run())
