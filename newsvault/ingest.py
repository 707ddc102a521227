"""What follows storing: the stories stage over what was stored, then the publishers.

Every way articles come in (a feed's poll, a page archived on request, a re-check, the
`watch` daemon's jobs) ends here. Each step holds its archive lock for its own length only,
so two processes storing at once take turns at it instead of failing.
"""

from __future__ import annotations

from newsvault.archive import Archive
from newsvault.publish.markdown import PublishResult, publish_markdown
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
