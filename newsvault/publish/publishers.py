"""Publishers behind one interface, told what changed: each brings its output up to date with
a `Change` at a cost that follows the change, not the archive.

    publishers = publishers_for(archive)            # markdown; the site once it was built
    summaries = publish_changes(store, change, publishers)   # {"markdown": "2 written, 1 list"}

The caller holds the archive's `publish` lock, and has run the stories stage over what it
stored (stories.process.process_pending): the site shows each article's story.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from jinja2 import Environment

from newsvault.archive import Archive
from newsvault.errors import NewsvaultError, describe, one_line
from newsvault.publish.changes import Change
from newsvault.publish.images import ImageLinks, image_links
from newsvault.publish.manifest import Manifest
from newsvault.publish.markdown import publish_markdown_changes
from newsvault.publish.site import templates
from newsvault.publish.site_update import SiteUpdate
from newsvault.store import Store

log = logging.getLogger(__name__)


class Publisher(Protocol):
    name: str

    def publish(self, store: Store, change: Change) -> str:
        """Bring this output up to date with `change`; a short one-line summary."""
        ...


class MarkdownPublisher:
    """articles/<slug>/<number>.md of the changed articles and lists/<name>.md of their
    sources (the same bytes `publish_markdown` writes with the same `images`)."""

    name = "markdown"

    def __init__(
        self, root: Path, *, list_size: int = 300, images: ImageLinks | None = None
    ) -> None:
        self.root = root
        self.list_size = list_size
        self.images = images

    def publish(self, store: Store, change: Change) -> str:
        result = publish_markdown_changes(
            store, self.root, change, list_size=self.list_size, images=self.images
        )
        lists = result.lists_written
        return f"{result.written} written, {lists} list{'' if lists == 1 else 's'}"


class SitePublisher:
    """The pages of site/ that show the change (publish/site_update.py); the whole site when
    it has no state to start from (never built, or built by an earlier version) or its
    settings changed. Keep one for as long as the process runs: it follows the manifest
    instead of reading it again each time."""

    name = "site"

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.manifest = Manifest(archive.site_dir)
        self._templates: dict[tuple[str, str], Environment] = {}

    def publish(self, store: Store, change: Change) -> str:
        if not change:
            return "nothing changed"
        archive, settings = self.archive, self.archive.settings
        key = (settings["site.language"], settings["site.title"])
        if key not in self._templates:
            self._templates = {key: templates(*key)}
        update = SiteUpdate(
            store, archive.root, settings, archive.sources(), self.manifest, self._templates[key]
        )
        report = update.update(change)
        done = f"{report.written} written, {report.unchanged} unchanged"
        return f"full build: {done}" if update.full_build else done


def publishers_for(archive: Archive, *, site: bool | None = None) -> list[Publisher]:
    """The markdown publisher, and the site's when site/ was built before (`site` None), or
    when asked for (True: built in full the first time); never with `site` False."""
    found: list[Publisher] = [
        MarkdownPublisher(
            archive.root,
            list_size=archive.settings["publish.list_size"],
            images=image_links(archive),
        )
    ]
    if site or (site is None and (archive.site_dir / "index.html").is_file()):
        found.append(SitePublisher(archive))
    return found


def publish_changes(store: Store, change: Change, publishers: list[Publisher]) -> dict[str, str]:
    """Run each publisher on `change`: name -> its summary. One that fails is logged and its
    summary is the error, in one line; it never stops the others."""
    summaries: dict[str, str] = {}
    for publisher in publishers:
        try:
            summaries[publisher.name] = publisher.publish(store, change)
        except Exception as exc:
            log.exception("publishing %s failed", publisher.name)
            reason = one_line(str(exc)) if isinstance(exc, NewsvaultError) else describe(exc)
            summaries[publisher.name] = f"failed: {reason}"
    return summaries
