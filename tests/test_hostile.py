"""The hostile-input suite: public corpora of bad input through every command and the API.

feedparser's test corpus (as served, with its `Header:` lines, and again with a guid in
every item so that linkless items really go through), DOMPurify's XSS payloads and the
naughty strings as titles, bodies, authors and links in RSS, Atom and JSON Feed go through
`run` (twice), `publish site`, `publish markdown`, `export` and the web API. Then: no
traceback anywhere, no active markup in any output file or API answer, and the archive still
archives, searches and publishes.

`make test` runs a sample (every 12th corpus file, every payload); the whole corpus is
marked `slow` and runs in CI (.ci/run) and with `pytest -m slow`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newsvault.loopback import LoopbackServer

from .conftest import make_archive
from .feedgen import rss
from .hostile_feeds import (
    Served,
    corpus_files,
    naughty_strings,
    payloads,
    serve_corpus,
    serve_strings,
)
from .inert import active_in_json, active_markup
from .test_web import serving

SAMPLE_EVERY = 12
SHOWN = 4  # articles `show`n one by one (export and the API cover all of them)
OUTPUT_SUFFIXES = (".md", ".html", ".atom")


@dataclass
class Outcome:
    root: Path
    served: list[Served]
    logs: list[tuple[str, subprocess.CompletedProcess[str]]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def newsvault(
        self, *args: str, codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "newsvault", "-a", str(self.root), *args],
            capture_output=True,
            text=True,
            timeout=1500,
            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(self.root)},
        )
        self.logs.append((" ".join(args), done))
        name = args[0]
        self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started
        assert done.returncode in codes, (args, done.returncode, done.stderr[-3000:])
        return done


def _archive_all(
    tmp_path: Path, server: LoopbackServer, files: list[Path], *, whole: bool
) -> Outcome:
    served = serve_corpus(server, files, guids=False) + serve_corpus(server, files, guids=True)
    served += serve_strings(server, "xss", payloads(), spread=not whole)
    served += serve_strings(server, "naughty", naughty_strings(), spread=not whole)
    sources = [(s.slug, s.slug, server.url(s.path)) for s in served]
    root = make_archive(tmp_path / "hostile", sources, retries=0, timeout=10.0).root
    outcome = Outcome(root, served)
    outcome.newsvault("run", codes=(0, 1))  # 1: some corpus documents are not feeds at all
    outcome.newsvault("run", codes=(0, 1))
    outcome.newsvault("publish", "site")
    outcome.newsvault("publish", "markdown")
    outcome.newsvault("export", "--format", "jsonl", "--output", str(tmp_path / "all.jsonl"))
    outcome.newsvault("export", "--format", "warc", "--output", str(tmp_path / "all.warc.gz"))
    return outcome


def _check(outcome: Outcome, tmp_path: Path, server: LoopbackServer) -> dict[str, int]:
    root = outcome.root
    for command, done in outcome.logs:
        assert "Traceback" not in done.stdout + done.stderr, (command, done.stderr[-3000:])
    listed = json.loads(outcome.newsvault("list", "--json").stdout)
    by_source: dict[str, int] = {}
    for article in listed:
        by_source[article["source"]] = by_source.get(article["source"], 0) + 1
    states = json.loads(outcome.newsvault("sources", "list", "--json").stdout)
    failed = [s for s in states if s["last_error"]]
    for state in states:  # each error and note is one line
        for text in (state["last_error"], state["note"]):
            assert text is None or "\n" not in text, state

    found: list[tuple[str, str]] = []
    for folder in ("articles", "lists", "site"):
        for path in (root / folder).rglob("*"):
            if path.suffix in OUTPUT_SUFFIXES:
                text = path.read_text(encoding="utf-8")
                found += [
                    (str(path), f) for f in active_markup(text, markdown=path.suffix == ".md")
                ]
    exported = (tmp_path / "all.jsonl").read_text(encoding="utf-8")
    found += [("export", f) for f in active_in_json(exported)]
    for article in listed[:: max(1, len(listed) // SHOWN)]:
        shown = outcome.newsvault("show", str(article["id"]), "--format", "json").stdout
        found += [(f"show {article['id']}", f) for f in active_in_json(shown)]
        markdown = outcome.newsvault("show", str(article["id"]), "--format", "md").stdout
        found += [(f"show md {article['id']}", f) for f in active_markup(markdown, markdown=True)]
    found += _through_the_api(root, listed)
    assert found == [], found[:20]

    # still a working archive: a normal feed archives, searches and publishes
    outcome.newsvault(
        "sources", "add", server.url("/after.xml"), "--name", "After", "--slug", "after"
    )
    outcome.newsvault("run", "--source", "after")
    assert "after 新闻 2" in outcome.newsvault("list", "--source", "after").stdout
    assert json.loads(outcome.newsvault("search", "平壤", "--json").stdout)
    outcome.newsvault("publish", "site")
    return {
        "sources": len(states),
        "failed": len(failed),
        "articles": len(listed),
        "plain corpus": sum(
            n
            for slug, n in by_source.items()
            if slug.startswith("fp") and not slug.startswith("fpg")
        ),
        "corpus with guids": sum(n for slug, n in by_source.items() if slug.startswith("fpg")),
        "payload items": sum(n for slug, n in by_source.items() if slug.startswith("xss")),
    }


def _through_the_api(root: Path, listed: list[dict]) -> list[tuple[str, str]]:
    found = []
    with serving(root) as base:
        for article in listed[:: max(1, len(listed) // 300)]:
            for path in (
                f"/api/articles/{article['id']}",
                f"/articles/{article['source']}/{article['number']}.html",
            ):
                status, body = _get(base + path)
                assert status in (200, 404), (path, status)
                if path.startswith("/api/"):
                    found += [(path, f) for f in active_in_json(body)]
                else:
                    found += [(path, f) for f in active_markup(body)]
        for query in (
            "script",
            "alert",
            "javascript",
            "<img src=x onerror=alert(1)>",
            "普京",
            "'\"><svg/onload=alert(1)>",
        ):
            quoted = urllib.parse.quote(query)
            status, body = _get(f"{base}/api/search?q={quoted}")
            assert status in (200, 400), (query, status, body[:300])
            found += [(f"api search {query}", f) for f in active_in_json(body)]
            status, body = _get(f"{base}/search?q={quoted}")
            assert status == 200, (query, status)
            found += [(f"search {query}", f) for f in active_markup(body)]
        for path in ("/", "/api/stories", "/api/sources"):
            status, body = _get(base + path)
            assert status == 200, path
            found += [
                (path, f)
                for f in (active_in_json(body) if "/api/" in path else active_markup(body))
            ]
    return found


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        from newsvault.loopback import Route

        server.set(
            "/after.xml", Route(rss("after", 3), headers={"Content-Type": "application/rss+xml"})
        )
        yield server


def test_hostile_sample(tmp_path: Path, loopback: LoopbackServer) -> None:
    files = corpus_files(every=SAMPLE_EVERY)
    outcome = _archive_all(tmp_path, loopback, files, whole=False)
    figures = _check(outcome, tmp_path, loopback)
    print(figures, {k: round(v, 1) for k, v in outcome.seconds.items()})
    assert figures["corpus with guids"] > figures["plain corpus"] > 0
    assert figures["payload items"] >= len(payloads()) * 0.9


@pytest.mark.slow
def test_hostile_whole_corpus(tmp_path: Path, loopback: LoopbackServer) -> None:
    files = corpus_files()
    assert len(files) > 2000, "feedparser's corpus is missing from tests/data/hostile"
    outcome = _archive_all(tmp_path, loopback, files, whole=True)
    figures = _check(outcome, tmp_path, loopback)
    print(figures, {k: round(v, 1) for k, v in outcome.seconds.items()})
    # most of the corpus's items have neither a link nor a guid: only the guids let them in
    assert figures["corpus with guids"] > 1000 and figures["plain corpus"] > 100
    assert figures["payload items"] >= len(payloads()) * 12 * 0.95
