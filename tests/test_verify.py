"""`newsvault verify` and the checksums every publish writes (SHA256SUMS at the archive's
root): archives archived from loopback feeds, mirrors as real git clones, checked with
`newsvault verify` and with `sha256sum -c`."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.files import write_atomic
from newsvault.loopback import LoopbackServer, Route
from newsvault.publish import checksums
from newsvault.publish.checksums import (
    CACHE,
    DETAILS,
    SUMS,
    format_sums,
    parse_sums,
    write_checksums,
)
from newsvault.verify import verify

from .conftest import make_archive
from .feedgen import rss
from .test_cli import serve_feeds

runner = CliRunner()
PARTS = ("articles", "lists", "media", "site", "captures")


def cli(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


@pytest.fixture(autouse=True)
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def archived(tmp_path: Path, server: LoopbackServer, **counts: int) -> Archive:
    """An archive that ran once over loopback feeds, its site built, an image in media/."""
    archive = make_archive(tmp_path / "news", serve_feeds(server, counts or {"alpha": 3}))
    cli("-a", str(archive.root), "run")
    (archive.media_dir / "ab").mkdir()
    write_atomic(archive.media_dir / "ab" / ("ab" + "0" * 62 + ".png"), b"\x89PNG\r\n\x1a\n")
    cli("-a", str(archive.root), "publish", "site")
    return archive


def only_capture(archive: Archive) -> str:
    """The one capture file a run wrote: 00001.warc.gz (00001.HOST.warc.gz on PostgreSQL)."""
    (found,) = archive.captures_dir.glob("*.warc.gz")
    return f"captures/{found.name}"


def recomputed(root: Path) -> dict[str, str]:
    """Every file of the parts hashed afresh (writers' temporaries and the captures folder's
    other files aside), without the code under test."""
    found = {}
    for part in PARTS:
        for path in sorted((root / part).rglob("*")):
            name = path.relative_to(root).as_posix()
            if not path.is_file() or path.name.endswith(".tmp"):
                continue
            if part == "captures" and not path.name.endswith(".warc.gz"):
                continue
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def listed(root: Path) -> dict[str, str]:
    """SHA256SUMS, with the open captures of SHA256SUMS.json (their size is the whole file
    while no one appends)."""
    sums = parse_sums((root / SUMS).read_text(encoding="utf-8"))
    details = json.loads((root / DETAILS).read_text(encoding="utf-8"))
    return sums | {path: entry["sha256"] for path, entry in details["open"].items()}


def sha256sum_check(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sha256sum", "-c", "--quiet", "--strict", *extra, SUMS],
        cwd=root,
        capture_output=True,
        text=True,
    )


def test_publish_writes_checksums_a_standard_tool_accepts(
    tmp_path: Path, server: LoopbackServer
) -> None:
    archive = archived(tmp_path, server)
    root = archive.root
    assert listed(root) == recomputed(root)
    parts = {path.split("/", 1)[0] for path in listed(root)}
    assert parts == set(PARTS)  # the markdown, the site, the image and the captures
    details = json.loads((root / DETAILS).read_text(encoding="utf-8"))
    assert list(details["open"]) == [only_capture(archive)]  # the newest capture file
    assert only_capture(archive) not in parse_sums((root / SUMS).read_text())
    assert sha256sum_check(root).returncode == 0

    result = cli("verify", str(root))
    assert "Intact" in result.output and "not held" not in result.output
    for part in PARTS:
        assert part in result.output
    # the archive itself is the default
    assert "Intact" in cli("-a", str(root), "verify").output


@pytest.mark.parametrize("harm", ["alter a byte", "delete", "add", "alter a capture"])
def test_each_harm_is_named(tmp_path: Path, server: LoopbackServer, harm: str) -> None:
    archive = archived(tmp_path, server)
    root = archive.root
    article = sorted(archive.articles_dir.rglob("*.md"))[0]
    name = article.relative_to(root).as_posix()
    if harm == "alter a byte":
        data = bytearray(article.read_bytes())
        data[len(data) // 2] ^= 0x01
        article.write_bytes(bytes(data))
        said = f"changed: {name}"
    elif harm == "delete":
        article.unlink()
        said = f"missing: {name}"
    elif harm == "add":
        (root / "site" / "extra.html").write_text("<p>planted</p>", encoding="utf-8")
        said = "not listed: site/extra.html"
    else:  # the open capture file, within the bytes the checksums cover
        capture = root / only_capture(archive)
        data = bytearray(capture.read_bytes())
        data[100] ^= 0xFF
        capture.write_bytes(bytes(data))
        said = f"changed: {only_capture(archive)}"
    result = cli("verify", str(root), code=1)
    assert said in result.output
    assert "Not intact: 1 file missing, changed or not listed" in result.output
    problems = [line for line in result.output.splitlines() if ": " in line and "/" in line]
    assert len([p for p in problems if p.startswith(("changed", "missing", "not listed"))]) == 1


def test_a_git_mirror_clone_verifies_what_it_holds(tmp_path: Path, server: LoopbackServer) -> None:
    archive = archived(tmp_path, server)
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(mirror)], check=True)
    with archive.config_path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[publish.git]\nremotes = ["{mirror}"]\n')
    cli("-a", str(archive.root), "publish", "git")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(mirror), str(clone)], check=True)
    assert not (clone / "captures").exists() and not (clone / "site").exists()
    assert not (clone / CACHE).exists()  # the cache is this machine's

    result = cli("verify", str(clone))
    assert "Intact" in result.output
    assert "this copy does not hold site, captures" in result.output
    assert "not held by this copy" in result.output
    # standard tools: every file the clone holds checks out, the others are skipped
    assert sha256sum_check(clone, "--ignore-missing").returncode == 0
    # --complete: what is not held is missing
    complete = cli("verify", "--complete", str(clone), code=1)
    assert f"missing: {only_capture(archive)}" in complete.output

    (clone / "lists" / "alpha.md").write_text("rewritten\n", encoding="utf-8")
    assert "changed: lists/alpha.md" in cli("verify", str(clone), code=1).output
    assert sha256sum_check(clone, "--ignore-missing").returncode == 1


def test_publish_git_commits_the_checksums_as_they_are_then(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """An image mirrored after the last publish is committed with a line of its own."""
    archive = archived(tmp_path, server)
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(mirror)], check=True)
    with archive.config_path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[publish.git]\nremotes = ["{mirror}"]\n')
    (archive.media_dir / "cd").mkdir()
    write_atomic(archive.media_dir / "cd" / ("cd" + "1" * 62 + ".png"), b"\x89PNG\r\n\x1a\nB")
    cli("-a", str(archive.root), "publish", "git")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(mirror), str(clone)], check=True)
    assert f"media/cd/cd{'1' * 62}.png" in (clone / SUMS).read_text()
    assert "Intact" in cli("verify", str(clone)).output


def test_incremental_publishes_keep_the_checksums_exact(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs that archive more, edits and a removed source's files: after each, what the
    cache-driven update wrote equals a full recompute. A change is trusted to show in its
    folder's mtime after 50 ms here (2 s in use), so the folders the cache holds are
    taken from it, not looked at."""
    monkeypatch.setattr(checksums, "RACY_NS", 50_000_000)
    archive = archived(tmp_path, server, alpha=3, beta=2)
    root = archive.root
    for step, counts in enumerate(({"alpha": 5, "beta": 2}, {"alpha": 5, "beta": 6}), start=1):
        for name, count in counts.items():
            server.set(
                f"/{name}.xml",
                Route(rss(name, count, base=server.base_url), etag=f'"{name}-{count}-{step}"'),
            )
        cli("-a", str(root), "run")
        assert listed(root) == recomputed(root), step
        assert cli("verify", str(root)).exit_code == 0
    # a file of a folder the cache holds, replaced as every writer replaces one
    lists = root / "lists" / "alpha.md"
    time.sleep(0.1)
    write_checksums(root)  # everything older than RACY_NS now: trusted from here on
    time.sleep(0.1)
    write_atomic(lists, lists.read_text(encoding="utf-8") + "\n")
    shutil.rmtree(root / "articles" / "beta")
    time.sleep(0.1)
    report = write_checksums(root)
    assert report.hashed == 1  # the one changed file, nothing else read
    assert listed(root) == recomputed(root)
    time.sleep(0.1)
    again = write_checksums(root)
    assert again.hashed == 0 and not again.written
    # a new process reads the cache from newsvault.sums: still nothing read
    before = (root / SUMS).read_bytes()
    checksums._kept.clear()
    assert write_checksums(root).hashed == 0
    assert (root / SUMS).read_bytes() == before
    # the lists changed or removed by hand: written again, whichever process publishes
    for process in ("daemon", "command"):
        (root / SUMS).write_text("tampered\n", encoding="utf-8")
        (root / DETAILS).unlink()
        if process == "command":
            checksums._kept.clear()
        assert write_checksums(root).hashed == 0
        assert (root / SUMS).read_bytes() == before and (root / DETAILS).is_file()
    # a cache that cannot be read: every file read again, the same list
    checksums._kept.clear()
    (root / CACHE).write_text("f\tnot a number\n", encoding="utf-8")
    assert write_checksums(root).hashed == len(recomputed(root))
    assert (root / SUMS).read_bytes() == before


