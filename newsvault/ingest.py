"""What follows storing: the stories stage over what was stored, then the publishers.

Every way articles come in (a feed's poll, a page archived on request, a re-check, the
`watch` daemon's jobs) ends here. Each step holds its archive lock for its own length only,
so two processes storing at once take turns at it instead of failing.

`catch_up` writes whatever is missing, at a cost that grows with the archive: for one-shot
commands and a watcher starting (what a killed process stored but never wrote). `publish`
tells the publishers what a batch changed, at a cost that grows with the change: for the
watcher's every batch.
"""

from __future__ import annotations

from newsvault.archive import Archive
from newsvault.publish.changes import Change
from newsvault.publish.markdown import PublishResult, publish_markdown
from newsvault.publish.publishers import publish_changes, publishers_for
from newsvault.publish.site import build_site
from newsvault.store import Store
from newsvault.stories.process import process_pending


def catch_up(archive: Archive, store: Store, *, site: bool = False) -> PublishResult:
    """Group and index what was stored, then write the markdown files it lacks (and, with
    `site`, bring the static site up to date)."""
    with archive.lock("stories"):
        process_pending(store)
    with archive.lock("publish"):
        result = publish_markdown(
            store,
            archive.root,
            list_size=archive.settings["publish.list_size"],
            only_missing=True,
        )
        if site:
            build_site(store, archive.root, archive.settings, archive.sources())
    return result


def publish(archive: Archive, store: Store, change: Change, *, site: bool | None) -> dict[str, str]:
    """Group and index what was stored, then bring each publisher's output up to date with
    `change` (the site: when built before, or `site` True): publisher -> one-line summary."""
    with archive.lock("stories"):
        process_pending(store)
    with archive.lock("publish"):
        return publish_changes(store, change, publishers_for(archive, site=site))
