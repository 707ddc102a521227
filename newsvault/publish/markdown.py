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
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from newsvault.errors import ImportFormatError
from newsvault.files import remove_stale_temporaries, write_if_changed
from newsvault.models import CHINA_TIME, Article
from newsvault.store import Store

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


def flatten(html: str) -> str:
    """Each line stripped of surrounding white space, lines joined with nothing."""
    return "".join(line.strip() for line in html.splitlines())


def markdown_title(title: str) -> str:
    """A title as the text of a markdown link: it renders as the same text everywhere."""
    return _TITLE_SPECIAL.sub(lambda m: _TITLE_ESCAPES[m.group()], title.strip())


def plain_title(written: str) -> str:
    """The title `markdown_title` wrote."""
    return _TITLE_ESCAPED.sub(lambda m: _TITLE_PLAIN[m.group()], written)


def render_article(article: Article) -> str:
    return (
        f"<!--{article.published}-->\n"
        f"[{markdown_title(article.title)}]({_link_target(article.url)})\n"
        "------\n\n"
        f"{flatten(article.html)}\n"
    )


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
    store: Store, root: Path, *, list_size: int = 300, only_missing: bool = False
) -> PublishResult:
    """(Re)write articles/ and lists/ from the store. With `only_missing`, article files that
    exist are left alone (articles never change once archived); lists are always checked."""
    result = PublishResult()
    articles_dir, lists_dir = root / "articles", root / "lists"
    for folder in (articles_dir, lists_dir):
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(folder)
    for slug, state in store.source_states().items():
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
        for article in to_write:
            if write_if_changed(folder / f"{article.number}.md", render_article(article)):
                result.written += 1
            else:
                result.unchanged += 1
        newest = list(store.articles(source=slug, limit=list_size, with_content=False))
        if write_if_changed(
            lists_dir / f"{state.list_name or slug}.md", render_list(state.name, newest)
        ):
            result.lists_written += 1
    return result


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    errors: list[str] | None = None


def import_markdown(store: Store, directory: Path, *, now: int) -> ImportResult:
    """Read an archive in this format into the store, keeping every article's number.
    Files already imported are skipped; a malformed file is reported and passed over."""
    from newsvault.normalize import text_and_images

    articles_dir = directory / "articles"
    if not articles_dir.is_dir():
        raise ImportFormatError(f"{directory}: no articles/ folder; give the archive's top folder")
    result = ImportResult(errors=[])
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


def _one_line(exc: Exception, path: Path) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{path}: not UTF-8 text"
    return str(exc)
