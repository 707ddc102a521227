"""Intake from GitHub issues, against a loopback stand-in for GitHub's REST API
(tests/fake_services.py): a repository with issues of one URL, several URLs, a duplicate, a
private address and garbage, each answered exactly once and closed, by `intake github`, by
`watch`, under GitHub's rate limits, and when `intake` is killed with SIGKILL half-way."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault.cli import app
from newsvault.intake.intake import find_urls, marker
from newsvault.logs import EventLog
from newsvault.loopback import LoopbackServer, Route
from newsvault.store.intake import IntakeStore
from newsvault.watch.daemon import BackgroundWatcher, Watcher

from .conftest import archive_sql, make_archive
from .fake_services import FakeGitHub, FakeIssue
from .test_watch import until

runner = CliRunner()
HTML = {"Content-Type": "text/html; charset=utf-8"}
REPO = "readers/requests"
TOKEN = "ghp_loopback"
SITE = "https://archive.example.org"
LINE = "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈，双方签署全面战略伙伴关系条约。"


def page(title: str) -> bytes:
    body = "".join(f"<p>{LINE}第{n}段。</p>" for n in range(8))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        "</article></body></html>"
    ).encode()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, per_page_cap=2) as running:  # pages of two: pagination
        yield running


def issues(server: LoopbackServer) -> list[FakeIssue]:
    """One URL, several (one of them gone), a duplicate of the first, one archived before,
    a private address, garbage, and a pull request (not an issue: left alone)."""
    for name in ("one", "two", "three", "before"):
        server.set(f"/a/{name}.html", Route(page(f"{name} 报道"), headers=HTML))
    server.set("/a/gone.html", Route(b"not here", status=404))
    url = server.url
    several = (
        f"第一篇 {url('/a/two.html')}。\n第二篇：[链接]({url('/a/three.html')})"
        f"\n还有 <{url('/a/gone.html')}>, 谢谢"
    )
    return [
        FakeIssue(1, url("/a/one.html"), None, author="ann"),
        FakeIssue(2, "请存档这几篇", several, author="bo"),
        FakeIssue(3, "again", f"please archive {url('/a/one.html')} too", author="cy"),
        FakeIssue(4, "router", "http://10.0.0.1/admin", author="dee"),
        FakeIssue(5, "hello", "is this thing on?", author="eve"),
        FakeIssue(6, "fix typo", url("/a/one.html"), pull_request=True),
        FakeIssue(7, url("/a/before.html"), "", author="fay"),
    ]


def intake_archive(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub, intake: str = "", **extra: object
) -> Path:
    root = make_archive(
        tmp_path / "news", [], allow_private_networks=False, allowed_addresses=["127.0.0.1"]
    ).root
    settings = {"submissions_per_minute": 100, **extra}
    with (root / "newsvault.toml").open("a") as config:
        config.write(
            f'\n[site]\nbase_url = "{SITE}"\n'
            f'\n[intake]\ngithub_api = "{github.base_url}"\n{intake}'
            + "\n[serve]\n"
            + "".join(f"{k} = {v}\n" for k, v in settings.items())
        )
    github.repo(REPO, issues(server))
    return root


def cli(root: Path, *args: str, code: int = 0, token: str | None = TOKEN) -> str:
    env = {"GITHUB_TOKEN": token} if token else {"GITHUB_TOKEN": ""}
    result = runner.invoke(app, ["-a", str(root), *args], env=env)
    assert result.exit_code == code, (args, result.exit_code, result.output, result.exception)
    return result.output


def ours(issue: FakeIssue) -> list[str]:
    return [c["body"] for c in issue.comments if marker(REPO, issue.number) in c["body"]]


def check_answers(github: FakeGitHub, server: LoopbackServer) -> dict[int, str]:
    """Every issue answered once and closed, with the labels and lines it should have."""
    bodies = {}
    for number in (1, 2, 3, 4, 5, 7):
        issue = github.issue(REPO, number)
        assert len(issue.comments) == 1, (number, issue.comments)
        assert issue.state == "closed", number
        (bodies[number],) = ours(issue)
    labels = {n: sorted(github.issue(REPO, n).labels) for n in (1, 2, 3, 4, 5, 7)}
    assert labels == {
        1: ["archived"], 2: ["archived", "failed"], 3: ["duplicate"], 4: ["failed"],
        5: ["failed"], 7: ["duplicate"],
    }  # fmt: skip
    pull = github.issue(REPO, 6)
    assert pull.state == "open" and not pull.comments and not pull.labels
    assert f"Archived: {SITE}/articles/" in bodies[1] and server.url("/a/one.html") in bodies[1]
    assert bodies[2].count("- Archived: ") == 2 and "Not archived: " in bodies[2]
    assert "HTTP 404" in bodies[2] and server.url("/a/three.html") in bodies[2]
    link = bodies[1].split("Archived: ", 1)[1].split(" ", 1)[0]
    assert f"Archived before: {link}" in bodies[3]  # the same copy
    assert "10.0.0.1 is a private or local address" in bodies[4]
    assert "No http(s) URL found" in bodies[5]
    return bodies


def test_each_issue_is_answered_once_and_closed(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub
) -> None:
    root = intake_archive(tmp_path, server, github)
    cli(root, "archive", server.url("/a/before.html"))  # archived before anyone asked
    result = json.loads(cli(root, "intake", "github", REPO, "--json"))
    assert result["open"] == 6 and len(result["answered"]) == 6 and not result["problem"]
    check_answers(github, server)
    listing = [c for c in github.calls if c == ("GET", f"/repos/{REPO}/issues")]
    assert len(listing) == 4  # seven issues (one a pull request), two a page
    assert not [r for r in server.requests if "10.0.0.1" in r.path]
    for request in github.requests:
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    articles = json.loads(cli(root, "list", "--json"))
    assert sorted(a["title"] for a in articles) == [f"{n} 报道" for n in sorted(
        ["before", "one", "three", "two"])]  # fmt: skip

    posted = len(github.calls)
    again = json.loads(cli(root, "intake", "github", REPO, "--json"))
    assert again["answered"] == [] and again["open"] == 0  # all closed (the pull request aside)
    assert [c for c in github.calls[posted:] if c[0] != "GET"] == []
    check_answers(github, server)
    text = cli(root, "intake", "github", REPO)
    assert "0 issues answered of 0 open issues." in text


def test_rate_limits_stop_it_until_github_says(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub
) -> None:
    root = intake_archive(tmp_path, server, github)
    cli(root, "archive", server.url("/a/before.html"))
    github.remaining = 9  # the listing (4 pages), then one issue's answer and a bit
    out = cli(root, "intake", "github", REPO, code=1)
    assert "GitHub's rate limit: no request before" in out
    refused = github.calls[:]
    assert len(refused) == 9
    github.remaining = 5000
    github.secondary = 1  # a secondary limit: retry-after 1 s
    out = cli(root, "intake", "github", REPO, code=1)
    assert "rate limit" in out and len(github.calls) == len(refused)
    time.sleep(1.1)
    cli(root, "intake", "github", REPO)
    check_answers(github, server)


def test_it_needs_a_token_a_site_and_a_repository(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub
) -> None:
    root = intake_archive(tmp_path, server, github)
    assert "set GITHUB_TOKEN" in cli(root, "intake", "github", REPO, code=2, token=None)
    assert "HTTP 401" in cli(root, "intake", "github", REPO, code=1, token="wrong")
    assert "not found (HTTP 404)" in cli(root, "intake", "github", "someone/else", code=1)
    assert "OWNER/REPO" in cli(root, "intake", "github", "nonsense", code=2)
    config = (root / "newsvault.toml").read_text().replace(f'base_url = "{SITE}"', "")
    (root / "newsvault.toml").write_text(config)
    assert "set site.base_url" in cli(root, "intake", "github", REPO, code=2)
    assert github.issue(REPO, 1).comments == []


def test_watch_answers_the_issues_of_its_repositories(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = intake_archive(tmp_path, server, github, f'github = ["{REPO}"]\ninterval = "1h"\n')
    cli(root, "archive", server.url("/a/before.html"))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    events = io.StringIO()
    background = BackgroundWatcher(Watcher(root, EventLog("json", events)))
    background.start()
    try:
        until(lambda: github.issue(REPO, 2).state == "closed"
              and all(github.issue(REPO, n).state == "closed" for n in (1, 3, 4, 5, 7)),
              "every issue answered", seconds=60)  # fmt: skip
    finally:
        background.stop()
    check_answers(github, server)
    logged = [json.loads(line) for line in events.getvalue().splitlines()]
    assert sum(e.get("answered", 0) for e in logged if e["event"] == "intake") == 6
    assert [e for e in logged if e["event"] == "submission"]  # archived by the workers


def test_intake_killed_at_random_moments_answers_each_issue_exactly_once(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub
) -> None:
    root = intake_archive(tmp_path, server, github)
    cli(root, "archive", server.url("/a/before.html"))
    github.delay = 0.15  # each answer takes a while: kills land between the steps
    env = {**os.environ, "GITHUB_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "newsvault", "-a", str(root), "intake", "github", REPO]
    chance = random.Random(20240619)
    kills, progress = 0, []
    for _ in range(8):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(chance.uniform(0.8, 3.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        progress.append(sum(len(github.issue(REPO, n).comments) for n in (1, 2, 3, 4, 5, 7)))
        if progress[-1] == 6 and all(github.issue(REPO, n).state == "closed" for n in (1, 3)):
            break
    assert kills >= 3, f"the runs ended before they could be killed ({progress})"
    final = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert final.returncode == 0, final.stderr.decode()
    check_answers(github, server)


@pytest.mark.parametrize("step", ["commented", "labelled", "closed", "submitted"])
def test_a_crash_right_after_a_step_is_taken_does_not_take_it_twice(
    tmp_path: Path, server: LoopbackServer, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:  # fmt: skip
    """The process dies between doing a step and writing down that it was done (the window
    a SIGKILL can hit): the next run finds the step done and does not do it again."""
    root = intake_archive(tmp_path, server, github)
    cli(root, "archive", server.url("/a/before.html"))
    setter = "set_url" if step == "submitted" else "set_issue"
    original = getattr(IntakeStore, setter)

    def dies(self: IntakeStore, repo: str, number: int, *args: object, **values: object) -> None:
        if (values.get("state") if setter == "set_url" else args[0]) == step:
            raise KeyboardInterrupt  # killed before it could write it down
        original(self, repo, number, *args, **values)

    monkeypatch.setattr(IntakeStore, setter, dies)
    result = runner.invoke(app, ["-a", str(root), "intake", "github", REPO],
                           env={"GITHUB_TOKEN": TOKEN})  # fmt: skip
    assert result.exit_code != 0
    monkeypatch.setattr(IntakeStore, setter, original)
    cli(root, "intake", "github", REPO)
    check_answers(github, server)
    if step == "submitted":  # the submission made before the crash was found, not made again
        urls = [u for (u,) in archive_sql(root, "SELECT url FROM submissions")]
        assert len(urls) == len(set(urls)) == 4  # one, two, three, gone: each once


def test_urls_are_found_as_people_write_them() -> None:
    text = (
        "see https://a.example/x.html, and (https://b.example/y?id=1). "
        "[link](https://c.example/z) <https://d.example/w> 还有https://e.example/v。谢谢 "
        "https://a.example/x.html again; ftp://no.example/ http:// nothing"
    )
    assert find_urls("title https://t.example/", text) == [
        "https://t.example/", "https://a.example/x.html", "https://b.example/y?id=1",
        "https://c.example/z", "https://d.example/w", "https://e.example/v",
    ]  # fmt: skip
