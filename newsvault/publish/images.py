"""Where published copies point images: the original URL, an image proxy, or a copy in media/.

Mirrored images are content-addressed (`media/<2 hex>/<sha256>.<ext>`), so one picture used by
many articles is stored once. Only raster formats recognised by their first bytes are kept:
an SVG (or anything claiming to be an image) can carry script, and must never be served from
the archive as an active document.

Images are mirrored as part of archiving: storing an article with images queues an `image`
job for it (store.add_articles), which `run`, `archive` and the `watch` daemon do after
storing (`mirror_articles`); an image is tried once, and one that fails, is not a raster image
or is larger than publish.media_max_bytes keeps its original URL everywhere. Every published
copy (the markdown archive, the site, the Atom feeds) points an image through one mapper,
`image_mapper`, for its source's policy: `ImageLinks` holds the policies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from newsvault.errors import FetchError
from newsvault.fetch.client import Fetcher, FetchOptions
from newsvault.files import write_atomic
from newsvault.links import media_path
from newsvault.models import DEFAULT_IMAGES
from newsvault.store import Store
from newsvault.store.media import MediaStore

if TYPE_CHECKING:
    from newsvault.archive import Archive

MAGIC: tuple[tuple[bytes, int, str, str], ...] = (  # signature, offset, type, extension
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
    (b"ftypavif", 4, "image/avif", "avif"),
)
EXTENSIONS = {ext: mime for _, _, mime, ext in MAGIC}
IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.5"
# Images mirrored of one article, at most: a page holding thousands of <img> (hostile, or a
# list of thumbnails) must not make the archive send thousands of requests; the rest keep
# their original URLs.
MOST_PER_ARTICLE = 200


def sniff(body: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) of a raster image, from its first bytes; None for anything else."""
    for signature, offset, mime, ext in MAGIC:
        if body[offset : offset + len(signature)] == signature:
            if mime == "image/webp" and not body.startswith(b"RIFF"):
                continue
            return mime, ext
    return None


def proxied(url: str, template: str) -> str:
    """`url` through the proxy template (`${href}`, `${href_ue}` URL-encoded); a URL already
    going through the proxy (imported archives often hold such links) is left alone."""
    prefix = template.split("${", 1)[0]
    if prefix and url.startswith(prefix):
        return url
    return template.replace("${href_ue}", quote(url, safe="")).replace("${href}", url)


def media_name(digest: str, mime: str) -> str:
    ext = next(e for e, m in EXTENSIONS.items() if m == mime)
    return f"media/{digest[:2]}/{digest}.{ext}"


class MirrorLookup(Protocol):
    """Image URL -> its copy's path under the archive (media/...): a dict of them all, or
    `MirroredImages` asking for each."""

    def get(self, url: str, default: str | None = None, /) -> str | None: ...

    def __contains__(self, url: object, /) -> bool: ...

    def __getitem__(self, url: str, /) -> str: ...


def mirrored(store: Store) -> dict[str, str]:
    """Image URL -> path under the archive (media/...) of every image mirrored so far."""
    return {url: media_name(c.digest, c.mime) for url, c in store.media.copies().items()}


class MirroredImages:
    """What `mirrored` tells of every image, for the images asked about only (a publish of a
    change reads the rows it needs, not the whole table)."""

    def __init__(self, media: MediaStore) -> None:
        self.media = media
        self._known: dict[str, str | None] = {}

    def get(self, url: str, default: str | None = None) -> str | None:
        if url not in self._known:
            copy = self.media.copy_of(url)
            self._known[url] = media_name(copy.digest, copy.mime) if copy else None
        known = self._known[url]
        return default if known is None else known

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.get(url) is not None

    def __getitem__(self, url: str) -> str:
        known = self.get(url)
        if known is None:
            raise KeyError(url)
        return known


def image_mapper(
    policy: str, proxy_template: str, mirror: MirrorLookup | Mapping[str, str], media_prefix: str
) -> Callable[[str], str]:
    """The function a published copy passes every image URL through, for a source's policy:
    `media_prefix` + media/... for a mirrored copy (and for a markdown archive's own
    /media/... link, whatever the policy: the copy is all there is), the proxy's URL, or the
    URL itself."""

    def mapped(url: str) -> str:
        local = media_path(url)
        if local is not None:
            return media_prefix + local
        if policy == "proxy":
            return proxied(url, proxy_template)
        if policy == "mirror":
            found = mirror.get(url)
            return media_prefix + found if found else url
        return url

    return mapped


@dataclass(frozen=True)
class ImageLinks:
    """Each source's image policy (`images` in its [[sources]] table; DEFAULT_IMAGES for one
    not followed, as an imported archive's), and the proxy template."""

    policies: Mapping[str, str]
    proxy_template: str  # publish.image_proxy

    def policy(self, slug: str) -> str:
        return self.policies.get(slug, DEFAULT_IMAGES)

    def mapper(
        self, slug: str, mirror: MirrorLookup | Mapping[str, str], media_prefix: str
    ) -> Callable[[str], str]:
        return image_mapper(self.policy(slug), self.proxy_template, mirror, media_prefix)


