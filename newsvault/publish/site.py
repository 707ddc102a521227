"""The static website: `site/` rebuilt from the database, rewriting only pages whose inputs
changed.

    site/index.html                  latest articles and stories, the sources
    site/sources/<slug>/index.html   a source's newest articles; <n>.html: older ones, 100 each
    site/days/<yyyy-mm-dd>.html      one page per day (UTC+8)
    site/stories/<id>.html           one page per story told by several articles
    site/articles/<slug>/<n>.html    the reading view of one article (with a notice when it was
                                     deleted at its source or edited)
    site/articles/<slug>/<n>/versions.html  an edited article's versions, each change marked
    site/deleted/index.html          articles deleted at their source, newest first
    site/edited/index.html           articles edited after they were archived, latest edit first
    site/captures/<id>.warc.gz       the raw capture an article came from (one WARC record)
    site/feeds/all.atom, <slug>.atom full-text Atom feeds; deleted.atom, edited.atom the same
                                     for the two lists above
    site/media/...                   mirrored images used by pages

Every page is named with the digest of what it shows in the manifest (publish/manifest.py);
a page whose digest is unchanged is not rendered again. `site/.state.json` keeps what the
pages show of the whole archive (articles per day and per source, the newest stories, ...),
so that a publish of a change (publish/site_update.py) reads only the rows the change touches.
Pages carry a strict Content-Security-Policy, use no JavaScript and work offline from the
folder as well as from any static host.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import os
import shutil
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, PackageLoader, select_autoescape

from newsvault import diffs
from newsvault.days import date_only
from newsvault.files import write_atomic, write_if_changed
from newsvault.links import media_path
from newsvault.models import ALL_SOURCES, CHINA_TIME, Source
from newsvault.normalize import text_and_images
from newsvault.publish import atom, favicon
from newsvault.publish.i18n import words, zone_name
from newsvault.publish.images import ImageLinks, mirrored
from newsvault.publish.manifest import Manifest
from newsvault.publish.reader import reader_html, with_credits
from newsvault.settings import Settings
from newsvault.store import Store
from newsvault.store.publishing import Listed, Listings
from newsvault.store.publishing import ListingRow as Row
from newsvault.store.watch import Watched
from newsvault.watch.history import Step, summary_only, versions_and_diffs

SITE_VERSION = "4"  # bump when templates change in a way every page must show
PAGE_SIZE = 100
FEED_SIZE = 50
LATEST = 50  # articles on the home page
STORY_LIST = 300  # stories on stories/index.html
HOME_STORIES = 10
FIRST_NUMBER = 1048574  # the markdown archive's first number in a source (counts down)
STATE = ".state.json"
STATE_VERSION = 2
CONTENT_CSP = (
    "default-src 'none'; img-src 'self' https: http: data:; style-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox allow-downloads"
)  # allow-downloads: the page's own WARC link downloads (a click on it, nothing else)
META_CSP = CONTENT_CSP.removesuffix("; sandbox allow-downloads").replace(
    "; frame-ancestors 'none'", ""
)
# For static hosts that read a _headers file (Netlify, Cloudflare Pages): real headers,
# which a <meta> cannot give (sandbox, frame-ancestors, nosniff).
HEADERS_FILE = f"""/*
  Content-Security-Policy: {CONTENT_CSP}
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
/media/*
  Content-Security-Policy: default-src 'none'; sandbox
/captures/*
  Content-Disposition: attachment
  Content-Type: application/warc
"""
WATCH_LISTS = ("deleted", "edited")  # site/<name>/index.html and feeds/<name>.atom
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # fmt: skip


@dataclass
class SiteReport:
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    pages: int = 0
    articles: int = 0


@dataclass
class StoryPage:
    id: int
    title: str
    first_seen: int
    last_seen: int
    articles: list[Row] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.articles)

    @property
    def outlets(self) -> int:
        return len({row.source for row in self.articles})

    @property
    def summary(self) -> Told:
        return Told(self.id, self.title, self.size, self.last_seen, self.outlets)


@dataclass(frozen=True)
class Told:
    """A story as the lists of stories show it."""

    id: int
    title: str
    size: int
    last_seen: int
    outlets: int


@dataclass(frozen=True)
class Zone:
    """The zone an outlet's times are shown in, and what the interface calls it."""

    tz: dt.tzinfo
    name: str


@dataclass
class SourceShown:
    """What the site shows of one source besides its newest articles: the name and image
    policy its pages were made with, how many articles it has, which of its pages of 100
    exist (`buckets`), and the articles in its feed."""

    name: str
    images: str
    count: int
    buckets: list[int]
    feed: list[int]
    timezone: str | None = None


@dataclass
class SiteState:
    """What the pages show of the whole archive, kept in site/.state.json: `config`, the
    settings every page was made with; per source; `removed` articles per source (counted
    in the stored totals, never shown); articles per day; the newest stories; how many
    articles are deleted and edited; the ids of every story told by several outlets (each
    story page links to the one before and after it). A full build writes it from every row,
    a publish of a change brings it up to date from what the change touched."""

    config: str
    sources: dict[str, SourceShown]
    removed: dict[str, int]
    days: dict[str, int]
    stories: list[Told]
    watch: dict[str, int]
    told: list[int] = field(default_factory=list)
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SiteState | None:
        """The state written by this version; None for any other (or a damaged file)."""
        try:
            data = json.loads(text)
            if data.get("version") != STATE_VERSION:
                return None
            return cls(
                config=data["config"],
                sources={slug: SourceShown(**shown) for slug, shown in data["sources"].items()},
                removed=data["removed"],
                days=data["days"],
                stories=[Told(**story) for story in data["stories"]],
                watch=data["watch"],
                told=data["told"],
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def templates(language: str, site_title: str) -> Environment:
    env = Environment(
        loader=PackageLoader("newsvault.publish", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        iso=_iso, day=day_of, minute=_minute, folded=folded, months=months,
        several_outlets=several_outlets, outlets=outlets, by_name=by_name,
    )  # fmt: skip
    env.globals.update(w=words(language), site_title=site_title, csp=META_CSP, app=False)
    env.globals["all_feed"] = f"feeds/{ALL_SOURCES}.atom"
    env.globals["zone_of"] = lambda slug: Zone(CHINA_TIME, zone_name(None, language))
    return env


def _local(ms: int, zone: Zone | None = None) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, zone.tz if zone else CHINA_TIME)


def _iso(ms: int, zone: Zone | None = None) -> str:
    return _local(ms, zone).isoformat(timespec="seconds")


def day_of(ms: int) -> str:
    return _local(ms).strftime("%Y-%m-%d")


def folded(items: Iterable[Any]) -> list[tuple[Any, list[Any]]]:
    """A list of articles with each one's near-duplicates folded under it: (article, its
    copies in the list). An original is listed where it stands, its copies under it; copies
    of an article the list does not hold, under the oldest of them."""
    items = list(items)
    groups: defaultdict[int, list[Any]] = defaultdict(list)
    for item in items:
        groups[item.copy_of or item.id].append(item)
    shown = []
    for item in items:
        group = groups[item.copy_of or item.id]
        lead = next((i for i in group if i.id == (item.copy_of or item.id)), group[-1])
        if item is lead:
            shown.append((lead, [i for i in group if i is not lead]))
    return shown


def outlets(story: Any) -> int:
    """How many outlets told a story (a Told or StoryPage knows; else from its articles)."""
    known = getattr(story, "outlets", None)
    return known if known is not None else len({a.source for a in story.articles})


def several_outlets(stories: Iterable[Any]) -> list[Any]:
    """The stories told by more than one outlet (two articles of one are not "several")."""
    return [story for story in stories if outlets(story) > 1]


def name_key(name: str) -> tuple[str, str]:
    """How readers expect names ordered: Chinese by pinyin (pypinyin, 重庆 as chong2qing4),
    tones breaking ties, then the name itself; Latin letters as they are, case folded."""
    # imported when first needed: its phrase dictionary takes a quarter second to load, which
    # every command would pay at start-up
    from pypinyin import Style, lazy_pinyin

    return (" ".join(lazy_pinyin(name, style=Style.TONE3)).casefold(), name)


def by_name(source_counts: Iterable[Any], names: dict[str, str]) -> list[tuple[str, str, int]]:
    """(slug, name, articles) of every source (`source_counts` holds those with articles,
    `names` the name of every followed one), ordered by name as readers expect."""
    counted = {row[0]: (row[1], row[2]) for row in source_counts}
    counted.update((slug, (name, 0)) for slug, name in names.items() if slug not in counted)
    found = [(slug, name, count) for slug, (name, count) in counted.items()]
    return sorted(found, key=lambda t: (name_key(t[1]), t[0]))


def months(days: Iterable[tuple[str, int]], w: dict[str, str]) -> list[tuple[str, list]]:
    """Days ("YYYY-MM-DD", count), newest first, grouped by month under its name."""
    grouped: dict[str, list[tuple[str, int]]] = {}
    for day, count in days:
        grouped.setdefault(day[:7], []).append((day, count))
    named = []
    for month, found in grouped.items():
        year, number = int(month[:4]), int(month[5:7])
        name = w["month"].format(year=year, month=number, month_name=MONTH_NAMES[number - 1])
        named.append((name, found))
    return named


def day_span(day: str) -> tuple[int, int]:
    """The times (ms since the epoch) of the day `day_of` names: start <= published < end."""
    start = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=CHINA_TIME)
    ms = (start - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    return ms, ms + 86_400_000


def _minute(ms: int, zone: Zone | None = None) -> str:
    if date_only(ms):  # a bare date: its day, with no invented 00:00
        return day_of(ms)
    return _local(ms, zone).strftime("%Y-%m-%d %H:%M")


def relative_root(path: str) -> str:
    return "../" * path.count("/")


def article_path(row: Row) -> str:
    return f"articles/{row.source}/{row.number}.html"


def versions_path(row: Row) -> str:
    return f"articles/{row.source}/{row.number}/versions.html"


def bucket_of(number: int) -> int:
    """Which of its source's pages of PAGE_SIZE an article is listed on (0: the oldest)."""
    return (FIRST_NUMBER - number) // PAGE_SIZE


def bucket_numbers(bucket: int) -> tuple[int, int]:
    """The lowest and the highest number listed on a source's page `bucket`."""
    highest = FIRST_NUMBER - bucket * PAGE_SIZE
    return highest - PAGE_SIZE + 1, highest


def newest_first(row: Row) -> tuple[int, int]:
    return (-row.published, -row.id)


def neighbours(ordered: list[Any], value: Any) -> tuple[Any | None, Any | None]:
    """The values before and after `value` in the sorted list `ordered` (None at an end)."""
    at = bisect.bisect_left(ordered, value)
    after = at + 1 if at < len(ordered) and ordered[at] == value else at
    return (ordered[at - 1] if at > 0 else None, ordered[after] if after < len(ordered) else None)


class SiteBuilder:
    def __init__(
        self,
        store: Store,
        root: Path,
        settings: Settings,
        followed: list[Source],
        manifest: Manifest | None = None,
        env: Environment | None = None,
    ) -> None:
        """`manifest` and `env` (the templates, for these settings) may be kept by a caller
        that builds again and again."""
        self.store = store
        self.listings = Listings(store.engine)
        self.root = root
        self.out = root / "site"
        self.settings = settings
        self.language = settings["site.language"]
        self.env = env or templates(self.language, settings["site.title"])
        self.images = ImageLinks(
            {s.slug: s.images for s in followed}, settings["publish.image_proxy"]
        )
        self.followed = {s.slug: s.name for s in followed}
        self.timezones = {s.slug: s.timezone for s in followed if s.timezone}
        self.default_zone = Zone(CHINA_TIME, zone_name(None, self.language))
        self.zones = {
            slug: Zone(zoneinfo.ZoneInfo(tz), zone_name(tz, self.language))
            for slug, tz in self.timezones.items()
        }
        self.manifest = manifest or Manifest(self.out)
        self.report = SiteReport()
        self._old: dict[str, str] = {}
        self._new: dict[str, str] = {}
        self._history: dict[int, list[Step]] = {}

    # -- the build ------------------------------------------------------------------------

    def build(self, on_progress: Callable[[int, int], None] | None = None) -> SiteReport:
        self.out.mkdir(parents=True, exist_ok=True)
        self._old = self.manifest.read()
        rows = self.listings.every()
        self.names = self._names()
        self.mirror = mirrored(self.store)
        self.watched = self.store.watch.summaries()
        by_id = {row.id: row for row in rows}
        told = self._stories(rows)
        self.report.articles = len(rows)
        self._static_files()
        self._article_pages(rows, by_id, told, on_progress)
        self._source_pages(rows)
        self._day_pages(rows)
        told_ids = sorted(told)
        for story in told.values():
            self._story_page(story, neighbours(told_ids, story.id))
        newest = [story.summary for story in told.values()][:STORY_LIST]
        self._stories_index(newest)
        self._version_pages(rows)
        watch_counts = self._watch_pages(by_id)
        counts: defaultdict[str, int] = defaultdict(int)
        for row in rows:
            counts[row.source] += 1
        self._home(rows[:LATEST], newest[:HOME_STORIES], counts, watch_counts)
        feeds = self._feeds(rows)
        state = self._state(rows, feeds, newest, watch_counts)
        state.told = told_ids
        self._write_state(state)
        self._delete_stale()
        self.manifest.replace(self._new)
        return self.report

    def _names(self) -> dict[str, str]:
        """Every source's name: those the store holds, and followed ones not yet in it."""
        return self.followed | self.store.source_names()

    def zone_of(self, slug: str) -> Zone:
        return self.zones.get(slug, self.default_zone)

    def config(self) -> str:
        """The digest of the settings every page is made with."""
        keys = ("site.title", "site.base_url", "publish.image_proxy")
        return self._digest([self.settings[key] for key in keys])

    def _state(
        self,
        rows: list[Row],
        feeds: dict[str, list[Row]],
        newest: list[Told],
        watch_counts: dict[str, int],
    ) -> SiteState:
        by_source: defaultdict[str, list[Row]] = defaultdict(list)
        days: defaultdict[str, int] = defaultdict(int)
        for row in rows:
            by_source[row.source].append(row)
            days[day_of(row.published)] += 1
        shown = {
            slug: self._shown(slug, len(found), {bucket_of(r.number) for r in found}, feeds[slug])
            for slug, found in by_source.items()
        }
        totals = self.listings.totals()
        shown_of = {slug: len(found) for slug, found in by_source.items()}
        removed = {s: n - shown_of.get(s, 0) for s, n in totals.items() if n > shown_of.get(s, 0)}
        return SiteState(self.config(), shown, removed, dict(days), newest, watch_counts)

    def _shown(self, slug: str, count: int, buckets: set[int], feed: list[Row]) -> SourceShown:
        name, images = self.names.get(slug, slug), self.images.policy(slug)
        feed_ids = [row.id for row in feed]
        return SourceShown(name, images, count, sorted(buckets), feed_ids, self.timezones.get(slug))

    def _write_state(self, state: SiteState) -> None:
        write_atomic(self.out / STATE, state.to_json())
        self._new[STATE] = "state"

    def page(self, path: str, inputs: Any, render: Callable[[], str | bytes]) -> None:
        """Write site/<path> unless its inputs are those it was last written from."""
        digest = self._digest(inputs)
        if self._fresh(path, digest):
            self._kept(path, digest)
        else:
            self._write(path, digest, render)

    def _digest(self, inputs: Any) -> str:
        payload = json.dumps([SITE_VERSION, self.language, inputs], default=str)
        return hashlib.sha1(payload.encode()).hexdigest()

    def _fresh(self, path: str, digest: str) -> bool:
        return self._old.get(path) == digest and (self.out / path).exists()

    def _kept(self, path: str, digest: str) -> None:
        self._new[path] = digest
        self.report.pages += 1
        self.report.unchanged += 1

    def _write(self, path: str, digest: str, render: Callable[[], str | bytes]) -> None:
        self._new[path] = digest
        self.report.pages += 1
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if write_if_changed(target, render()):
            self.report.written += 1
        else:
            self.report.unchanged += 1

    @property
    def _words(self) -> dict[str, str]:
        """The site's words, as the templates have them (`w`; jinja2 types globals as objects)."""
        return cast(dict[str, str], self.env.globals["w"])

    def render(self, template: str, path: str, **context: Any) -> str:
        return self.env.get_template(template).render(
            root=relative_root(path), sources=self.names, zone_of=self.zone_of, **context
        )

    # -- reading the database ---------------------------------------------------------------

    def _stories(self, rows: list[Row]) -> dict[int, StoryPage]:
        members: defaultdict[int, list[Row]] = defaultdict(list)
        for row in reversed(rows):  # oldest first within a story
            if row.story_id is not None:
                members[row.story_id].append(row)
        return self._told(members)

    def _told(self, members: dict[int, list[Row]]) -> dict[int, StoryPage]:
        """The stories told by several outlets (`members`: each story's articles, oldest
        first), the one seen last first."""
        told = {sid: found for sid, found in members.items() if len({r.source for r in found}) > 1}
        pages = {
            sid: StoryPage(sid, title, told[sid][0].published, told[sid][-1].published, told[sid])
            for sid, title in self.listings.story_titles(told).items()
        }
        return dict(sorted(pages.items(), key=lambda kv: (-kv[1].last_seen, -kv[0])))

    def _contents(self, ids: list[int]) -> Iterable[tuple[int, str]]:
        return self.listings.contents(ids)

    # -- pages --------------------------------------------------------------------------------

    def _static_files(self) -> None:
        css = (Path(__file__).parent / "templates" / "style.css").read_text(encoding="utf-8")
        self.page("style.css", css, lambda: css)
        self.page("_headers", HEADERS_FILE, lambda: HEADERS_FILE)
        self.page("favicon.svg", "icon", favicon.svg)
        self.page("favicon.ico", "icon", favicon.ico)

    def _image_inputs(self, row: Row) -> Any:
        """What a published copy of the article shows of its images besides the row: which
        have a copy in media/, or the proxy they go through."""
        policy = self.images.policy(row.source)
        if policy == "mirror":
            return [policy, [self.mirror.get(src) for src in row.images]]
        if policy == "proxy":
            return [policy, self.settings["publish.image_proxy"]]
        return policy

    def _article_pages(self, rows, by_id, told, on_progress) -> None:
        wanted: dict[int, tuple[str, str, list[Row], Row | None]] = {}
        changed: list[int] = []
        for row in rows:
            path = article_path(row)
            story = told.get(row.story_id) if row.story_id is not None else None
            related = [r for r in story.articles if r.id != row.id][:20] if story else []
            original = by_id.get(row.copy_of) if row.copy_of else None
            inputs = [
                row.__dict__,
                self.names.get(row.source),
                [(r.source, r.number, r.title) for r in related],
                original and (original.source, original.number, original.title),
                self._image_inputs(row),
                self.timezones.get(row.source),
            ]
            watch = self.watched.get(row.id)
            if watch:  # gone or edited; only then, so pages built before re-checks stay valid
                inputs.append((watch.gone, watch.gone_since, watch.reason, watch.edits))
            digest = self._digest(inputs)
            if self._fresh(path, digest):
                self._kept(path, digest)
                self._files_of(row)
            else:
                wanted[row.id] = (path, digest, related, original)
                changed.append(row.id)
        for done, (row_id, html) in enumerate(self._contents(changed), 1):
            path, digest, related, original = wanted[row_id]
            row = by_id[row_id]
            self._write(path, digest, partial(self._article, path, row, html, related, original))
            self._files_of(row)
            if on_progress:
                on_progress(done, len(changed))

    def _article(self, path: str, row: Row, html: str, related, original) -> str:
        mapper = self.images.mapper(row.source, self.mirror, relative_root(path))
        capture = f"{relative_root(path)}captures/{row.capture_id}.warc.gz"
        found = self.store.capture(row.capture_id) if row.capture_id else None
        watch = self.watched.get(row.id)
        shown = {image.src for image in text_and_images(html)[1]}
        return self.render(
            "article.html",
            path,
            article=row,
            body=with_credits(
                reader_html(html, mapper),
                {mapper(src): names for src, names in row.credits.items()},
                self._words["photographer"],
            ),
            # a feed's enclosure or JSON Feed image that the text itself does not show
            more_images=[mapper(src) for src in row.images if src not in shown],
            capture=capture if row.capture_id else None,
            # a feed's article came in its feed's response, not its page's: say which it is
            capture_of_feed=found is not None and found.url != row.url,
            summary_only=summary_only(self.store, row.url, row.capture_id, html),
            related=related,
            original=original,
            watch=watch,
            versions=relative_root(path) + versions_path(row) if watch and watch.edits else None,
        )

    def _files_of(self, row: Row) -> None:
        """What an article page links to besides pages: its capture and mirrored images (a
        page left as it was still shows them: they stay in the manifest)."""
        self._capture(row)
        self._copy_media(self._media_of(row))

    def _media_of(self, row: Row) -> list[str]:
        """The files in media/ an article's published copies show: its images' mirrored
        copies (for a source that mirrors), and those an imported archive links to."""
        linked = [name for src in row.images if (name := media_path(src))]
        if self.images.policy(row.source) == "mirror":
            linked += [found for src in row.images if (found := self.mirror.get(src))]
        return linked

    def _capture(self, row: Row) -> None:
        """The raw response an article came from, as a one-record WARC file (downloaded, never
        rendered: see HEADERS_FILE)."""
        if row.capture_id is None:
            return
        path = f"captures/{row.capture_id}.warc.gz"
        if path in self._new:
            return
        self._new[path] = "capture"
        target = self.out / path
        if target.exists():
            return
        found = self.store.capture(row.capture_id)
        source = self.root / "captures" / found.warc_file if found else None
        if found is None or source is None or not source.exists():
            del self._new[path]
            return
        with open(source, "rb") as fh:
            fh.seek(found.warc_offset)
            record = fh.read(found.warc_length)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, record)
        self.report.written += 1

    def _copy_media(self, names: list[str]) -> None:
        for name in names:
            target = self.out / name
            if not target.exists() and not (self.root / name).is_file():
                continue  # linked by an imported article whose archive came without it
            self._new[name] = "media"
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.root / name, target)
            except OSError:
                shutil.copyfile(self.root / name, target)

    def _source_pages(self, rows: list[Row]) -> None:
        by_source: defaultdict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_source[row.source].append(row)
        for slug, found in by_source.items():
            found.sort(key=lambda r: r.number)  # newest first (numbers count down), as the lists
            buckets: defaultdict[int, list[Row]] = defaultdict(list)
            for row in found:
                buckets[bucket_of(row.number)].append(row)
            self._source(slug, set(buckets), buckets, found[:PAGE_SIZE])

    def _source(
        self,
        slug: str,
        buckets: set[int],
        pages: Mapping[int, Sequence[Row | Listed]],
        newest: Sequence[Row | Listed],
    ) -> None:
        """sources/<slug>/index.html (`newest`) and the pages of `pages`, of the source's
        `buckets` (every page of 100 it has)."""
        pager = [(str(b + 1), f"{b + 1}.html") for b in sorted(buckets, reverse=True)]
        name = self.names.get(slug, slug)
        words = self._words
        for bucket, items in pages.items():
            path = f"sources/{slug}/{bucket + 1}.html"
            # only neighbours: a new page of articles must not rewrite every older one
            nearby = [(name, "index.html")]
            nearby += [(words["newer"], f"{bucket + 2}.html")] if bucket + 1 in buckets else []
            nearby += [(words["older"], f"{bucket}.html")] if bucket - 1 in buckets else []
            self._listing(path, f"{name} ({bucket + 1})", items, nearby, f"feeds/{slug}.atom")
        pager = pager if len(buckets) > 1 else []
        self._listing(f"sources/{slug}/index.html", name, newest, pager, f"feeds/{slug}.atom")

    def _listing(self, path, heading, items, pages, feed=None) -> None:
        listed = [(r.id, r.source, r.number, r.title, r.published, r.copy_of) for r in items]
        inputs = [heading, listed, pages]
        self.page(
            path,
            inputs,
            lambda: self.render(
                "listing.html", path, heading=heading, items=items, pages=pages, feed=feed
            ),
        )

    def _day_pages(self, rows: list[Row]) -> None:
        by_day: defaultdict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_day[day_of(row.published)].append(row)
        days = sorted(by_day)
        for day, items in by_day.items():
            self._day(day, items, days)
        self._days_index({d: len(items) for d, items in by_day.items()})

    def _day(self, day: str, items: list[Any], days: list[str]) -> None:
        """days/<day>.html; `days`: every day with articles, in order (a day's page links to
        the days before and after it)."""
        before, after = neighbours(days, day)
        pages = [(f"← {before}", f"{before}.html")] if before else []
        pages.append((self._words["all_days"], "index.html"))
        pages += [(f"{after} →", f"{after}.html")] if after else []
        self._listing(f"days/{day}.html", day, items, pages)

    def _days_index(self, counts: dict[str, int]) -> None:
        days = sorted(counts.items(), reverse=True)
        path = "days/index.html"
        self.page(path, days, lambda: self.render("days.html", path, days=days))

    def _story_page(self, story: StoryPage, nearby: tuple[int | None, int | None]) -> None:
        """stories/<id>.html: who told the story, when (in each outlet's zone), who first,
        which reports are copies; `nearby`: the stories before and after it, by id."""
        path = f"stories/{story.id}.html"
        zones = self.timezones
        told = [
            (r.id, r.source, r.number, r.title, r.published, r.copy_of, zones.get(r.source))
            for r in story.articles
        ]
        inputs = [story.title, told, nearby]
        members = {r.id: r for r in story.articles}
        render = partial(
            self.render, "story.html", path, story=story, members=members,
            previous=nearby[0], next=nearby[1],
        )  # fmt: skip
        self.page(path, inputs, render)

    def _stories_index(self, newest: list[Told]) -> None:
        path = "stories/index.html"
        inputs = [(s.id, s.title, s.size, s.last_seen, s.outlets) for s in newest]
        self.page(path, inputs, lambda: self.render("stories.html", path, stories=newest))

    def _version_pages(self, rows: list[Row]) -> None:
        for row in rows:
            watch = self.watched.get(row.id)
            if watch is None or not watch.edits:
                continue
            path = versions_path(row)
            inputs = [
                [row.title, row.source, row.number, row.lang, row.content_hash],
                self.names.get(row.source),
                astuple(watch),
                self.timezones.get(row.source),
            ]
            self.page(path, inputs, partial(self._versions_page, path, row, watch))

    def _versions_page(self, path: str, row: Row, watch: Watched) -> str:
        steps: list[tuple[Step, str | None, str | None]] = []
        for step in self._steps(row.id):  # (step, its changes alone, the whole text marked)
            if step.diff is None:
                steps.append((step, None, None))
            else:
                full = diffs.to_html(step.diff)
                steps.append((step, diffs.to_html(diffs.changed_only(step.diff)), full))
        return self.render("versions.html", path, article=row, watch=watch, steps=steps)

    def _steps(self, article_id: int) -> list[Step]:
        """The article's versions with their diffs, read once per build."""
        if article_id not in self._history:
            article = self.store.article(article_id)
            self._history[article_id] = versions_and_diffs(self.store, article) if article else []
        return self._history[article_id]

    def _watch_pages(self, by_id: dict[int, Row]) -> dict[str, int]:
        """The lists of deleted and of edited articles and their feeds; how many each holds."""
        shown = [(by_id[i], watch) for i, watch in self.watched.items() if i in by_id]
        deleted = [item for item in shown if item[1].gone]
        deleted.sort(key=lambda item: (item[1].gone_since or 0, item[0].id), reverse=True)
        edited = [item for item in shown if item[1].edits]
        edited.sort(key=lambda item: (item[1].last_edit or 0, item[0].id), reverse=True)
        self._watch_list("deleted", deleted, lambda w: (w.gone_since, w.reason))
        self._watch_list("edited", edited, lambda w: (w.edits, w.last_edit))
        return {"deleted": len(deleted), "edited": len(edited)}

    def _watch_list(
        self,
        name: str,
        items: list[tuple[Row, Watched]],
        facts: Callable[[Watched], tuple[Any, ...]],
    ) -> None:
        """site/<name>/index.html and feeds/<name>.atom; `facts`: what they show of a Watched."""
        words = self._words
        path, feed, title = f"{name}/index.html", f"feeds/{name}.atom", words[f"{name}_articles"]
        inputs = [
            (r.id, r.source, r.number, r.title, facts(w), self.timezones.get(r.source))
            for r, w in items
        ]
        render = partial(
            self.render, "watched.html", path, heading=title, items=items, feed=feed,
            deleted=name == "deleted", empty=words[f"none_{name}"],
        )  # fmt: skip
        self.page(path, [title, inputs], render)
        newest = items[:FEED_SIZE]
        base = self.settings["site.base_url"]
        feed_inputs = [
            title,
            base,
            [[r.__dict__, facts(w), self.timezones.get(r.source)] for r, w in newest],
        ]
        make = self._deleted_feed if name == "deleted" else self._edited_feed
        self.page(feed, feed_inputs, partial(make, feed, title, newest))

    def _deleted_feed(self, path: str, title: str, items: list[tuple[Row, Watched]]) -> bytes:
        """Each deleted article as archived, after a notice of when and why it was deleted."""
        html = dict(self._contents([row.id for row, _ in items]))
        # a macro of the template: jinja2's TemplateModule declares none of its attributes
        notice = self.env.get_template("_macros.html").module.deleted_notice  # type: ignore[attr-defined]
        entries = []
        for row, watch in items:
            entry = self._entry(row, html.get(row.id, ""))
            entries.append(
                replace(
                    entry,
                    id=f"urn:newsvault:deleted:{row.id}:{watch.gone_since}",
                    updated=watch.gone_since,
                    content=f"{notice(watch, self.env.globals['w'], self.zone_of(row.source))}"
                    f"\n{entry.content}",
                )
            )
        return self._atom(path, title, entries)

    def _edited_feed(self, path: str, title: str, items: list[tuple[Row, Watched]]) -> bytes:
        """Each edited article's latest edit: what changed, linked to all its versions."""
        # a macro of the template: jinja2's TemplateModule declares none of its attributes
        notice = self.env.get_template("_macros.html").module.edited_notice  # type: ignore[attr-defined]
        entries = []
        for row, watch in items:
            href = self._link(versions_path(row))
            edits = [step.diff for step in self._steps(row.id) if step.counted and step.diff]
            change = diffs.to_html(diffs.changed_only(edits[-1])) if edits else ""
            entry = self._entry(row, "")
            entries.append(
                replace(
                    entry,
                    id=f"urn:newsvault:edited:{row.id}:{watch.edits}",
                    link=href,
                    updated=watch.last_edit,
                    content=f"{notice(watch, href, self.env.globals['w'])}\n{change}",
                )
            )
        return self._atom(path, title, entries)

    def _home(
        self,
        latest: list[Row],
        stories_now: list[Told],
        counts: dict[str, int],
        watch_counts: dict[str, int],
    ) -> None:
        """index.html; `counts`: articles per source (every source is shown, those without
        any as such)."""
        source_counts = by_name(
            ((slug, self.names.get(slug, slug), n) for slug, n in counts.items()), self.names
        )
        inputs = [
            [(r.id, r.source, r.number, r.title, r.published, r.copy_of) for r in latest],
            [(s.id, s.title, s.size, s.last_seen, s.outlets) for s in stories_now],
            source_counts,
            watch_counts,
        ]
        self.page(
            "index.html",
            inputs,
            lambda: self.render(
                "index.html",
                "index.html",
                latest=latest,
                stories=stories_now,
                source_counts=source_counts,
                watch_counts=watch_counts,
            ),
        )

    def _feeds(self, rows: list[Row]) -> dict[str, list[Row]]:
        """Every feed; returns the articles of each source's."""
        by_source: defaultdict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if len(by_source[row.source]) < FEED_SIZE:
                by_source[row.source].append(row)
        self._write_feeds(by_source, rows[:FEED_SIZE])
        return by_source

    def _write_feeds(self, by_source: dict[str, list[Row]], latest: list[Row]) -> None:
        """feeds/<slug>.atom of the sources of `by_source` (each its newest articles), and
        feeds/all.atom (`latest`)."""
        groups = {
            slug: (self.names.get(slug, slug), found)
            for slug, found in by_source.items()
            if slug not in WATCH_LISTS
        }
        # The site's own feeds win over a source an imported archive brought in under its name.
        groups[ALL_SOURCES] = (self.settings["site.title"], latest)
        needed = sorted({r.id for _, found in groups.values() for r in found})
        contents = cache(lambda: dict(self._contents(needed)))  # read once, if a feed changed
        for name, (title, found) in groups.items():
            path = f"feeds/{name}.atom"
            shown = [[r.__dict__, self._image_inputs(r)] for r in found]
            inputs = [title, self.settings["site.base_url"], shown]
            self.page(path, inputs, partial(self._feed, path, title, found, contents))

    def _feed(
        self, path: str, title: str, found: list[Row], contents: Callable[[], dict[int, str]]
    ) -> bytes:
        html = contents()
        return self._atom(path, title, [self._entry(row, html.get(row.id, "")) for row in found])

    def _entry(self, row: Row, html: str) -> atom.Entry:
        base = self.settings["site.base_url"].rstrip("/")
        # media/ as the entry's links: under base_url, else relative to the feed (feeds/)
        mapper = self.images.mapper(row.source, self.mirror, f"{base}/" if base else "../")
        page = f"{base}/{article_path(row)}" if base else None
        return atom.Entry(
            id=page or row.url or f"urn:newsvault:article:{row.id}",
            title=row.title,
            link=self._link(article_path(row)),
            original=row.url,
            published=row.published,
            author=row.author or self.names.get(row.source, row.source),
            source=self.names.get(row.source, row.source),
            content=reader_html(html, mapper),
        )

    def _link(self, path: str) -> str:
        """A feed's link to the site's `path`: absolute under site.base_url, else relative to
        the feed's own address (feeds/), which feed readers resolve it against."""
        base = self.settings["site.base_url"].rstrip("/")
        return f"{base}/{path}" if base else f"../{path}"

    def _atom(self, path: str, title: str, entries: list[atom.Entry]) -> bytes:
        base = self.settings["site.base_url"].rstrip("/")
        return atom.render_feed(
            feed_id=f"{base}/{path}" if base else f"urn:newsvault:{path}",
            title=title,
            self_link=f"{base}/{path}" if base else path.rsplit("/", 1)[-1],
            home=self._link("index.html"),
            entries=entries,
            language=self._words["html_lang"],
        )

    # -- the manifest -----------------------------------------------------------------------

    def _delete_stale(self) -> None:
        for path in set(self._old) - set(self._new):
            target = self.out / path
            if target.is_file():
                target.unlink()
                self.report.deleted += 1


def build_site(
    store: Store,
    root: Path,
    settings: Settings,
    followed: list[Source],
    on_progress: Callable[[int, int], None] | None = None,
) -> SiteReport:
    return SiteBuilder(store, root, settings, followed).build(on_progress)
