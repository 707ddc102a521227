"""Publishers told what changed: the markdown archive and the static site brought up to date
with a Change give the files full builds of the same database give, at a cost that follows the
change (the files written, and no query reading the whole archive), and one publisher failing
never stops another."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import event

from newsvault.archive import Archive
from newsvault.captures import CaptureRef
from newsvault.models import Article
from newsvault.publish import manifest as manifest_module
from newsvault.publish.changes import Change
from newsvault.publish.images import media_name
from newsvault.publish.manifest import JOURNAL, MANIFEST, Manifest
from newsvault.publish.markdown import publish_markdown
from newsvault.publish.publishers import (
    MarkdownPublisher,
    SitePublisher,
    image_links,
    publish_changes,
    publishers_for,
)
from newsvault.publish.site import STATE, build_site
from newsvault.store import Store
from newsvault.store.db import content_hash
from newsvault.store.schema import media
from newsvault.store.watch import Finding
from newsvault.stories.process import process_pending

from .conftest import make_archive
from .test_site import SEED_TEXT, T0, article, png, seeded

HOUR = 3_600_000


def prose(rng: random.Random, sentences: int = 4) -> str:
    """Text no other article shares: no story, no copy, unless made so."""
    return "".join(
        "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(30)) + "。"
        for _ in range(sentences)
    )


def items(slug: str, numbers: range, rng: random.Random, hours: int = 0) -> list[Article]:
    return [
        article(slug, n, f"{slug} 第{n}篇 {prose(rng, 1)[:8]}", f"<p>{prose(rng)}</p>", hours + n)
        for n in numbers
    ]


def add(store: Store, slug: str, found: list[Article], capture: CaptureRef | None = None):
    """Store `found` in source `slug`; the change it makes."""
    change = Change()
    stored = store.add_articles(store.source_states()[slug].id, found, capture)
    for item in stored.new:
        change.article(item.id, slug)
    return change


def capture(root: Path, body: bytes) -> CaptureRef:
    """A response kept in captures/ (the site copies its record into site/captures/)."""
    path = root / "captures" / "00000.warc.gz"
    offset = path.stat().st_size if path.exists() else 0
    with open(path, "ab") as fh:
        fh.write(body)
    return CaptureRef("https://voa.example/p", 200, "text/html", "sha256:0", path.name, offset,
                      len(body), T0 / 1000)  # fmt: skip


def mirrored(store: Store, root: Path, url: str, width: int) -> None:
    """The image at `url` as if mirrored into media/."""
    body = png(width)
    digest = hashlib.sha256(body).hexdigest()
    (root / media_name(digest, "image/png")).parent.mkdir(parents=True, exist_ok=True)
    (root / media_name(digest, "image/png")).write_bytes(body)
    row = dict(url=url, digest=digest, mime="image/png", size=len(body), outcome="ok", fetched=T0)
    with store.engine.begin() as conn:
        conn.execute(media.insert().values(**row))


def archive_with_history(root: Path) -> Archive:
    """Three sources (pics mirrors its images, and its list page is voa's; rfa dates in
    Taipei time), a story told twice, two hundred articles over nine days (voa two pages of
    100), feeds with absolute links; built and published."""
    archive = seeded(root, images={"pics": "mirror"})
    config = root / "newsvault.toml"
    text = config.read_text().replace(
        'url = "https://rfa.example/feed"\n',
        'url = "https://rfa.example/feed"\ntimezone = "Asia/Taipei"\n',
    )
    config.write_text(text + '\n[site]\nbase_url = "https://mirror.example/news"\n')
    archive = Archive(root)
    store = archive.store()
    rng = random.Random(3)
    add(store, "voa", items("voa", range(2, 190), rng), capture(root, b"WARC/1.0 voa\r\n"))
    add(store, "rfa", items("rfa", range(3, 25), rng, hours=40))
    pics = '<p>图</p><img src="https://img.example/a.jpg">'
    mirrored(store, root, "https://img.example/a.jpg", 1)
    store.ensure_source("pics", "图片社", list_name="voa")
    add(store, "pics", [article("pics", 1, "图片", pics + f"<p>{prose(rng)}</p>", 5)])
    process_pending(store)
    build_site(store, root, archive.settings, archive.sources())
    publish_markdown(store, root, images=image_links(archive))
    store.close()
    return archive


def files(folder: Path) -> dict[str, bytes]:
    skip = {MANIFEST, JOURNAL}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def fresh(archive: Archive, name: str) -> Path:
    """The same database and captures in another folder, site and markdown built in full."""
    copy = archive.root.parent / name
    ignore = shutil.ignore_patterns("site", "articles", "lists", "*.lock")
    shutil.copytree(archive.root, copy, ignore=ignore)
    other = Archive(copy)
    store = other.store()
    try:
        build_site(store, copy, other.settings, other.sources())
        publish_markdown(
            store, copy, list_size=other.settings["publish.list_size"], images=image_links(other)
        )
    finally:
        store.close()
    return copy


def assert_same(root: Path, other: Path) -> None:
    for part in ("site", "articles", "lists"):
        ours, theirs = files(root / part), files(other / part)
        assert sorted(ours) == sorted(theirs), part
        differ = [path for path in ours if ours[path] != theirs[path]]
        assert differ == [], part
    assert Manifest(root / "site").read() == Manifest(other / "site").read()


def publish(archive: Archive, change: Change) -> dict[str, str]:
    store = archive.store()
    try:
        return publish_changes(store, change, publishers_for(archive))
    finally:
        store.close()


def test_publishing_changes_gives_what_full_builds_give(tmp_path: Path) -> None:
    archive = archive_with_history(tmp_path / "news")
    root, rng = archive.root, random.Random(9)
    store = archive.store()
    treaty = store.article_by_number("rfa", 1048574)
    quiet = store.article_by_number("voa", 1048500)
    assert treaty and treaty.story_id and quiet and quiet.id
    # New articles: a page of voa begun (its neighbour's links change), one on a day of its
    # own, a third report of the treaty (its story and both other reports change), the same
    # news told by two outlets (a new story), with their raw captures.
    change = add(store, "voa", items("voa", range(190, 194), rng, hours=2))
    change.merge(add(store, "voa", items("voa", [400], rng, hours=300)))
    rfa = [article("rfa", 90, "普京与金正恩再签条约", f"<p>{SEED_TEXT}新的一段。</p>", hours=3)]
    change.merge(add(store, "rfa", rfa, capture(root, b"WARC/1.0 rfa\r\n")))
    news = f'<p>{prose(rng, 6)}</p><img src="https://img.example/a.jpg">'
    mirrored(store, root, "https://img.example/b.jpg", 2)
    news += '<img src="https://img.example/b.jpg">'
    change.merge(add(store, "pics", [article("pics", 2, "同一新闻", news, 60)]))
    change.merge(add(store, "rfa", [article("rfa", 91, "同一新闻", news, 61)]))
    # one outlet's news twice, the second a copy: folded in its lists, told by one outlet
    twice = f"<p>{prose(rng, 6)}</p>"
    change.merge(add(store, "voa", [article("voa", n, f"两次 {n}", twice, 7) for n in (500, 501)]))
    # an edit of an old article, and one gone at its source
    title = quiet.title + "（更新）"
    html = quiet.html + "<p>更正：此前报道有误。</p>"
    store.watch.add_page_version(quiet, title, html, content_hash(title, html), seen=T0 + HOUR,
                                 capture_id=None, counted=True)  # fmt: skip
    change.article(quiet.id, "voa")
    store.watch.record_many([(treaty.id, Finding("gone", "404 Not Found"))], now=T0 + 2 * HOUR)
    change.status(treaty.id, "rfa")
    process_pending(store)
    store.close()

    summaries = publish(archive, change)
    assert summaries["markdown"] == "10 written, 2 lists"  # lists/voa.md is pics' page
    assert re.fullmatch(r"\d+ written, \d+ unchanged", summaries["site"]), summaries
    assert_same(root, fresh(archive, "fresh1"))
    site = root / "site"
    deleted = (site / "deleted/index.html").read_text(encoding="utf-8")
    assert f"articles/rfa/{treaty.number}.html" in deleted
    story = (site / f"stories/{treaty.story_id}.html").read_text(encoding="utf-8")
    reports = story.split('<ol class="articles told">')[1].split("</ol>")[0]
    assert reports.count("<li>") == 3  # the third report joined the story
    assert len(list((site / "media").rglob("*.png"))) == 2
    assert '<details class="copies">' in (site / "sources/voa/index.html").read_text("utf-8")
    assert "(台北时间)" in (site / "articles/rfa/1048574.html").read_text("utf-8")
    assert (root / "lists/voa.md").read_text(encoding="utf-8").startswith("图片社\n")

    # again: the treaty's report back at its source, another version, another new article
    store = archive.store()
    change = Change()
    store.watch.record_many([(treaty.id, Finding("live", None))], now=T0 + 3 * HOUR)
    change.status(treaty.id, "rfa")
    html += "<p>再次更正。</p>"
    store.watch.add_page_version(quiet, title, html, content_hash(title, html), seen=T0 + 4 * HOUR,
                                 capture_id=None, counted=True)  # fmt: skip
    change.article(quiet.id, "voa")
    change.merge(add(store, "voa", items("voa", [401], rng, hours=5)))
    process_pending(store)
    store.close()
    publish(archive, change)
    assert_same(root, fresh(archive, "fresh2"))
    assert (root / "site" / JOURNAL).is_file()  # what the publishes wrote, in the log

    # the manifest holds all they wrote: a full build in place rewrites nothing, and deletes
    # the pages of an article taken down
    store = archive.store()
    try:
        again = build_site(store, root, archive.settings, archive.sources())
        assert (again.written, again.deleted) == (0, 0)
        gone = store.article_by_url("https://voa.example/401.html")
        assert gone and gone.id and store.remove_article(gone.id, T0)
        removed = build_site(store, root, archive.settings, archive.sources())
    finally:
        store.close()
    assert removed.deleted == 2  # its page, and the page of its day: it was the day's only one
    assert not (root / f"site/articles/voa/{gone.number}.html").exists()
    assert not (root / "site" / JOURNAL).exists()
    assert files(root / "site") == files(fresh(archive, "fresh3") / "site")


def test_a_new_article_costs_one_article(tmp_path: Path) -> None:
    """In an archive of a few thousand articles, one more writes its own page and the pages
    listing it, and no query reads the whole archive."""
    archive = make_archive(tmp_path / "news", [])
    root, rng = archive.root, random.Random(5)
    store = archive.store()
    for slug in ("a", "b", "c"):
        store.ensure_source(slug, slug.upper())
        add(store, slug, [article(slug, n, f"第{n}篇", f"<p>{n}</p>", n) for n in range(950)])
    build_site(store, root, archive.settings, archive.sources())
    publish_markdown(store, root)
    publishers = publishers_for(archive)
    assert [p.name for p in publishers] == ["markdown", "site"]
    publish_changes(store, Change(articles={1}, sources={"a"}), publishers)  # the state, warm
    before = stamps(root)
    change = add(store, "b", [article("b", 5000, "新的一篇", f"<p>{prose(rng)}</p>", 951)])
    statements = plans(store)
    summaries = publish_changes(store, change, publishers)
    store.close()
    assert summaries == {"markdown": "1 written, 1 list", "site": "8 written, 5 unchanged"}
    assert touched(root, before) == {
        "articles/b/1047624.md", "lists/b.md",
        "site/articles/b/1047624.html", "site/sources/b/index.html", "site/sources/b/10.html",
        "site/days/2024-07-29.html", "site/days/index.html", "site/index.html",
        "site/feeds/b.atom", "site/feeds/all.atom", f"site/{STATE}", f"site/{JOURNAL}",
    }  # fmt: skip
    if store.engine.dialect.name == "sqlite":  # PostgreSQL's planner may scan a small table
        scans = [plan for plan in statements if re.search(r"\bSCAN articles(?! USING)", plan)]
        assert statements and scans == []


def test_an_image_mirrored_after_publishing_is_a_change(tmp_path: Path) -> None:
    """What the watcher's image job tells the publishers (its article, once a copy of one of
    its images is new): the markdown file, the article's page and the feeds showing it come
    out as full builds make them."""
    archive = archive_with_history(tmp_path / "news")
    root = archive.root
    store = archive.store()
    html = '<p>后来</p><img src="https://img.example/later.jpg">'
    news = article("pics", 3, "图片晚到", html + f"<p>{prose(random.Random(4))}</p>", 1)
    change = add(store, "pics", [news])
    store.close()
    publish(archive, change)
    before = stamps(root)
    md = root / "articles/pics/1048573.md"
    assert 'src="https://img.example/later.jpg"' in md.read_text(encoding="utf-8")
    store = archive.store()
    mirrored(store, root, "https://img.example/later.jpg", 5)
    store.close()
    summaries = publish(archive, Change(articles=set(change.articles), sources={"pics"}))
    assert summaries["markdown"] == "1 written, 0 lists"  # the list page shows no image
    assert 'src="/media/' in md.read_text(encoding="utf-8")
    changed = touched(root, before)
    assert {"site/feeds/pics.atom", "site/articles/pics/1048573.html"} <= changed
    assert "https://mirror.example/news/media/" in (root / "site/feeds/pics.atom").read_text(
        encoding="utf-8"
    )
    assert_same(root, fresh(archive, "fresh"))


def stamps(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
        for folder in ("articles", "lists", "site")
        for p in (root / folder).rglob("*")
        if p.is_file()
    }


def touched(root: Path, before: dict[str, tuple[int, int]]) -> set[str]:
    return {path for path, stamp in stamps(root).items() if before.get(path) != stamp}


def plans(store: Store) -> list[str]:
    """The query plan of every SELECT the store runs from now on, as one line each."""
    found: list[str] = []
    if store.engine.dialect.name != "sqlite":
        return found

    def explain(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not executemany:
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            found.append(" | ".join(row[3] for row in rows))

    event.listen(store.engine, "before_cursor_execute", explain)
    return found


def test_one_failing_publisher_does_not_stop_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "broken"

        def publish(self, store: Store, change: Change) -> str:
            raise RuntimeError("disk\non fire")

    archive = seeded(tmp_path / "news")
    store = archive.store()
    change = add(store, "voa", [article("voa", 7, "新闻", "<p>正文</p>", 1)])
    with caplog.at_level(logging.ERROR):
        summaries = publish_changes(store, change, [Broken(), MarkdownPublisher(archive.root)])
    store.close()
    assert summaries == {
        "broken": "failed: RuntimeError: disk on fire",
        "markdown": "1 written, 1 list",
    }
    assert (archive.root / "articles/voa/1048573.md").is_file()
    assert "publishing broken failed" in caplog.text and "disk" in caplog.text


def test_which_publishers_and_when_the_site_is_built_in_full(tmp_path: Path) -> None:
    archive = seeded(tmp_path / "news")
    assert [p.name for p in publishers_for(archive)] == ["markdown"]  # no site built yet
    assert [p.name for p in publishers_for(archive, site=False)] == ["markdown"]
    store = archive.store()
    change = add(store, "voa", [article("voa", 7, "新闻", "<p>正文</p>", 1)])
    site = SitePublisher(archive)
    assert site.publish(store, change).startswith("full build: ")  # never built: in full
    assert (archive.root / "site/index.html").is_file()
    assert [p.name for p in publishers_for(archive)] == ["markdown", "site"]
    assert site.publish(store, Change()) == "nothing changed"
    change = add(store, "voa", [article("voa", 8, "又一条", "<p>正文二</p>", 2)])
    assert not site.publish(store, change).startswith("full")
    # a site built by an earlier version (no state), or with other settings: in full
    (archive.root / "site" / STATE).unlink()
    change = add(store, "voa", [article("voa", 9, "三", "<p>正文三</p>", 3)])
    assert site.publish(store, change).startswith("full build: ")
    config = archive.root / "newsvault.toml"
    config.write_text(config.read_text() + '\n[site]\ntitle = "新闻存档"\n')
    change = add(store, "voa", [article("voa", 10, "四", "<p>正文四</p>", 4)])
    assert SitePublisher(Archive(archive.root)).publish(store, change).startswith("full build")
    store.close()
    assert "新闻存档" in (archive.root / "site/index.html").read_text(encoding="utf-8")


def test_the_manifest_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    manifest = Manifest(folder)
    manifest.replace({"a.html": "1", "b.html": "2"})
    manifest.update({"b.html": "3", "c.html": "4"})
    assert Manifest(folder).read() == {"a.html": "1", "b.html": "3", "c.html": "4"}
    assert json.loads((folder / MANIFEST).read_text()) == {"a.html": "1", "b.html": "2"}
    with open(folder / JOURNAL, "ab") as fh:  # a line a killed process left half-written
        fh.write(b'{"base": "x", "pag')
    manifest.update({"d.html": "5"})
    assert Manifest(folder).read() == {"a.html": "1", "b.html": "3", "c.html": "4", "d.html": "5"}
    # a log left from before the manifest was written again says nothing of the new one
    log = (folder / JOURNAL).read_bytes()
    Manifest(folder).replace({"a.html": "9"})
    (folder / JOURNAL).write_bytes(log)
    assert Manifest(folder).read() == {"a.html": "9"}
    # and once the log is as large as the manifest, the manifest is written whole again
    monkeypatch.setattr(manifest_module, "COMPACT_MIN_BYTES", 10)
    manifest = Manifest(folder)
    manifest.update({"e.html": "6"})
    assert not (folder / JOURNAL).exists()
    assert json.loads((folder / MANIFEST).read_text()) == {"a.html": "9", "e.html": "6"}
