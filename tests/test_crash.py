"""A run killed with SIGKILL at any moment, then run again, ends where an uninterrupted run ends."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsvault.archive import Archive
from newsvault.captures import read_capture
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive
from .feedgen import rss

FEEDS, ITEMS = 10, 40


def newsvault(archive: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "newsvault", "-a", str(archive), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def state(archive: Archive) -> tuple[list[tuple], dict[str, bytes]]:
    store = archive.store()
    rows = sorted(
        (a.source, a.number, a.key, a.url, a.title, a.html, a.published) for a in store.articles()
    )
    for article in store.articles():
        capture = store.capture(article.capture_id or 0)
        status, _, body = read_capture(archive.captures_dir, capture.warc_file, capture.warc_offset)
        assert status == 200 and article.title.encode() in body
    store.close()
    files = {
        p.relative_to(archive.root).as_posix(): p.read_bytes()
        for folder in (archive.articles_dir, archive.lists_dir)
        for p in folder.rglob("*")
        if p.is_file()
    }
    return rows, files


def test_sigkill_then_rerun_ends_in_the_same_state(tmp_path: Path, server: LoopbackServer) -> None:
    sources = []
    for n in range(FEEDS):
        name = f"f{n}"
        server.set(f"/{name}.xml", Route(rss(name, ITEMS, base=server.base_url), delay=0.08))
        sources.append((name, name, server.url(f"/{name}.xml")))
    reference = make_archive(tmp_path / "reference", sources, per_host=1)
    victim = make_archive(tmp_path / "victim", sources, per_host=1)

    assert newsvault(reference.root).wait(timeout=60) == 0
    expected = state(reference)
    assert len(expected[0]) == FEEDS * ITEMS

    chance = random.Random(20240619)
    kills = 0
    for _ in range(6):
        process = newsvault(victim.root)
        time.sleep(chance.uniform(0.4, 2.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    assert kills >= 3, "the runs finished before they could be killed: make them slower"
    final = newsvault(victim.root)
    assert final.wait(timeout=60) == 0, final.stderr.read() if final.stderr else ""

    rows, files = state(victim)
    assert rows == expected[0]
    assert files == expected[1]
    assert not list(victim.root.rglob("*.tmp"))
