"""The models every stage shares: one class per concept."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

# Articles are dated in UTC+8 on list pages; times are kept as milliseconds since the epoch.
CHINA_TIME = dt.timezone(dt.timedelta(hours=8))


def ms_to_iso(ms: int | None) -> str | None:
    """A time as ISO 8601 in UTC+8, the zone the archive's days are counted in (the site's
    lists, `--since`/`--until`, `export`): the same day everywhere."""
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, CHINA_TIME).isoformat(timespec="seconds")


def to_ms(moment: dt.datetime | float) -> int:
    if isinstance(moment, dt.datetime):
        return round(moment.timestamp() * 1000)
    return round(moment * 1000)


# Names the site and the markdown archive use for themselves in folders keyed by a source's
# slug: site/feeds/all.atom (every source) beside site/feeds/<slug>.atom, deleted.atom and
# edited.atom to come there, index pages (sources/index.html). No source may take one.
ALL_SOURCES = "all"
RESERVED_SLUGS = frozenset({ALL_SOURCES, "deleted", "edited", "index"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot name a source (the end of a one-line error), or None when it can."""
    if not SLUG.match(slug):
        return "use lowercase letters, digits, '-' and '_'"
    if slug in RESERVED_SLUGS:
        reserved = ", ".join(sorted(RESERVED_SLUGS))
        return f"the site uses that name for itself (reserved: {reserved}); choose another slug"
    return None


def category_path(text: str) -> str | None:
    """A source's category as kept: folder names joined by "/" ("World / Asia" -> "World/Asia"),
    empty ones dropped; None when nothing is left."""
    parts = [" ".join(part.split()) for part in text.split("/")]
    return "/".join(part for part in parts if part) or None


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows ("Asia/Taipei")."""
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


# What published copies point an article's images at, unless its source says otherwise:
# a copy in media/ (readers' browsers never ask the origin sites, and the pictures outlive them).
DEFAULT_IMAGES = "mirror"


@dataclass(frozen=True)
class Source:
    """A followed source as newsvault.toml describes it."""

    slug: str
    name: str
    url: str
    fetch_full: str = "auto"  # fetch the article page for summary-only items: auto|always|never
    images: str = DEFAULT_IMAGES  # what published copies point images at: keep|proxy|mirror
    interval: int | None = None  # ms between `watch` polls; None: watch.interval
    timezone: str | None = None  # the IANA zone the outlet dates in; None: UTC+8 (China)
    category: str | None = None  # the feed reader's folder, nested ones as "A/B" (OPML)
    home: str | None = None  # the outlet's web site (OPML's htmlUrl), where known


@dataclass
class Article:
    source: str  # the source's slug
    url: str
    title: str
    html: str  # sanitized content HTML with absolute links
    text: str
    published: int  # ms since the epoch, UTC
    fetched: int
    key: str = ""  # identity within the source: guid, else canonical URL
    author: str | None = None
    origin: str | None = None
    lang: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)  # src, caption[, credit]
    capture_id: int | None = None
    id: int | None = None  # database id
    number: int | None = None  # the markdown archive's per-source id: articles/<slug>/<number>.md
    copy_of: int | None = None  # the article this one reprints (near-duplicate), if any
    story_id: int | None = None
    removed: int | None = None  # ms when an administrator took it down; no longer published
    feed_hash: str | None = None  # content hash of the item as its feed gave it, if from one
    aliases: tuple[str, ...] = ()  # the link as given, where cleaning changed it: found by it
    editor: str | None = None  # the editor the page names ("责任编辑：…"): not an author
    photographer: str | None = None  # everyone the page credits for its pictures

    @property
    def path(self) -> str:
        return f"articles/{self.source}/{self.number}.md"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "number": self.number,
            "path": self.path,
            "url": self.url,
            "title": self.title,
            "author": self.author,
            "published": ms_to_iso(self.published),
            "fetched": ms_to_iso(self.fetched),
            "text": self.text,
            "html": self.html,
            "images": self.images,
            "origin": self.origin,
            "editor": self.editor,
            "photographer": self.photographer,
            "lang": self.lang,
            "capture": self.capture_id,
            "copy_of": self.copy_of,
            "story": self.story_id,
        }

    def images_json(self) -> str:
        return json.dumps(self.images, ensure_ascii=False)


@dataclass
class Job:
    """One unit of work: its kind ("poll", "page", "recheck", "submission", "image"), what it
    works on (a source slug, a URL, an article id), when it is due, and the lease of the
    worker that holds it, if any (times in ms since the epoch)."""

    id: int
    kind: str
    target: str
    due: int
    attempts: int = 0
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: int | None = None
    finished: int | None = None
