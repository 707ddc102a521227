"""Feeds of hostile input, served from a loopback server: feedparser's test corpus as it is
and with a guid given to every item, and DOMPurify's payloads and the naughty strings placed
as titles, bodies, authors and links in RSS, Atom and JSON Feed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from newsvault.loopback import LoopbackServer, Route

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "hostile" / "feedparser" / "tests"
_HEADER = re.compile(rb"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.M)
_ITEM_START = re.compile(rb"<((?:\w+:)?(?:item|entry))(\s[^>]*)?>", re.I)
ROLES = ("title", "body", "author", "link")


@dataclass(frozen=True)
class Served:
    slug: str
    path: str
    description: str


def corpus_files(every: int = 1) -> list[Path]:
    """The corpus files, in a fixed order; every `every`-th one for a sample."""
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    return files[::every]


def headers_of(body: bytes) -> dict[str, str]:
    """The response headers a corpus file asks to be served with (its `Header:` lines)."""
    found = {}
    for name, value in _HEADER.findall(body[:4096]):
        found[name.decode("latin-1")] = value.decode("latin-1")
    if not any(name.lower() == "content-type" for name in found):
        found["Content-Type"] = "application/json" if body.lstrip()[:1] == b"{" else "text/xml"
    return found


def with_guids(body: bytes, prefix: str) -> bytes:
    """The same document with a guid (RSS) or id (Atom) opening every item, so items without
    a link are archived too; a JSON Feed gets an "id" in every item."""
    if body.lstrip()[:1] == b"{":
        try:
            document = json.loads(body)
        except ValueError:
            return body
        for number, item in enumerate(document.get("items") or []):
            if isinstance(item, dict):
                item.setdefault("id", f"{prefix}-{number}")
        return json.dumps(document).encode()
    counter = iter(range(1_000_000))

    def add(match: re.Match[bytes]) -> bytes:
        tag = match.group(1)
        prefix_ns = tag.split(b":")[0] + b":" if b":" in tag else b""
        name = b"id" if tag.lower().endswith(b"entry") else b"guid"
        guid = f"{prefix}-{next(counter)}".encode()
        return (
            match.group(0) + b"<" + prefix_ns + name + b">" + guid + b"</" + prefix_ns + name + b">"
        )

    return _ITEM_START.sub(add, body)


def serve_corpus(server: LoopbackServer, files: list[Path], *, guids: bool) -> list[Served]:
    served = []
    for number, path in enumerate(files):
        body = path.read_bytes()
        slug = f"fp{'g' if guids else ''}{number}"
        if guids:
            body = with_guids(body, slug)
        route = "/" + slug + "/" + path.name
        server.set(route, Route(body, headers=headers_of(body)))
        served.append(Served(slug, route, str(path.relative_to(CORPUS))))
    return served


def payloads() -> list[str]:
    documents = json.loads((DATA / "domxss" / "payloads.json").read_text(encoding="utf-8"))
    return [entry["payload"] for entry in documents]


def naughty_strings() -> list[str]:
    return json.loads((DATA / "hostile" / "naughty" / "blns.json").read_text(encoding="utf-8"))


def _values(role: str, value: str, number: int, base: str) -> dict[str, str]:
    fields = {
        "title": f"条目 {number}",
        "body": f"<p>正文 {number}：俄罗斯总统普京周三抵达平壤。</p>",
        "author": "记者",
        "link": f"{base}/a/{role}/{number}.html",
    }
    fields[role] = value
    return fields


def rss(strings: list[str], role: str, base: str) -> bytes:
    items = []
    for number, value in enumerate(strings):
        f = _values(role, value, number, base)
        items.append(
            f'<item><guid isPermaLink="false">rss-{role}-{number}</guid>'
            f"<title>{escape(f['title'])}</title><link>{escape(f['link'])}</link>"
            f"<author>{escape(f['author'])}</author>"
            f"<description>{escape(f['body'])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>RSS</title>'
        f"<link>{base}/</link>{''.join(items)}</channel></rss>"
    ).encode("utf-8", "surrogatepass")


def atom(strings: list[str], role: str, base: str) -> bytes:
    entries = []
    for number, value in enumerate(strings):
        f = _values(role, value, number, base)
        href = escape(f["link"], {'"': "&quot;"})
        entries.append(
            f'<entry><id>atom-{role}-{number}</id><title type="html">{escape(f["title"])}</title>'
            f'<link rel="alternate" href="{href}"/>'
            f"<author><name>{escape(f['author'])}</name></author>"
            f"<updated>2024-06-19T13:39:24Z</updated>"
            f'<content type="html">{escape(f["body"])}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Atom</title><id>{base}/</id><updated>2024-06-19T13:39:24Z</updated>"
        f"{''.join(entries)}</feed>"
    ).encode("utf-8", "surrogatepass")


def json_feed(strings: list[str], role: str, base: str) -> bytes:
    items = []
    for number, value in enumerate(strings):
        f = _values(role, value, number, base)
        items.append(
            {
                "id": f"json-{role}-{number}",
                "url": f["link"],
                "title": f["title"],
                "content_html": f["body"],
                "authors": [{"name": f["author"]}],
                "date_published": "2024-06-19T13:39:24Z",
            }
        )
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON", "items": items}
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")


FORMATS = {"rss": (rss, "application/rss+xml"), "atom": (atom, "application/atom+xml"),
           "json": (json_feed, "application/feed+json")}  # fmt: skip


def serve_strings(
    server: LoopbackServer, name: str, strings: list[str], *, spread: bool = False
) -> Iterator[Served]:
    """A feed per format and role, each with one item per string; `spread`: each string in
    one feed only, taking turns (a sample that still puts every string through once)."""
    combinations = [(kind, role) for kind in FORMATS for role in ROLES]
    for turn, (kind, role) in enumerate(combinations):
        build, content_type = FORMATS[kind]
        slug = f"{name}-{kind}-{role}"
        route = f"/{slug}"
        chosen = strings[turn :: len(combinations)] if spread else strings
        body = build(chosen, role, server.base_url)
        server.set(route, Route(body, headers={"Content-Type": content_type}))
        yield Served(slug, route, f"{name} as {role} in {kind}")
