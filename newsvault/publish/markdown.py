"""The markdown archive: one file per article and one list page per source.

The format is the one the archives newsvault descends from use (DESIGN.md, "The markdown
archive format"), byte for byte:

    articles/<slug>/<number>.md      lists/<name>.md
    <!--{published ms}-->            {display name}
    [{title}]({url})                 ------
    ------
                                     {m}-{d} [{title}](/articles/{slug}/{number}.md)
    {content HTML on one line}
                                     ...

An image with a copy in media/ (its source mirrors images, the default) is linked there, as
`/media/<2 hex>/<sha256>.<ext>` (absolute, like the list pages' links: the archive's top is
the root), and through the proxy for a source with `images = "proxy"`; only the `src` of such
an `<img>` changes, nothing else, so an article with no copy (every article of an archive
imported and published again) keeps its bytes. Importing an archive brings the copies its
articles link to into media/, and `/media/` links read back as they were written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as entities
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from newsvault.errors import ImportFormatError
from newsvault.files import remove_stale_temporaries, write_atomic, write_if_changed
from newsvault.links import media_path
from newsvault.models import CHINA_TIME, Article
from newsvault.publish.changes import Change
from newsvault.publish.images import (
    ImageLinks,
    MirroredImages,
    MirrorLookup,
    media_name,
    mirrored,
    sniff,
)
from newsvault.store import Store
from newsvault.store.publishing import Listings

_HEADER = re.compile(r"<!--(-?\d+)-->\n\[(.*)\]\((.*)\)\n------\n\n", re.S)
# A title is text: `<` and `>` as entities (no markup in any renderer that allows HTML), and
# `](` broken as `]\(` so that a title cannot open a link of its own. So that every title reads
# back as written, an `&` that starts what would read as one of those entities (`&lt;`,
# `&amp;gt;`) becomes `&amp;`, and a `]` before `\(` (or `\\(`...) takes one more backslash.
# Nothing else changes, so an archive whose titles hold none of these (seed 000) is written
# back byte for byte.
_TITLE_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "]": "]\\"}
_TITLE_SPECIAL = re.compile(r"[<>]|&(?=(?:amp;)*[lg]t;)|\](?=\\*\()")
_TITLE_ESCAPED = re.compile(r"&[lg]t;|&amp;(?=(?:amp;)*[lg]t;)|\]\\(?=\\*\()")
_TITLE_PLAIN = {v: k for k, v in _TITLE_ESCAPES.items()}
_LIST_ENTRY = re.compile(r"^(\d{1,2})-(\d{1,2}) \[(.*)\]\(/articles/([^/]+)/(\d+)\.md\)$")
# An <img> start tag as browsers read it (a quoted value may hold ">"), and its attributes one
# after another (so that `src` inside another attribute's value is never taken for one).
_IMG = re.compile(r"""<img(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*>""", re.I)
_ATTRIBUTE = re.compile(
    r"""([\s/]*)([^\s"'>/=][^\s"'>/=]*)(\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
)
ImageURL = Callable[[str], str]


@dataclass(frozen=True)
class ParsedArticle:
    published: int
    title: str
    url: str
    content: str


@dataclass(frozen=True)
class ParsedList:
    name: str
    slugs: set[str]
    numbers: list[tuple[str, int]]


@dataclass
class PublishResult:
    written: int = 0
    unchanged: int = 0
    lists_written: int = 0

    def count(self, written: bool) -> None:
        """One article file: written, or found as it would have been written."""
        if written:
            self.written += 1
        else:
            self.unchanged += 1


def flatten(html: str) -> str:
    """Each line stripped of surrounding white space, lines joined with nothing."""
    return "".join(line.strip() for line in html.splitlines())


def markdown_title(title: str) -> str:
    """A title as the text of a markdown link: it renders as the same text everywhere."""
    return _TITLE_SPECIAL.sub(lambda m: _TITLE_ESCAPES[m.group()], title.strip())


def plain_title(written: str) -> str:
    """The title `markdown_title` wrote."""
    return _TITLE_ESCAPED.sub(lambda m: _TITLE_PLAIN[m.group()], written)


def render_article(article: Article, image_url: ImageURL | None = None) -> str:
    """The article's file; `image_url` gives each image's `src` (ImageLinks.mapper)."""
    html = flatten(article.html)
    return (
        f"<!--{article.published}-->\n"
        f"[{markdown_title(article.title)}]({_link_target(article.url)})\n"
        "------\n\n"
        f"{point_images(html, image_url) if image_url else html}\n"
    )


def point_images(html: str, image_url: ImageURL) -> str:
    """`html` with the `src` of each <img> where `image_url` says; all else byte for byte
    (an image it leaves alone keeps its attribute as written)."""
    if "<img" not in html.lower():
        return html

    def tag(match: re.Match[str]) -> str:
        text = match.group()
        at, end = 4, len(text) - (2 if text.endswith("/>") else 1)
        while at < end:
            attribute = _ATTRIBUTE.match(text, at, end)
            if attribute is None or attribute.end() == at:
                return text
            if attribute.group(2).lower() == "src":  # the first one is the one browsers use
                value = attribute.group(4)
                if value is None:
                    return text
                written = value[1:-1] if value[:1] in "\"'" else value
                src = entities.unescape(written).strip()
                wanted = image_url(src)
                if wanted == src:
                    return text
                quoted = '"' + entities.escape(wanted, quote=True).replace("&#x27;", "'") + '"'
                return text[: attribute.start(4)] + quoted + text[attribute.end(4) :]
            at = attribute.end()
        return text

    return _IMG.sub(tag, html)


def render_list(name: str, articles: list[Article]) -> str:
    lines = [f"{name}\n------\n\n"]
    for article in articles:
        day = dt.datetime.fromtimestamp(article.published / 1000, CHINA_TIME)
        lines.append(
            f"{day.month}-{day.day} [{markdown_title(article.title)}]"
            f"(/articles/{article.source}/{article.number}.md)\n\n"
        )
    return "".join(lines)


def parse_article(text: str, where: str) -> ParsedArticle:
    header = _HEADER.match(text)
    if header is None or not text.endswith("\n"):
        raise ImportFormatError(
            f"{where}: not in the markdown archive format "
            "(expected <!--ms--> / [title](url) / ------ / empty line / content)"
        )
    published, title, url = header.groups()
    return ParsedArticle(int(published), plain_title(title), url, text[header.end() : -1])


def parse_list(text: str, where: str) -> ParsedList:
    lines = text.split("\n")
    if len(lines) < 3 or lines[1] != "------":
        raise ImportFormatError(f"{where}: not a list page (expected a name, then a line ------)")
    numbers: list[tuple[str, int]] = []
    for line in lines[2:]:
        entry = _LIST_ENTRY.match(line)
        if entry:
            numbers.append((entry.group(4), int(entry.group(5))))
    return ParsedList(name=lines[0], slugs={slug for slug, _ in numbers}, numbers=numbers)


def _link_target(url: str) -> str:
    """A link's URL as markdown reads it: the store gives web URLs with spaces and angle
    brackets encoded; a parenthesis left unbalanced would end the link early, and a `](`
    would be read back as the end of the title."""
    if url.count("(") != url.count(")") or "](" in url:
        return url.replace("(", "%28").replace(")", "%29")
    return url


def publish_markdown(
    store: Store,
    root: Path,
    *,
    list_size: int = 300,
    only_missing: bool = False,
    images: ImageLinks | None = None,
) -> PublishResult:
    """(Re)write articles/ and lists/ from the store. With `only_missing`, article files that
    exist are left alone (articles never change once archived); lists are always checked.
    With `images`, each article's images point where its source's policy says (a copy in
    media/, the proxy); without, they are left as stored."""
    result = PublishResult()
    mirror: MirrorLookup | dict[str, str] = (
        MirroredImages(store.media) if only_missing else mirrored(store)
    )
    articles_dir, lists_dir = root / "articles", root / "lists"
    for folder in (articles_dir, lists_dir):
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(folder)
    states = store.source_states()
    owners = list_owners((s.id, slug, s.list_name) for slug, s in states.items() if s.articles)
    for slug, state in states.items():
        if state.articles == 0:
            continue
        folder = articles_dir / slug
        folder.mkdir(exist_ok=True)
        if only_missing:
            present = {p.name for p in folder.iterdir()}
            missing = [n for n in store.article_numbers(slug) if f"{n}.md" not in present]
            to_write = store.articles_by_numbers(slug, missing)
            result.unchanged += state.articles - len(missing)
        else:
            to_write = store.articles(source=slug)
        image_url = images.mapper(slug, mirror, "/") if images else None
        for article in to_write:
            result.count(_write_article(articles_dir, article, image_url))
        list_name = state.list_name or slug
        if owners[list_name] == slug:
            result.lists_written += _write_list(
                store, lists_dir / f"{list_name}.md", slug, state.name, list_size
            )
    return result


def publish_markdown_changes(
    store: Store,
    root: Path,
    change: Change,
    *,
    list_size: int = 300,
    images: ImageLinks | None = None,
) -> PublishResult:
    """Bring articles/ and lists/ up to date with a change: the files of its articles (new
    ones written, others checked: an image mirrored since changes one) and the list pages of
    their sources, and nothing else. `images` as for `publish_markdown`."""
    result = PublishResult()
    mirror = MirroredImages(store.media)
    articles_dir, lists_dir = root / "articles", root / "lists"
    lists_dir.mkdir(parents=True, exist_ok=True)
    found = store.articles_by_ids(sorted(change.articles))
    published = [a for _, a in sorted(found.items()) if a.removed is None]
    for article in published:
        (articles_dir / article.source).mkdir(parents=True, exist_ok=True)
        image_url = images.mapper(article.source, mirror, "/") if images else None
        result.count(_write_article(articles_dir, article, image_url))
    listings = Listings(store.engine)
    sources = listings.list_sources()
    names = {s.slug: s.list_name or s.slug for s in sources}
    wanted = {names[a.source] for a in published}
    sharing = [s for s in sources if names[s.slug] in wanted]
    holding = listings.holding_articles([s.id for s in sharing])
    owners = list_owners((s.id, s.slug, s.list_name) for s in sharing if s.id in holding)
    display = {s.slug: s.name for s in sources}
    for list_name, slug in sorted(owners.items()):
        path = lists_dir / f"{list_name}.md"
        result.lists_written += _write_list(store, path, slug, display[slug], list_size)
    return result


def list_owners(sources: Iterable[tuple[int, str, str | None]]) -> dict[str, str]:
    """List name -> the slug of the source whose articles lists/<name>.md shows, of the
    sources (id, slug, list_name) that hold articles. A source's list page is named by its
    list_name, else its slug; where several share a name, the page shows the last of them by
    id (publish_markdown has always written each over the one before)."""
    return {list_name or slug: slug for _, slug, list_name in sorted(sources)}


def _write_article(articles_dir: Path, article: Article, image_url: ImageURL | None) -> bool:
    return write_if_changed(
        articles_dir / article.source / f"{article.number}.md", render_article(article, image_url)
    )


def _write_list(store: Store, path: Path, slug: str, name: str, list_size: int) -> bool:
    """The list page of source `slug`: its newest `list_size` articles."""
    newest = list(store.articles(source=slug, limit=list_size, with_content=False))
    return write_if_changed(path, render_list(name, newest))


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def import_markdown(
    store: Store, directory: Path, *, now: int, media_to: Path | None = None
) -> ImportResult:
    """Read an archive in this format into the store, keeping every article's number.
    Files already imported are skipped; a malformed file is reported and passed over. With
    `media_to` (the archive's top folder), the copies in directory/media/ that articles link
    to (`/media/...`) are brought into its media/, each checked to be the raster image its
    name says (its digest, its first bytes)."""
    from newsvault.normalize import text_and_images

    articles_dir = directory / "articles"
    if not articles_dir.is_dir():
        raise ImportFormatError(f"{directory}: no articles/ folder; give the archive's top folder")
    result = ImportResult()
    names: dict[str, tuple[str, str]] = {}
    lists_dir = directory / "lists"
    for path in sorted(lists_dir.glob("*.md")) if lists_dir.is_dir() else []:
        try:
            parsed = parse_list(path.read_text(encoding="utf-8"), str(path))
        except (ImportFormatError, UnicodeDecodeError) as exc:
            result.errors.append(_one_line(exc, path))
            continue
        for slug in parsed.slugs:
            names[slug] = (parsed.name, path.stem)
    for folder in sorted(p for p in articles_dir.iterdir() if p.is_dir()):
        slug = folder.name
        name, list_name = names.get(slug, (slug, slug))
        source_id = store.ensure_source(slug, name, list_name=list_name)
        for path in sorted(folder.glob("*.md")):
            try:
                if not path.stem.isdigit():
                    raise ImportFormatError(f"{path}: the file name must be the article number")
                parsed_article = parse_article(path.read_text(encoding="utf-8"), str(path))
            except (ImportFormatError, UnicodeDecodeError) as exc:
                result.errors.append(_one_line(exc, path))
                continue
            text, images = text_and_images(parsed_article.content)
            if media_to is not None:
                _bring_media(directory, media_to, [i.src for i in images])
            article = Article(
                source=slug,
                number=int(path.stem),
                key=parsed_article.url,
                url=parsed_article.url,
                title=parsed_article.title,
                html=parsed_article.content,
                text=text,
                published=parsed_article.published,
                fetched=now,
                images=[i.as_dict() for i in images],
            )
            if store.import_article(source_id, article):
                result.imported += 1
            else:
                result.skipped += 1
    return result


def _bring_media(directory: Path, root: Path, sources: list[str]) -> None:
    """Copy the media/ files these image links name from `directory` into `root`."""
    for src in sources:
        name = media_path(src)
        if name is None or (root / name).exists() or directory.resolve() == root.resolve():
            continue
        try:
            body = (directory / name).read_bytes()
        except OSError:  # an archive without its media/: the link stays, the image is missing
            continue
        kind = sniff(body)
        digest = hashlib.sha256(body).hexdigest()
        if kind is None or media_name(digest, kind[0]) != name:
            continue  # not what its name says: never served from the archive
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(root / name, body)


def _one_line(exc: Exception, path: Path) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{path}: not UTF-8 text"
    return str(exc)