def image_links(archive: Archive) -> ImageLinks:
    """Where the archive's published copies point each source's images."""
    return ImageLinks(
        {s.slug: s.images for s in archive.sources()}, archive.settings["publish.image_proxy"]
    )


@dataclass
class MirrorReport:
    fetched: int = 0
    stored: int = 0  # new files in media/ (a picture already held is not stored again)
    refused: int = 0  # not a raster image
    failed: int = 0  # could not be fetched, or larger than publish.media_max_bytes
    articles: dict[int, str] = field(default_factory=dict)  # id -> slug: a copy of theirs is new

    @property
    def tried(self) -> bool:
        return bool(self.fetched or self.failed)

    def summary(self) -> str:
        return (
            f"images: {self.stored} new in media/, {self.refused} refused "
            f"(not a raster image), {self.failed} failed"
        )

    def merge(self, other: MirrorReport) -> None:
        self.fetched += other.fetched
        self.stored += other.stored
        self.refused += other.refused
        self.failed += other.failed
        self.articles.update(other.articles)


def web_images(images_json: str) -> list[str]:
    """The http(s) image URLs of an article's stored `images`."""
    return [
        image["src"]
        for image in json.loads(images_json or "[]")
        if str(image.get("src", "")).startswith(("http://", "https://"))
    ]


def images_to_mirror(store: Store, slugs: Iterable[str]) -> list[str]:
    """Image URLs of these sources' articles that have not been tried yet."""
    wanted = {src for images in store.media.images_of_sources(slugs) for src in web_images(images)}
    return sorted(wanted - store.media.tried())


def mirror_images(
    store: Store,
    root: Path,
    slugs: Iterable[str],
    options: FetchOptions,
    max_bytes: int,
    on_done: Callable[[], None] | None = None,
) -> MirrorReport:
    """Fetch every image of these sources not tried before into root/media/ (what was
    archived before its images were mirrored)."""
    urls = images_to_mirror(store, slugs)
    report = MirrorReport()
    if urls:

        async def run() -> None:
            async with Fetcher(replace(options, max_bytes=min(options.max_bytes, max_bytes))) as f:
                await _mirror_urls(f, store, root, urls, max_bytes, report, on_done)

        asyncio.run(run())
    return report


async def mirror_articles(
    fetcher: Fetcher,
    store: Store,
    root: Path,
    article_ids: Iterable[int],
    *,
    max_bytes: int,
    policy_of: Callable[[str], str],
    on_done: Callable[[], None] | None = None,
) -> MirrorReport:
    """Fetch into root/media/ the images not tried before of these articles whose source
    mirrors (`policy_of(slug)`); `articles` in the report: those with a copy new to them."""
    found: dict[int, tuple[str, list[str]]] = {}
    for article in store.media.images_of_articles(article_ids):
        if policy_of(article.source) == "mirror" and (urls := web_images(article.images)):
            found[article.id] = (article.source, list(dict.fromkeys(urls))[:MOST_PER_ARTICLE])
    wanted = sorted({url for _, urls in found.values() for url in urls})
    tried = store.media.tried(wanted)
    report = MirrorReport()
    kept = await _mirror_urls(
        fetcher, store, root, [u for u in wanted if u not in tried], max_bytes, report, on_done
    )
    report.articles = {i: slug for i, (slug, urls) in found.items() if kept.intersection(urls)}
    return report


async def _mirror_urls(
    fetcher: Fetcher,
    store: Store,
    root: Path,
    urls: list[str],
    max_bytes: int,
    report: MirrorReport,
    on_done: Callable[[], None] | None,
) -> set[str]:
    """Fetch each URL once; record what came of it (media table). The URLs now mirrored."""
    kept: set[str] = set()

    async def one(url: str) -> None:
        row: dict[str, Any] = {}
        try:
            response = await fetcher.get(url, accept=IMAGE_ACCEPT, max_bytes=max_bytes)
        except FetchError as exc:
            row["outcome"] = f"failed: {exc}"
            report.failed += 1
        else:
            report.fetched += 1
            row.update(_keep(root, response.body, report))
        store.media.record(url, fetched=int(time.time() * 1000), **row)
        if row["outcome"] == "ok":
            kept.add(url)
        if on_done:
            on_done()

    await asyncio.gather(*(one(url) for url in urls))
    return kept


def _keep(root: Path, body: bytes, report: MirrorReport) -> dict[str, object]:
    kind = sniff(body)
    if kind is None:
        report.refused += 1
        return {"outcome": "refused: not a JPEG, PNG, GIF, WebP or AVIF image"}
    mime, _ = kind
    digest = hashlib.sha256(body).hexdigest()
    path = root / media_name(digest, mime)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, body)
        report.stored += 1
    return {"outcome": "ok", "digest": digest, "mime": mime, "size": len(body)}
