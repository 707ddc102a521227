"""`newsvault publish git`: real git, mirrors as bare repositories in a temporary directory."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.errors import ArchiveError
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import Article
from newsvault.publish.git import commit_message, publish_git, redact
from newsvault.publish.markdown import publish_markdown

from .conftest import make_archive

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No identity or other settings from the machine: the fallback identity is used."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    return done.stdout


def bare(path: Path) -> Path:
    git("init", "-q", "--bare", str(path))
    return path


def archive_with_mirrors(tmp_path: Path, remotes: list[str], **git_settings: object) -> Archive:
    archive = make_archive(tmp_path / "news", [])
    lines = ["", "[publish.git]", "remotes = [" + ", ".join(f'"{r}"' for r in remotes) + "]"]
    lines += [f"{key} = {str(value).lower()}" for key, value in git_settings.items()]
    with archive.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return Archive(archive.root)


def add_articles(archive: Archive, numbers: range) -> None:
    store = archive.store()
    try:
        source_id = store.ensure_source("alpha", "ALPHA 新闻")
        items = [
            Article(
                source="alpha",
                key=f"alpha-{n}",
                url=f"https://news.example.com/alpha/{n}.html",
                title=f"新闻 {n}",
                html=f"<p>第{n}条新闻。</p>",
                text=f"第{n}条新闻。",
                published=1718805542000 + n * 60_000,
                fetched=1718805600000,
            )
            for n in numbers
        ]
        store.add_articles(source_id, items, None)
        publish_markdown(store, archive.root)
    finally:
        store.close()


def publish(archive: Archive, code: int):
    result = runner.invoke(app, ["-a", str(archive.root), "publish", "git"])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def mirror_log(mirror: Path, branch: str = "main") -> list[str]:
    return git("--git-dir", str(mirror), "log", "--format=%H %s", branch).splitlines()


def mirror_files(mirror: Path, branch: str = "main") -> list[str]:
    return git("--git-dir", str(mirror), "ls-tree", "-r", "--name-only", branch).splitlines()


def test_commits_and_pushes_to_every_good_remote(tmp_path: Path) -> None:
    one, two = bare(tmp_path / "one.git"), bare(tmp_path / "two.git")
    missing = tmp_path / "missing.git"
    archive = archive_with_mirrors(
        tmp_path, [str(one), str(missing), "http://127.0.0.1:9/x.git", str(two)]
    )
    add_articles(archive, range(3))

    first = publish(archive, code=1)
    assert "newsvault: 3 articles added" in first.output
    head = git("-C", str(archive.root), "rev-parse", "HEAD").strip()
    for mirror in (one, two):
        assert mirror_log(mirror) == [f"{head} newsvault: 3 articles added"]
        assert mirror_files(mirror) == [
            "SHA256SUMS", "SHA256SUMS.json", "articles/alpha/1048572.md",
            "articles/alpha/1048573.md", "articles/alpha/1048574.md", "lists/alpha.md",
        ]  # fmt: skip
    assert "pushed" in first.output and "failed" in first.output
    # Only the published folders and their checksums: never the database, captures,
    # settings, the lock or the checksums' cache.
    tracked = git("-C", str(archive.root), "ls-files").split()
    assert all(
        path.startswith(("articles/", "lists/")) or path in ("SHA256SUMS", "SHA256SUMS.json")
        for path in tracked
    )
    assert "newsvault.db*" in (archive.root / ".gitignore").read_text(encoding="utf-8")

    second = publish_git(Archive(archive.root))
    assert second.commit is None and second.head == head
    assert [(p.remote, p.outcome) for p in second.pushes] == [
        (str(one), "up to date"),
        (str(missing), "failed"),
        ("http://127.0.0.1:9/x.git", "failed"),
        (str(two), "up to date"),
    ]
    assert "does not appear to be a git repository" in (second.pushes[1].error or "")
    assert "127.0.0.1 port 9" in (second.pushes[2].error or "")
    assert all("\n" not in (p.error or "") for p in second.pushes)
    assert git("-C", str(archive.root), "rev-list", "--count", "HEAD").strip() == "1"
    assert "Nothing new to commit" in publish(archive, code=1).output

    add_articles(archive, range(3, 5))
    third = publish(archive, code=1)
    assert "newsvault: 2 articles added" in third.output
    for mirror in (one, two):
        log = mirror_log(mirror)
        assert len(log) == 2 and log[0].endswith("newsvault: 2 articles added")
        assert "articles/alpha/1048570.md" in mirror_files(mirror)


def test_no_remotes_commits_only_and_says_how_to_add_them(tmp_path: Path) -> None:
    archive = archive_with_mirrors(tmp_path, [])
    add_articles(archive, range(2))
    result = publish(archive, code=0)
    assert "newsvault: 2 articles added" in result.output
    assert "No remotes configured" in result.output and "[publish.git]" in result.output
    assert git("-C", str(archive.root), "rev-list", "--count", "HEAD").strip() == "1"


def test_site_is_committed_only_when_configured(tmp_path: Path) -> None:
    without = bare(tmp_path / "without.git")
    archive = archive_with_mirrors(tmp_path / "a", [str(without)], branch='"pages"')
    add_articles(archive, range(1))
    (archive.root / "site").mkdir()
    (archive.root / "site" / "index.html").write_text("<h1>新闻</h1>", encoding="utf-8")
    publish(archive, code=0)
    assert not any(f.startswith("site/") for f in mirror_files(without, "pages"))
    assert git("-C", str(archive.root), "branch", "--show-current").strip() == "pages"

    with_site = bare(tmp_path / "with.git")
    archive = archive_with_mirrors(tmp_path / "b", [str(with_site)], site=True)
    add_articles(archive, range(1))
    (archive.root / "site").mkdir()
    (archive.root / "site" / "index.html").write_text("<h1>新闻</h1>", encoding="utf-8")
    publish(archive, code=0)
    assert "site/index.html" in mirror_files(with_site)
    (archive.root / "site" / "index.html").write_text("<h1>新闻 2</h1>", encoding="utf-8")
    assert "newsvault: site updated" in publish(archive, code=0).output
    assert mirror_log(with_site)[0].endswith("newsvault: site updated")


def test_a_diverged_mirror_is_reported_and_left_alone(tmp_path: Path) -> None:
    mirror = bare(tmp_path / "m.git")
    archive = archive_with_mirrors(tmp_path, [str(mirror)])
    add_articles(archive, range(1))
    publish(archive, code=0)
    other = tmp_path / "clone"
    git("clone", "-q", "-b", "main", str(mirror), str(other))
    (other / "README").write_text("x", encoding="utf-8")
    git("-C", str(other), "add", "README")
    git("-C", str(other), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "x")
    git("-C", str(other), "push", "-q", "origin", "main")
    add_articles(archive, range(1, 2))
    result = publish(archive, code=1)
    assert "failed: [rejected]" in result.output
    assert mirror_log(mirror)[0].endswith(" x")


def test_a_remote_that_never_answers_times_out(tmp_path: Path, server: LoopbackServer) -> None:
    server.set("/slow.git/info/refs", Route(b"", delay=30))
    good = bare(tmp_path / "good.git")
    archive = archive_with_mirrors(tmp_path, [server.url("/slow.git"), str(good)])
    add_articles(archive, range(1))
    started = time.monotonic()
    report = publish_git(archive, timeout=1.0)
    assert time.monotonic() - started < 10
    assert [p.outcome for p in report.pushes] == ["failed", "pushed"]
    assert report.pushes[0].error == "no answer within 1 s"


@pytest.mark.parametrize("lock", ["index.lock", "HEAD.lock", "refs/heads/main.lock"])
def test_a_stale_git_lock_is_removed_and_said(tmp_path: Path, lock: str) -> None:
    mirror = bare(tmp_path / "m.git")
    archive = archive_with_mirrors(tmp_path, [str(mirror)])
    add_articles(archive, range(1))
    publish(archive, code=0)
    (archive.root / ".git" / lock).write_text("", encoding="utf-8")  # a git killed mid-way
    add_articles(archive, range(1, 2))
    result = publish(archive, code=0)
    assert "newsvault: 1 article added" in result.output
    assert mirror_log(mirror)[0].endswith("newsvault: 1 article added")
    assert "articles/alpha/1048573.md" in mirror_files(mirror)
    assert not (archive.root / ".git" / lock).exists()
    said = [line for line in result.stderr.splitlines() if "stale" in line]
    assert said == [f"newsvault: removed a stale git lock left by an interrupted git: .git/{lock}"]


def test_a_git_killed_while_holding_the_index_lock(tmp_path: Path) -> None:
    archive = archive_with_mirrors(tmp_path, [])
    add_articles(archive, range(1))
    publish(archive, code=0)
    (archive.root / "lists" / "alpha.md").write_text("changed by hand\n", encoding="utf-8")
    # `git commit -a` holds .git/index.lock while its editor runs; kill git and the editor.
    killed = subprocess.Popen(
        ["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-a"],
        cwd=archive.root,
        env=dict(os.environ, GIT_EDITOR="sleep 60; true"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    lock = archive.root / ".git" / "index.lock"
    deadline = time.monotonic() + 20
    while not lock.exists():
        assert time.monotonic() < deadline and killed.poll() is None, "git never took the lock"
        time.sleep(0.01)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert lock.exists()
    add_articles(archive, range(1, 2))  # rewrites lists/alpha.md too
    result = publish(archive, code=0)
    assert "newsvault: 1 article added" in result.output
    assert "stale git lock" in result.stderr and not lock.exists()
    assert git("-C", str(archive.root), "status", "--porcelain", "articles", "lists") == ""


def test_pushes_run_under_the_archive_lock(tmp_path: Path, server: LoopbackServer) -> None:
    """Under the archive lock no other newsvault can run git here: what makes a lock stale."""
    server.set("/slow.git/info/refs", Route(b"", delay=30))
    archive = archive_with_mirrors(tmp_path, [server.url("/slow.git")])
    add_articles(archive, range(1))
    refused: list[str] = []

    def during_the_push() -> None:
        deadline = time.monotonic() + 20
        while not server.hits("/slow.git/info/refs") and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            with Archive(archive.root).lock("git", wait=0):
                pass
        except ArchiveError as exc:
            refused.append(str(exc))

    probe = threading.Thread(target=during_the_push)
    probe.start()
    report = publish_git(archive, timeout=3.0)
    probe.join()
    assert [p.outcome for p in report.pushes] == ["failed"]
    assert len(refused) == 1 and "another newsvault process" in refused[0]


def test_missing_git_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = archive_with_mirrors(tmp_path, [])
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = runner.invoke(app, ["-a", str(archive.root), "publish", "git"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "git program is not installed" in result.stderr


def test_commit_messages_and_redaction() -> None:
    status = "A\0articles/a/1.md\0A\0articles/a/2.md\0M\0articles/a/3.md\0M\0lists/a.md\0"
    assert commit_message(status) == "newsvault: 2 articles added, 1 changed"
    assert commit_message("D\0articles/a/1.md\0") == "newsvault: 1 article removed"
    assert commit_message("M\0lists/a.md\0") == "newsvault: lists updated"
    assert commit_message("") is None
    assert (
        redact("https://me:tok3n@git.example.com/a.git") == "https://me:***@git.example.com/a.git"
    )
    assert redact("git@github.com:me/a.git") == "git@github.com:me/a.git"
