"""Where published pages point images: the original URL, an image proxy, or a copy in media/.

Mirrored images are content-addressed (`media/<2 hex>/<sha256>.<ext>`), so one picture used by
many articles is stored once. Only raster formats recognised by their first bytes are kept:
an SVG (or anything claiming to be an image) can carry script, and must never be served from
the archive as an active document.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from newsvault.errors import FetchError
from newsvault.fetch.client import Fetcher, FetchOptions
from newsvault.files import write_atomic
from newsvault.store import Store
from newsvault.store.engine import writing
from newsvault.store.schema import articles, media, sources

MAGIC: tuple[tuple[bytes, int, str, str], ...] = (  # signature, offset, type, extension
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
    (b"ftypavif", 4, "image/avif", "avif"),
)
EXTENSIONS = {ext: mime for _, _, mime, ext in MAGIC}


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


def mirrored(store: Store) -> dict[str, str]:
    """Image URL -> path under the archive (media/...) of every image mirrored so far."""
    query = select(media.c.url, media.c.digest, media.c.mime).where(media.c.outcome == "ok")
    with store.engine.connect() as conn:
        return {url: media_name(digest, mime) for url, digest, mime in conn.execute(query)}


def image_mapper(
    policy: str, proxy_template: str, mirror: dict[str, str], media_prefix: str
) -> Callable[[str], str]:
    """The function published pages pass every image URL through, for a source's policy."""
    if policy == "proxy":
        return lambda url: proxied(url, proxy_template)
    if policy == "mirror":
        return lambda url: media_prefix + mirror[url] if url in mirror else url
    return lambda url: url


@dataclass
class MirrorReport:
    fetched: int = 0
    stored: int = 0  # new files in media/ (a picture already held is not stored again)
    refused: int = 0  # not a raster image, or too large
    failed: int = 0


def images_to_mirror(store: Store, slugs: Iterable[str]) -> list[str]:
    """Image URLs of these sources' articles that have not been tried yet."""
    query = (
        select(articles.c.images)
        .join(sources)
        .where(sources.c.slug.in_(list(slugs)), articles.c.removed.is_(None))
    )
    with store.engine.connect() as conn:
        wanted = {
            image["src"]
            for (images,) in conn.execute(query)
            for image in json.loads(images)
            if image.get("src", "").startswith(("http://", "https://"))
        }
        tried = {url for (url,) in conn.execute(select(media.c.url))}
    return sorted(wanted - tried)


def mirror_images(
    store: Store,
    root: Path,
    slugs: Iterable[str],
    options: FetchOptions,
    max_bytes: int,
    on_done: Callable[[], None] | None = None,
) -> MirrorReport:
    """Fetch every image of these sources not tried before into root/media/."""
    urls = images_to_mirror(store, slugs)
    report = MirrorReport()
    if urls:
        asyncio.run(_mirror_all(store, root, urls, options, max_bytes, report, on_done))
    return report


async def _mirror_all(store, root, urls, options, max_bytes, report, on_done) -> None:
    limited = replace(options, max_bytes=min(options.max_bytes, max_bytes))
    async with Fetcher(limited) as fetcher:

        async def one(url: str) -> None:
            row = {"url": url, "digest": None, "mime": None, "size": None}
            try:
                response = await fetcher.get(url)
            except FetchError as exc:
                row["outcome"] = f"failed: {exc}"
                report.failed += 1
            else:
                report.fetched += 1
                row.update(_keep(root, response.body, report))
            row["fetched"] = int(time.time() * 1000)
            with writing(store.engine) as conn:
                ignore = "OR IGNORE" if conn.dialect.name == "sqlite" else ""
                conn.execute(media.insert().prefix_with(ignore), row)
            if on_done:
                on_done()

        await asyncio.gather(*(one(url) for url in urls))


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
