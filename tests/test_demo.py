"""`newsvault demo`: the recorded sites archived offline make an archive like a real one.

Every stored URL is the real one (nothing of the loopback server's port anywhere), the article
pages are fetched and extracted, an article left with its feed's summary says so on its page,
images point at their origin (never through an image proxy), a second demo adds and writes
nothing, and `run` afterwards tries the real feeds and fails each with one line when the
network is not there.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault import pipeline
from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.demo import DATA, demo_config, demo_sources, local_url, run_demo
from newsvault.errors import ArchiveError
from newsvault.fetch.client import Fetcher, FetchOptions, routed
from newsvault.loopback import LoopbackServer, Route
from newsvault.publish.site import build_site
from newsvault.watch.history import summary_only, text_from_page

from .conftest import each_archive_its_database

runner = CliRunner()
TRACES = (b"127.0.0.1", b"localhost", b"{{BASE}}", b"images.weserv.nl")
PAGES_RECORDED = {"bannedbook": 1, "sina": 3, "thepaper": 3, "ifeng": 3}


def demo(directory: Path) -> pipeline.RunReport:
    return run_demo(directory, progress=pipeline.run)


def no_network(*args: object, **kwargs: object) -> object:
    """socket.getaddrinfo on a machine offline."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture(scope="module")
def archive(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Archive]:
    """A demo archive with its site built (shared by the read-only tests below)."""
    root = tmp_path_factory.mktemp("demo") / "demo-archive"
    with each_archive_its_database(request):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(socket, "getaddrinfo", no_network)  # nothing is looked up: all is local
            report = demo(root)
        assert not report.failed
        built = Archive(root)
        store = built.store()
        try:
            build_site(store, root, built.settings, built.sources())
        finally:
            store.close()
        yield built


