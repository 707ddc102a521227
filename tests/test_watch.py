"""`newsvault watch` against a loopback newsroom: polls on each source's interval, re-checks
as they fall due, submissions, other commands working meanwhile, SIGTERM and SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import feedparser
import uvicorn
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.logs import EventLog
from newsvault.loopback import LoopbackServer, Route
from newsvault.pipeline import SourceReport
from newsvault.watch.daemon import Watcher
from newsvault.web.app import server_config

from .conftest import make_archive
from .feedgen import rss
from .test_crash import state
from .test_recheck import EDITED, HTML, page

runner = CliRunner()
RSS = {"Content-Type": "application/rss+xml"}


def start_watch(root: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "newsvault", "-a", str(root), "watch", "--log-format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        env=env,
    )


def until(condition: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


def cli(root: Path, *args: str) -> str:
    result = runner.invoke(app, ["-a", str(root), *args])
    assert result.exit_code == 0, (args, result.exit_code, result.output, result.exception)
    return result.output


def summary_feed(base: str, slugs: list[str]) -> bytes:
    items = "".join(
        f"<item><guid>{s}</guid><title>{s} 报道</title><link>{base}/a/{s}.html</link>"
        "<description>摘要。</description></item>"
        for s in slugs
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>N</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


def articles_of(root: Path) -> dict[str, int]:
    store = Archive(root).store()
    try:
        return {a.url.rsplit("/", 1)[-1]: a.id or 0 for a in store.articles(with_content=False)}
    finally:
        store.close()


def test_watch_follows_the_newsroom_while_other_commands_run(
    tmp_path: Path, server: LoopbackServer
) -> None:
    base = server.base_url
    server.set("/", Route(b"<html><body>home</body></html>", headers=HTML))
    server.set("/feed.xml", Route(summary_feed(base, ["edited", "deleted", "kept"]), headers=RSS))
    server.set("/more.xml", Route(summary_feed(base, ["later"]), headers=RSS))
    for slug in ("edited", "deleted", "kept", "later", "asked"):
        server.set(f"/a/{slug}.html", Route(page(f"{slug} 报道"), headers=HTML))
    root = tmp_path / "news"
    make_archive(root, [("news", "N", server.url("/feed.xml"))])
    with (root / "newsvault.toml").open("a") as config:
        config.write('interval = "1s"\n\n[watch]\ninterval = "1h"\nrecheck = ["4s", "8s"]\n')
    cli(root, "publish", "site")  # built once: the watcher keeps it up to date from then on
    log = tmp_path / "watch.log"
    watch = start_watch(root, log)
    try:
        until(lambda: len(articles_of(root)) == 3, "the feed's three articles")
        ids = articles_of(root)
        server.set("/a/edited.html", Route(page("edited 报道", EDITED), headers=HTML))
        server.set("/a/deleted.html", Route(b"gone", status=404, headers=HTML))

        # the command line works meanwhile, and a source added there is picked up
        cli(root, "sources", "add", server.url("/more.xml"), "--name", "M", "--slug", "more")
        assert "kept 报道" in cli(root, "list")
        cli(root, "search", "普京")
        assert "new" in cli(root, "archive", server.url("/a/asked.html"))
        cli(root, "publish", "markdown")
        cli(root, "run")  # the cron form too, polling the same feeds at the same time
        cli(root, "recheck", str(ids["kept.html"]))
        until(lambda: "later.html" in articles_of(root), "the source added meanwhile")

        def gone_and_edited() -> bool:
            shown = {
                slug: json.loads(cli(root, "show", str(ids[f"{slug}.html"]), "--format", "json"))
                for slug in ("edited", "deleted", "kept")
            }
            return shown["deleted"]["status"] == "gone" and shown["edited"]["versions"] == 1

        until(gone_and_edited, "the re-checks to find the deletion and the edit")
        diff = json.loads(cli(root, "diff", str(ids["edited.html"]), "--json"))
        (edit,) = [v for v in diff["versions"] if v["edit"]]
        changes = [change for paragraph in edit["diff"]["paragraphs"] for change in paragraph]
        assert ["delete", "三"] in changes and ["insert", "二"] in changes, changes
        kept = json.loads(cli(root, "show", str(ids["kept.html"]), "--format", "json"))
        assert kept["status"] == "live" and kept["versions"] == 0
        assert server.hits("/feed.xml") >= 2  # its own 1 s interval (backing off), not 1 h

        def deleted_on_the_site() -> bool:
            gone_feed = root / "site" / "feeds" / "deleted.atom"
            return gone_feed.is_file() and b"deleted" in gone_feed.read_bytes()

        until(deleted_on_the_site, "the site's deleted feed to show the deletion")
        entries = feedparser.parse((root / "site/feeds/deleted.atom").read_bytes()).entries
        assert [e.title for e in entries] == ["deleted 报道"]
        edited_page = (root / "site/edited/index.html").read_text(encoding="utf-8")
        assert "edited 报道" in edited_page and "kept 报道" not in edited_page
    finally:
        started = time.monotonic()
        watch.send_signal(signal.SIGTERM)
        code = watch.wait(timeout=15)
        took = time.monotonic() - started
    assert code == 0 and took < 10, (code, took, log.read_text()[-2000:])
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "stopped"
    gone = [e for e in lines if e["event"] == "recheck" and e.get("status") == "gone"]
    assert [e["url"] for e in gone] == [server.url("/a/deleted.html")]
    assert gone[0]["reason"].startswith("http-404")
    assert (root / "articles" / "more").is_dir()  # published as it went


def test_watch_killed_at_random_moments_loses_nothing(
    tmp_path: Path, server: LoopbackServer
) -> None:
    sources = []
    for n in range(4):
        name = f"f{n}"
        server.set(f"/{name}.xml", Route(rss(name, 30, base=server.base_url), delay=0.25))
        sources.append((name, name, server.url(f"/{name}.xml")))
    reference = make_archive(tmp_path / "reference", sources, per_host=1)
    victim = make_archive(tmp_path / "victim", sources, per_host=1)
    cli(reference.root, "run")
    log = tmp_path / "watch.log"
    chance = random.Random(os.environ.get("PYTHONHASHSEED", "7"))
    for _ in range(4):
        watch = start_watch(victim.root, log)
        time.sleep(chance.uniform(0.8, 2.5))
        watch.kill()
        watch.wait()
    before = log.stat().st_size if log.exists() else 0  # a watcher killed early logged nothing
    watch = start_watch(victim.root, log)
    try:
        until(lambda: '"started"' in log.read_bytes()[before:].decode(), "the last watcher")
        until(lambda: _all_polled(victim), "every source polled after the kills", 60)
    finally:
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(timeout=15) == 0
    assert state(Archive(victim.root)) == state(reference)


def _all_polled(archive: Archive) -> bool:
    store = archive.store()
    try:
        jobs = [store.jobs.get("poll", slug) for slug in ("f0", "f1", "f2", "f3")]
        states = store.source_states()
    finally:
        store.close()
    return (
        all(
            job is not None and job.lease_owner is None and states[job.target].last_success
            for job in jobs
        )
        and (archive.root / "lists").exists()
    )


def test_polls_back_off_on_failures_and_quiet_feeds(tmp_path: Path) -> None:
    root = tmp_path / "news"
    make_archive(root, [("a", "A", "http://127.0.0.1:9/feed.xml")])
    with (root / "newsvault.toml").open("a") as config:
        config.write('\n[watch]\ninterval = "10m"\nmax_interval = "1h"\n')
    watcher = Watcher(root, events=_silent())
    watcher.store = Archive(root).store()
    source = Archive(root).sources()[0]
    minutes = []
    for new in (0, 0, 0, 0, 2, 0):
        report = SourceReport(slug="a", name="A", new=new)
        minutes.append(watcher._interval(source, report) // 60_000)
    watcher.store.close()
    assert minutes == [20, 40, 60, 60, 10, 20]


def _silent():

    return EventLog(stream=open(os.devnull, "w"))


def test_serve_with_watch_polls_and_publishes_the_site(
    tmp_path: Path, server: LoopbackServer
) -> None:
    base = server.base_url
    server.set("/feed.xml", Route(summary_feed(base, ["one"]), headers=RSS))
    server.set("/a/one.html", Route(page("one 报道"), headers=HTML))
    root = tmp_path / "news"
    make_archive(root, [("news", "N", server.url("/feed.xml"))])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app_server = uvicorn.Server(server_config(root, watch=True, events=_silent()))
    thread = threading.Thread(target=app_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    try:
        until(lambda: app_server.started, "the app to start")

        def listed() -> bool:
            query = urllib.parse.quote("普京")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q={query}") as answer:
                return bool(json.loads(answer.read())["results"])

        until(listed, "the feed's article, polled by the app's own watcher")
        until(
            lambda: any((root / "site" / "articles").rglob("*.html")),
            "the site to be published with it",
        )
    finally:
        app_server.should_exit = True
        thread.join(timeout=20)
        sock.close()
    assert not thread.is_alive()
