"""The archive directory: found like a git repository, laid out as DESIGN.md describes.

newsvault.toml    sources and settings       captures/   raw responses (WARC)
newsvault.db      SQLite database            articles/   the markdown archive
newsvault.*.lock  one step at a time         lists/      one page per source
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT

from newsvault.errors import ArchiveError, SourceError
from newsvault.files import write_atomic
from newsvault.links import web_url
from newsvault.models import DEFAULT_IMAGES, Source, category_path, known_zone, slug_problem
from newsvault.settings import Settings, duration_ms
from newsvault.store import Store
from newsvault.store.locks import advisory_lock

CONFIG_NAME = "newsvault.toml"

DEFAULT_CONFIG = """\
# newsvault archive: the sources it follows and its settings.
# Each [[sources]] table is one feed: `slug` names the folder articles/<slug>/ (keep it
# stable once articles exist), `name` is shown on list pages, `url` is the RSS/Atom/JSON
# feed; `category = "A/B"` (a feed reader's folders) and `home` (the outlet's site) are
# optional. Edit freely, or use `newsvault sources add URL` / `sources remove SLUG`.
# Images are mirrored into media/ and every published copy points there; a source's
# `images = "proxy"` goes through publish.image_proxy instead, `images = "keep"` to the origin.
# Every setting and its default: README, section "Settings".

[fetch]
# timeout = 30.0                  # seconds for one response, body included
# max_bytes = 15000000            # largest body read
# allow_private_networks = false  # true lets sources on private/loopback addresses be fetched

# Voice of America, Chinese service
[[sources]]
slug = "voa"
name = "美国之音"
url = "https://www.voachinese.com/api/zm_yql-vomx-tpeybti"

# Radio Free Asia, Mandarin service
[[sources]]
slug = "rfa"
name = "自由亚洲电台"
url = "https://www.rfa.org/mandarin/rss2.xml"

# BBC News, Chinese (simplified)
[[sources]]
slug = "bbc"
name = "BBC中文"
url = "https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"

# The New York Times, Chinese edition
[[sources]]
slug = "nytimes"
name = "纽约时报中文网"
url = "https://cn.nytimes.com/rss/"

# Deutsche Welle, Chinese service
[[sources]]
slug = "dw"
name = "德国之声"
url = "https://rss.dw.com/rdf/rss-chi-all"

# Radio France Internationale, Chinese service
[[sources]]
slug = "rfi"
name = "法广"
url = "https://www.rfi.fr/cn/rss"