def every_file(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            yield path, gzip.decompress(data) if path.name.endswith(".gz") else data


def test_routed_requests_go_to_the_stand_in_and_keep_their_url() -> None:
    with LoopbackServer({"/news.example/a/1.html": Route(b"<p>page</p>")}) as server:

        async def fetch() -> tuple[str, bytes]:
            async with Fetcher(FetchOptions(retries=0, respect_robots=False)) as fetcher:
                response = await fetcher.get("https://news.example/a/1.html")
            return response.url, response.body

        with routed(partial(local_url, server.base_url)):
            assert asyncio.run(fetch()) == ("https://news.example/a/1.html", b"<p>page</p>")
        assert server.hits("/news.example/a/1.html") == 1
        assert local_url(server.base_url, "https://h.example/x?id=1") == (
            f"{server.base_url}/h.example/x?id=1"
        )


def test_the_demo_archive_keeps_the_real_urls(archive: Archive) -> None:
    store = archive.store()
    try:
        articles = list(store.articles())
        urls = {a.url for a in articles}
        sources = store.source_names()
    finally:
        store.close()
    assert len(articles) == 17
    assert set(sources) == {s.slug for s in demo_sources()}
    for url in urls:
        assert url.startswith(("https://", "http://www.coolloud.org.tw/")), url
    assert "https://news.sina.com.cn/c/2019-10-23/doc-iicezuev4202091.shtml" in urls
    for path, data in every_file(archive.root):
        if path.suffix in (".db", ".lock") or path.name.endswith(("-wal", "-shm")):
            continue
        if data.startswith(b"database = "):  # NEWSVAULT_TEST_DATABASE=postgresql put it first
            data = data.split(b"\n", 1)[1]
        for trace in TRACES:
            assert trace not in data, (path.relative_to(archive.root), trace)
    config = archive.config_path.read_text(encoding="utf-8")
    if config.startswith("database = "):
        config = config.split("\n", 1)[1]
    assert config == demo_config()
    assert "fetch_full" not in config and "allow_private_networks" not in config


@pytest.mark.sqlite_only
def test_the_database_names_no_loopback_server(archive: Archive) -> None:
    data = (archive.root / "newsvault.db").read_bytes()
    wal = archive.root / "newsvault.db-wal"
    data += wal.read_bytes() if wal.exists() else b""
    for trace in TRACES:
        assert trace not in data, trace


def test_the_demo_fetches_and_extracts_the_recorded_pages(archive: Archive) -> None:
    store = archive.store()
    try:
        articles = list(store.articles())
        from_page = {a.url for a in articles if text_from_page(store, a)}
        flagged = {a.source for a in articles if summary_only(store, a.url, a.capture_id, a.html)}
    finally:
        store.close()
    by_source: dict[str, int] = {}
    for article in articles:
        if article.url in from_page:
            by_source[article.source] = by_source.get(article.source, 0) + 1
            assert len(article.text) > 300, article.url
    assert by_source == PAGES_RECORDED
    assert flagged == {"coolloud"}  # VOA's full text came in its feed: not a summary


def test_summary_only_articles_say_so_on_their_page(archive: Archive) -> None:
    pages = sorted((archive.root / "site" / "articles").glob("*/*.html"))
    assert len(pages) == 17
    for page in pages:
        noted = "仅摘要" in page.read_text(encoding="utf-8")
        assert noted == (page.parent.name == "coolloud"), page


def test_images_point_at_their_origin(archive: Archive) -> None:
    voa = (archive.root / "articles" / "voa" / "1048574.md").read_text(encoding="utf-8")
    assert voa.count('src="https://gdb.voanews.com/') == 2
    assert "weserv" not in voa


def test_a_second_demo_adds_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "demo-archive"
    assert demo(root).new == 17
    files = {path: data for path, data in every_file(root / "articles")}
    files |= {path: data for path, data in every_file(root / "lists")}
    again = demo(root)
    assert again.new == 0 and not again.failed
    assert again.published.written == 0
    assert {path: data for path, data in every_file(root / "articles")} | {
        path: data for path, data in every_file(root / "lists")
    } == files


def test_demo_twice_from_the_command_line(tmp_path: Path) -> None:
    root = str(tmp_path / "demo-archive")
    first = runner.invoke(app, ["demo", root])
    assert first.exit_code == 0, first.output
    assert "17 new articles from 6 of 6 sources" in first.output
    second = runner.invoke(app, ["demo", root])
    assert second.exit_code == 0, second.output
    assert "0 new articles from 6 of 6 sources; 0 markdown files written" in second.output


def test_run_after_the_demo_fails_each_source_in_one_line_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "demo-archive"
    demo(root)
    config = root / "newsvault.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[fetch]\nretries = 0\n")
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    archive = Archive(root)
    report = pipeline.run(archive, archive.sources())
    assert [s.slug for s in report.failed] == [s.slug for s in demo_sources()]
    for source in report.failed:
        assert source.error is not None and "\n" not in source.error
        assert "Name or service not known" in source.error, source.error
        assert "127.0.0.1" not in source.error


def test_an_older_demo_archive_is_refused_with_what_to_do(tmp_path: Path) -> None:
    root = tmp_path / "demo-archive"
    root.mkdir()
    (root / "newsvault.toml").write_text(
        "# newsvault demo archive: feeds served from a loopback server.\n\n[[sources]]\n"
        'slug = "voa"\nname = "VOA"\nurl = "http://127.0.0.1:34851/voa/rss.xml"\n',
        encoding="utf-8",
    )
    with pytest.raises(ArchiveError, match=r"older newsvault.*remove it"):
        demo(root)
    (root / "newsvault.toml").write_text("[[sources]]\n", encoding="utf-8")
    with pytest.raises(ArchiveError, match="not a demo"):
        demo(root)


def test_the_recorded_files_are_all_that_is_served() -> None:
    served = {p.relative_to(DATA / "site").as_posix() for p in (DATA / "site").rglob("*")}
    assert "demo.newsvault.invalid/sina/rss.xml" in served
    assert not any(name.startswith(("voa/", "sina/", "bannedbook/")) for name in served)


def test_the_taiwanese_outlet_keeps_taipei_time(archive: Archive) -> None:
    config = archive.config_path.read_text(encoding="utf-8")
    assert 'timezone = "Asia/Taipei"' in config
    page = next((archive.site_dir / "articles/coolloud").glob("*.html")).read_text(encoding="utf-8")
    assert "台北时间" in page and "北京时间" not in page
