"""The bundled demo data (newsvault/demo/data, built by scripts/build_demo_data.py) is sound.

Each feed parses with fastfeedparser and feedparser once the bytes are read in the charset their
headers declare; every item has a title, a link and a date; every link, guid and image is a
real web address (none on a loopback server, none through an image proxy); the link of every
source whose pages were recorded names a served page; the VOA item is seed 000.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import fastfeedparser
import feedparser
import pytest
from lxml import etree

from newsvault.feeds import parse_feed
from newsvault.normalize import sanitize_html, text_and_images
from newsvault.watch.history import FULL_TEXT_CHARS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "newsvault" / "demo" / "data"
SITE = DATA / "site"
SHARED = REPO.parent / "shared"
SEED_000 = REPO / "tests" / "data" / "voa-1048574.md"  # ../shared/seeds/000_246f2ee7f0d083f4.txt

EXPECTED_ITEMS = {
    "voa": 1,
    "bannedbook": 1,
    "sina": 3,
    "thepaper": 3,
    "ifeng": 3,
    "coolloud": 6,
}
EXPECTED_CHARSETS = {
    "voa": "utf-8",
    "bannedbook": "utf-8",
    "sina": "gbk",
    "thepaper": "utf-8",
    "ifeng": "utf-8",
    "coolloud": "big5",
}
VOA_URL = (
    "https://www.voachinese.com/a/putin-signs-partnership-pact-with-kim-as-pyongyang-welcomes-"
    "russian-leader-with-fanfare-20240619/7661786.html"
)
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"


def load_config() -> dict[str, Any]:
    with (DATA / "demo.toml").open("rb") as handle:
        return tomllib.load(handle)


CONFIG = load_config()
SOURCES: list[dict[str, str]] = CONFIG["sources"]
HEADERS: dict[str, dict[str, str]] = CONFIG["headers"]
SLUGS = [source["slug"] for source in SOURCES]


def site_path(url: str) -> str:
    """Where the demo serves the file standing for `url` (newsvault.demo.local_url)."""
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}"


def charset_of(url: str) -> str:
    match = re.search(r"charset=([\w-]+)", HEADERS[site_path(url)]["Content-Type"])
    assert match, f"no charset declared for {url}"
    return match.group(1).lower()


def source(slug: str) -> dict[str, str]:
    return next(entry for entry in SOURCES if entry["slug"] == slug)


def served(url: str) -> bytes:
    """The file the demo serves for `url`, byte for byte."""
    return (SITE / site_path(url)).read_bytes()


def is_json_feed(url: str) -> bool:
    return url.endswith(".json")


def entry_date(entry: Any) -> Any:
    return entry.get("published") or entry.get("updated")


def test_config_lists_the_sources_and_their_files() -> None:
    assert list(EXPECTED_ITEMS) == SLUGS
    for entry in SOURCES:
        assert set(entry) - {"fetch_full", "timezone"} == {"slug", "name", "url", "note"}
        assert entry["name"].strip() and entry["note"].strip()
        assert entry["url"].startswith("https://")
        assert (SITE / site_path(entry["url"])).is_file(), entry["url"]
    assert [e["slug"] for e in SOURCES if e.get("fetch_full") == "never"] == ["coolloud"]
    served_files = {path.relative_to(SITE).as_posix() for path in SITE.rglob("*") if path.is_file()}
    assert set(HEADERS) == served_files
    for headers in HEADERS.values():
        assert "charset=" in headers["Content-Type"]


def test_nothing_names_a_loopback_server_or_an_image_proxy() -> None:
    """The archive keeps the URLs the feeds give: they must be the real ones."""
    for path in [*SITE.rglob("*"), DATA / "demo.toml", DATA / "SOURCES.md"]:
        if path.is_file():
            data = path.read_bytes()
            for trace in (b"127.0.0.1", b"localhost", b"{{BASE}}", b"images.weserv.nl"):
                assert trace not in data, (path, trace)


@pytest.mark.parametrize("slug", SLUGS)
def test_feed_is_encoded_in_its_declared_charset(slug: str) -> None:
    url = source(slug)["url"]
    charset = charset_of(url)
    assert charset == EXPECTED_CHARSETS[slug]
    raw = served(url)
    raw.decode(charset)
    if charset != "utf-8":
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    if not is_json_feed(url):
        declaration = re.match(rb'<\?xml version="1.0" encoding="([\w-]+)"\?>', raw)
        assert declaration, "no XML declaration"
        assert declaration.group(1).decode("ascii") == charset


@pytest.mark.parametrize("slug", SLUGS)
def test_feed_parses_with_fastfeedparser(slug: str) -> None:
    parsed = fastfeedparser.parse(served(source(slug)["url"]))
    assert parsed.feed.get("title")
    assert len(parsed.entries) == EXPECTED_ITEMS[slug]
    for entry in parsed.entries:
        assert entry.get("title", "").strip()
        assert entry.get("link", "").startswith(("http://", "https://"))
        assert entry_date(entry)
        assert entry.get("id")


@pytest.mark.parametrize("slug", SLUGS)
def test_feed_parses_with_feedparser(slug: str) -> None:
    url = source(slug)["url"]
    data = served(url)
    if is_json_feed(url):
        # feedparser 6 has no JSON Feed support: check the document against JSON Feed 1.1.
        document = json.loads(data)
        assert document["version"] == "https://jsonfeed.org/version/1.1"
        assert document["feed_url"] == url
        entries = document["items"]
        assert len(entries) == EXPECTED_ITEMS[slug]
        for item in entries:
            assert item["id"] and item["title"] and item["url"]
            assert item.get("content_html") or item.get("content_text")
            assert datetime.fromisoformat(item["date_published"]).tzinfo is not None
        return
    content_type = HEADERS[site_path(url)]["Content-Type"]
    parsed = feedparser.parse(data, response_headers={"content-type": content_type})
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.encoding == charset_of(url)
    assert len(parsed.entries) == EXPECTED_ITEMS[slug]
    for entry in parsed.entries:
        assert entry.get("title", "").strip()
        assert entry.get("link", "").startswith(("http://", "https://"))
        assert entry.get("published_parsed") or entry.get("updated_parsed")
        assert entry.get("id")


def test_only_voa_gives_full_text_the_others_summaries() -> None:
    """The demo shows both: full text in the feed (VOA), and summaries whose pages it
    fetches and extracts (or keeps as they are where no page was recorded)."""
    for entry in SOURCES:
        url = entry["url"]
        feed = parse_feed(served(url), HEADERS[site_path(url)]["Content-Type"], url)
        assert len(feed.items) == EXPECTED_ITEMS[entry["slug"]]
        for item in feed.items:
            text = text_and_images(sanitize_html(item.content_html, item.url))[0]
            summary = item.is_summary or len(text) < FULL_TEXT_CHARS  # as `run` judges it
            assert summary == (entry["slug"] != "voa"), (entry["slug"], item.title)
            assert text.strip()


def test_every_recorded_page_is_linked_and_served() -> None:
    linked = 0
    for entry in SOURCES:
        parsed = fastfeedparser.parse(served(entry["url"]))
        links = [item["link"] for item in parsed.entries]
        assert len(links) == EXPECTED_ITEMS[entry["slug"]]
        for link in links:
            assert link.startswith(("http://", "https://")), link
            if entry["slug"] == "voa":  # full text in the feed: no page needed
                continue
            page = SITE / site_path(link)
            if entry.get("fetch_full") == "never":
                assert not page.exists(), link
                continue
            assert page.is_file(), link
            assert HEADERS[site_path(link)]["Content-Type"].startswith("text/html")
            linked += 1
    assert linked == 10  # bannedbook 1, sina 3, thepaper 3, ifeng 3


def test_voa_first_item_is_seed_000() -> None:
    lines = SEED_000.read_text(encoding="utf-8").split("\n")
    published_ms = int(lines[0].removeprefix("<!--").removesuffix("-->"))
    link_line = re.fullmatch(r"\[(.*)\]\((\S+)\)", lines[1])
    assert link_line, lines[1]
    title, url = link_line.groups()
    # The seed's archiver sent VOA's images through an image proxy; VOA's feed did not.
    proxied = "https://images.weserv.nl?url=gdb.voanews.com/"
    assert lines[4].count(proxied) == 2
    content = lines[4].replace(proxied, "https://gdb.voanews.com/")
    raw = served(source("voa")["url"])

    item = etree.fromstring(raw).find("channel/item")
    assert item is not None
    encoded = item.find(f"{{{NS_CONTENT}}}encoded")
    assert encoded is not None and encoded.text is not None
    assert encoded.text.encode("utf-8") == content.encode("utf-8")
    assert item.findtext("guid") == url == VOA_URL
    assert item.findtext("pubDate") == "Wed, 19 Jun 2024 13:59:02 GMT"
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert enclosure.get("url", "").startswith("https://gdb.voanews.com/")

    entry = fastfeedparser.parse(raw).entries[0]
    assert entry["content"][0]["value"].encode("utf-8") == content.encode("utf-8")
    assert entry["title"] == title
    assert entry["link"] == url
    assert entry["id"] == url
    published = datetime.fromisoformat(entry["published"])
    assert published == datetime.fromtimestamp(published_ms / 1000, tz=UTC)

    parsed = feedparser.parse(raw)
    assert parsed.entries[0].title == title
    assert parsed.entries[0].link == url
    assert datetime(*parsed.entries[0].published_parsed[:6], tzinfo=UTC) == published


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_demo_data", REPO / "scripts" / "build_demo_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared (seeds and datasets)")
def test_data_is_what_the_script_builds() -> None:
    builder = load_builder()
    site = builder.Site()
    sources = builder.build_sources(site)
    for built in sources:
        site.add(built.channel.feed_file, built.render(built.channel), built.content_type)
    on_disk = {path.relative_to(SITE).as_posix() for path in SITE.rglob("*") if path.is_file()}
    assert set(site.files) == on_disk
    for path, (data, content_type) in site.files.items():
        assert (SITE / path).read_bytes() == data, path
        assert HEADERS[path]["Content-Type"] == content_type
    toml_text = (DATA / "demo.toml").read_text(encoding="utf-8")
    assert builder.demo_toml(sources, site) == toml_text