# China Digital Times, Chinese edition
[[sources]]
slug = "cdt"
name = "中国数字时代"
url = "https://chinadigitaltimes.net/chinese/feed/"
"""


def find_root(explicit: Path | None = None, cwd: Path | None = None) -> Path:
    """--archive, else NEWSVAULT_ARCHIVE, else the nearest parent holding newsvault.toml."""
    chosen = explicit or (
        Path(os.environ["NEWSVAULT_ARCHIVE"]) if os.environ.get("NEWSVAULT_ARCHIVE") else None
    )
    if chosen is not None:
        if not (chosen / CONFIG_NAME).is_file():
            raise ArchiveError(
                f"{chosen}: no {CONFIG_NAME} here; create an archive with `newsvault init {chosen}`"
            )
        return chosen.resolve()
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ArchiveError(
        f"no archive found in {here} or its parents; run `newsvault init DIR` or pass --archive DIR"
    )


FETCH_FULL = ("auto", "always", "never")
LOCK_NAMES = ("publish", "stories", "git")
LOCK_WAIT = 600.0  # seconds a step waits for another process doing the same
IMAGES = ("keep", "proxy", "mirror")


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = root / CONFIG_NAME
        self.db_path = root / "newsvault.db"
        self.articles_dir = root / "articles"
        self.lists_dir = root / "lists"
        self.media_dir = root / "media"
        self.site_dir = root / "site"
        self._document = self._read_config()
        self.settings = Settings(self._document.unwrap())
        self.captures_dir = root / (self.settings["captures.directory"] or "captures")

    @classmethod
    def find(cls, explicit: Path | None = None) -> Archive:
        return cls(find_root(explicit))

    @classmethod
    def init(cls, root: Path, config_text: str = DEFAULT_CONFIG) -> Archive:
        if (root / CONFIG_NAME).exists():
            raise ArchiveError(f"{root}: already an archive ({CONFIG_NAME} exists)")
        if root.exists() and not root.is_dir():
            raise ArchiveError(f"{root}: exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        write_atomic(root / CONFIG_NAME, config_text)
        archive = cls(root.resolve())
        archive.captures_dir.mkdir(parents=True, exist_ok=True)  # elsewhere, perhaps
        for folder in (
            archive.articles_dir,
            archive.lists_dir,
            archive.media_dir,
        ):
            folder.mkdir(exist_ok=True)
        archive.store().close()
        return archive

    def store(self, *, durable: bool = False) -> Store:
        url = self.settings["database"]
        store = Store(url, durable=durable) if url else Store.open(self.db_path, durable=durable)
        store.first_recheck_ms = self.settings.recheck_schedule()[0]
        store.recover_auto = self.settings["recover.auto"]
        return store

    @contextmanager
    def lock(self, name: str, *, wait: float | None = None) -> Iterator[None]:
        """Hold one step that two processes must not take at once (`publish`, `stories`,
        `git`): a second one waits for the first, up to `wait` seconds. Fetching
        and storing need no lock: the database and the capture files take writers side by
        side, so the `watch` daemon and any command run together. On PostgreSQL the lock is
        the database's (store/locks.py), held across machines; on SQLite a file's."""
        LOCK_NAMES.index(name)  # a typo is a bug, not a new lock
        wait = LOCK_WAIT if wait is None else wait
        busy = f"{self.root}: another newsvault process has been busy with {name} for {wait:.0f} s"
        if self.settings["database"]:
            with advisory_lock(self.settings["database"], name, wait=wait) as held:
                if not held:
                    raise ArchiveError(f"{busy} (a lock of the database); try again later")
                yield
            return
        path = self.root / f"newsvault.{name}.lock"
        with open(path, "a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise ArchiveError(f"{busy} ({path.name}); try again later") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- sources in newsvault.toml -------------------------------------------------------

    def sources(self) -> list[Source]:
        found: list[Source] = []
        for position, table in enumerate(self._document.get("sources", []), start=1):
            slug, url = str(table.get("slug", "")), str(table.get("url", ""))
            problem = slug_problem(slug)
            if problem:
                raise ArchiveError(
                    f"{self.config_path}: source #{position} has slug {slug!r}; {problem}"
                )
            fetch_full = str(table.get("fetch_full", "auto"))
            if fetch_full not in FETCH_FULL:
                raise ArchiveError(
                    f"{self.config_path}: source {slug!r} has fetch_full = {fetch_full!r}; "
                    f"use one of {', '.join(FETCH_FULL)}"
                )
            images = str(table.get("images", DEFAULT_IMAGES))
            if images not in IMAGES:
                raise ArchiveError(
                    f"{self.config_path}: source {slug!r} has images = {images!r}; "
                    f"use one of {', '.join(IMAGES)}"
                )
            name = str(table.get("name") or slug)
            interval = table.get("interval")
            zone = table.get("timezone")
            if zone is not None and not known_zone(str(zone)):
                raise ArchiveError(
                    f"{self.config_path}: source {slug!r} has timezone = {str(zone)!r}; "
                    'use an IANA time zone name such as "Asia/Taipei"'
                )
            home = table.get("home")
            if home is not None and not web_url(str(home)):
                raise ArchiveError(
                    f"{self.config_path}: source {slug!r} has home = {str(home)!r}; "
                    "use the outlet's http:// or https:// address"
                )
            found.append(
                Source(
                    slug=slug, name=name, url=url, fetch_full=fetch_full, images=images,
                    interval=None if interval is None else duration_ms(
                        str(interval), f"source {slug!r}: interval"
                    ),
                    timezone=None if zone is None else str(zone),
                    category=category_path(str(table.get("category") or "")),
                    home=None if home is None else str(home),
                )
            )  # fmt: skip
        slugs = [s.slug for s in found]
        if len(set(slugs)) != len(slugs):
            duplicate = next(s for s in slugs if slugs.count(s) > 1)
            raise ArchiveError(f"{self.config_path}: slug {duplicate!r} is used by two sources")
        return found

    def refuse_new_source(self, url: str, slug: str | None = None) -> None:
        """SourceError when `url` is followed already, or `slug` cannot name a new source
        (malformed, reserved or taken); `slug` None: not chosen yet."""
        current = self.sources()
        if slug is not None:
            problem = slug_problem(slug)
            if problem:
                raise SourceError(f"slug {slug!r}: {problem}")
            if any(s.slug == slug for s in current):
                raise SourceError(f"a source with slug {slug!r} exists; choose another with --slug")
        if any(s.url == url for s in current):
            raise SourceError(f"{url} is already followed")

    def add_source(self, source: Source) -> None:
        """Follow `source`: a [[sources]] table appended to newsvault.toml (its category and
        home written where known)."""
        self.refuse_new_source(source.url, source.slug)
        table = tomlkit.table()
        table.update({"slug": source.slug, "name": source.name, "url": source.url})
        category = category_path(source.category or "")
        if category:
            table["category"] = category
        if source.home:
            table["home"] = source.home
        existing = self._document.get("sources")
        if not isinstance(existing, AoT):  # absent, or written by hand as `sources = []`
            if existing is not None:
                del self._document["sources"]
            self._document.append("sources", tomlkit.aot())
        self._document["sources"].append(table)
        self._save()

    def remove_source(self, slug: str) -> Source:
        tables = self._document.get("sources", [])
        for index, table in enumerate(tables):
            if table.get("slug") == slug:
                removed = Source(
                    slug=slug, name=str(table.get("name") or slug), url=str(table.get("url", ""))
                )
                del tables[index]
                if not tables:  # an emptied array of tables would be written as `sources = []`
                    del self._document["sources"]
                self._save()
                return removed
        raise SourceError(f"no source with slug {slug!r}; see `newsvault sources list`")

    def _read_config(self) -> tomlkit.TOMLDocument:
        try:
            return tomlkit.parse(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArchiveError(
                f"{self.root}: no {CONFIG_NAME}; run `newsvault init {self.root}`"
            ) from None
        except (TOMLKitError, UnicodeDecodeError) as exc:
            raise ArchiveError(
                f"{self.config_path}: not valid TOML ({str(exc).splitlines()[0]})"
            ) from None

    def _save(self) -> None:
        write_atomic(self.config_path, tomlkit.dumps(self._document))