def test_a_capture_file_open_for_appending(tmp_path: Path, server: LoopbackServer) -> None:
    """The newest capture file is checked up to the size it had; once a newer one exists
    (and no writer holds it) it moves to SHA256SUMS; a capture file begun since the
    checksums were written is named, not a fault."""
    archive = archived(tmp_path, server)
    root = archive.root
    first = root / only_capture(archive)
    size = first.stat().st_size
    with open(first, "ab") as fh:  # a writer appends after the publish
        fh.write(b"appended record")
    result = cli("verify", str(root))
    assert "Intact" in result.output
    later = first.with_name(first.name.replace("00001.", "00002.", 1))  # the writer's next
    later.write_bytes(b"a new file")
    result = cli("verify", str(root))
    assert "Intact" in result.output and "1 capture file begun since" in result.output

    with open(later, "ab") as holder:  # a writer holds the new file
        fcntl.flock(holder, fcntl.LOCK_EX)
        report = write_checksums(root)
    sums = parse_sums((root / SUMS).read_text())
    details = json.loads((root / DETAILS).read_text())
    assert sums[f"captures/{first.name}"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert list(details["open"]) == [f"captures/{later.name}"]
    assert report.open_captures == 1 and first.stat().st_size > size
    assert sha256sum_check(root).returncode == 0


def test_a_growing_capture_is_read_from_where_it_was(tmp_path: Path) -> None:
    """In one process, an open capture's digest is carried on: each write reads what was
    appended since, and gives the digest of the whole file."""
    root = tmp_path / "news"
    (root / "captures").mkdir(parents=True)
    capture = root / "captures" / "00001.warc.gz"
    capture.write_bytes(os.urandom(300_000))
    write_checksums(root)
    with open(capture, "ab") as fh:
        fh.write(os.urandom(1000))
    report = write_checksums(root)
    details = json.loads((root / DETAILS).read_text())
    entry = details["open"]["captures/00001.warc.gz"]
    assert entry == {"size": 301_000, "sha256": hashlib.sha256(capture.read_bytes()).hexdigest()}
    assert report.hashed == 1


def test_names_that_need_escaping_round_trip_through_sha256sum(tmp_path: Path) -> None:
    root = tmp_path / "news"
    (root / "media").mkdir(parents=True)
    (root / "media" / "back\\slash.png").write_bytes(b"x")
    (root / "media" / "new\nline.png").write_bytes(b"y")
    write_checksums(root)
    text = (root / SUMS).read_text(encoding="utf-8")
    assert text.count("\n") == 2 and all(line.startswith("\\") for line in text.splitlines())
    assert set(parse_sums(text)) == {"media/back\\slash.png", "media/new\nline.png"}
    assert format_sums(parse_sums(text)) == text
    assert sha256sum_check(root).returncode == 0
    assert verify(root).intact


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    result = cli("verify", str(tmp_path / "nowhere"), code=2)
    assert "not a directory" in result.stderr and result.stderr.count("\n") == 1
    result = cli("verify", str(tmp_path), code=2)
    assert "no SHA256SUMS here" in result.stderr and result.stderr.count("\n") == 1
    (tmp_path / SUMS).write_text("not a checksum line\n", encoding="utf-8")
    result = cli("verify", str(tmp_path), code=2)
    assert "line 1" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
