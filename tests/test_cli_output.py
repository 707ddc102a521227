"""What the command line prints off a terminal (a pipe, a file, a cron log): whole values,
never cut; and progress while long work runs: a line per finished item or step off a
terminal, a bar on one."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from newsvault.archive import Archive
from newsvault.cli_output import Steps, print_table
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive
from .test_bad_items import RSS, channel, item
from .test_cli import cli, serve_feeds
from .test_publish_git import bare

LONG_TITLE = "普京抵达平壤与金正恩会谈并签署全面战略伙伴关系条约" * 4 + " the end of the title"
LONG_NAME = "一个名字很长的新闻来源" * 4 + " (end of name)"


def newsvault(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a cron job runs it: stdout and stderr are pipes, a narrow COLUMNS."""
    env = {**os.environ, "COLUMNS": "60", "NEWSVAULT_ARCHIVE": str(root), **(env or {})}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "newsvault", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def long_values(tmp_path: Path, server: LoopbackServer) -> tuple[Archive, str]:
    path = "/" + "a-very-long-path-segment-" * 5 + "feed.xml"
    feed_url = server.url(path) + "?edition=simplified"
    server.set(
        path,
        Route(
            channel(item("g1", LONG_TITLE, "https://news.example.com/long.html", "全文" * 200)),
            headers=RSS,
        ),
    )
    archive = make_archive(tmp_path / "news", [("long", LONG_NAME, feed_url)])
    cli("-a", str(archive.root), "run")
    return archive, feed_url


def test_piped_tables_print_whole_values(long_values: tuple[Archive, str]) -> None:
    archive, feed_url = long_values
    listed = newsvault(archive.root, "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header == "id\tsource\tnumber\tpublished\ttitle"
    source, number, published, title = row.split("\t")[1:]
    assert (source, number, title) == ("long", "1048574", LONG_TITLE)
    assert len(published) == len("2024-06-19T21:41:24+08:00")  # the time, whole
    sources = newsvault(archive.root, "sources", "list")
    assert "…" not in sources.stdout
    (row,) = sources.stdout.splitlines()[1:]
    cells = row.split("\t")
    assert cells[:3] == ["long", LONG_NAME, "1"] and cells[-1] == feed_url
    found = newsvault(archive.root, "search", "普京")
    assert found.stdout.splitlines()[0] == "1 result for 普京"
    assert f"\t{LONG_TITLE} / 全文" in found.stdout  # the passage is the search's own excerpt
    ran = newsvault(archive.root, "run")
    assert ran.stdout.splitlines()[1:3] == [
        "source\tnew\tfull text\tunchanged\tedited\tskipped\tstatus",
        "long\t0\t0\t1\t0\t0\tok",
    ]


def test_the_mirror_that_failed_is_named_whole(tmp_path: Path) -> None:
    good = bare(tmp_path / "good.git")
    failing = str(tmp_path / ("a-mirror-with-a-long-name-that-does-not-exist-" * 3 + "end.git"))
    archive = make_archive(tmp_path / "news", [])
    with archive.config_path.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[publish.git]\nremotes = ["{good}", "{failing}"]\n')
    (archive.root / "articles" / "x").mkdir(parents=True)
    (archive.root / "articles" / "x" / "1.md").write_text("x\n", encoding="utf-8")
    no_config = {"GIT_CONFIG_GLOBAL": str(tmp_path / "none"), "GIT_CONFIG_NOSYSTEM": "1"}
    done = newsvault(archive.root, "publish", "git", env=no_config)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert f"{good}\tpushed" in lines
    assert any(line.startswith(f"{failing}\tfailed: ") for line in lines), lines
    assert "1 of 2 remotes has branch main" in done.stdout
    assert "publish git: committing, then pushing to 2 remotes: done in" in done.stderr


def test_tables_on_a_terminal_fold_long_values_and_never_cut_them() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=40, color_system=None)
    table = Table(title="t")
    for column in ("id", "url"):
        table.add_column(column)
    url = "https://example.org/" + "long-path/" * 12 + "end"
    table.add_row("1", url)
    print_table(table, console)
    shown = screen.getvalue()
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= 40
    folded = "".join(line.strip("│ ") for line in shown.splitlines()[4:-1])
    assert url in folded.replace("│1", "").replace("1│", "")


def test_steps_are_lines_off_a_terminal_and_a_bar_on_one() -> None:
    log = io.StringIO()
    off = Console(file=log, width=80)
    with Steps("work", 3, console=off) as steps:
        steps.status("only on a terminal")
        steps.done("first: ok")
        steps.done("second: ok")
        steps.step("the last step")
        steps.done("third: ok")
    lines = log.getvalue().splitlines()
    assert lines[:3] == ["work: first: ok", "work: second: ok", "work: third: ok"]
    assert lines[3].startswith("work: the last step: done in ") and len(lines) == 4
    counted = io.StringIO()
    with Steps("site", console=Console(file=counted)) as steps:
        steps.step("pages")
        for n in range(1, 101):
            steps.update(n, 100)
    assert counted.getvalue().splitlines()[:2] == [
        "site: pages: 10 of 100",
        "site: pages: 20 of 100",
    ]
    assert counted.getvalue().splitlines()[9] == "site: pages: 100 of 100"
    assert len(counted.getvalue().splitlines()) == 11  # and the step done
    failed = io.StringIO()
    with pytest.raises(RuntimeError), Steps("x", console=Console(file=failed)) as steps:
        steps.step("a step that fails")
        raise RuntimeError("no")
    assert failed.getvalue() == ""  # the error says it: no line claims the step was done
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    with Steps("work", 2, console=terminal) as steps:
        steps.done("first: ok")
        steps.done("second: ok")
    assert "work: first: ok" not in screen.getvalue()  # a bar, gone at the end


def test_long_work_says_what_finished_off_a_terminal(
    tmp_path: Path, server: LoopbackServer
) -> None:
    archive = make_archive(tmp_path / "news", serve_feeds(server, {"alpha": 2, "beta": 1}))
    ran = newsvault(archive.root, "run")
    assert ran.returncode == 0, ran.stderr
    log = ran.stderr.splitlines()
    assert sorted(line.split(",")[0] for line in log[:2]) == [
        "run: alpha: 2 new",
        "run: beta: 1 new",
    ]
    assert log[2].startswith(
        "run: the re-checks that are due, the images, then the markdown: done in "
    )
    page = "<html><body><article><p>" + "这是文章的全文。" * 60 + "</p></article></body></html>"
    for name in ("p1", "p2"):
        server.set(f"/{name}.html", Route(page.encode(), headers={"Content-Type": "text/html"}))
    urls = [server.url("/p1.html"), server.url("/p2.html"), server.url("/nothing.html")]
    archived = newsvault(archive.root, "archive", *urls)
    assert archived.returncode == 1
    said = archived.stderr.splitlines()
    assert f"archive: {urls[0]}: new" in said and f"archive: {urls[1]}: new" in said
    assert any(line.startswith(f"archive: {urls[2]}: failed") for line in said), said
    as_json = newsvault(archive.root, "archive", urls[0], "--json")
    assert as_json.stderr == ""  # --json says it all
    published = newsvault(archive.root, "publish", "markdown")
    assert published.stderr.startswith("publish markdown: writing ")
    assert published.stdout.splitlines()[-2:] == [
        "article files written\tunchanged\tlist pages written",
        "0\t5\t0",
    ]
    site = newsvault(archive.root, "publish", "site")
    assert "publish site: article pages: 5 of 5" in site.stderr.splitlines()
    other = make_archive(tmp_path / "other", [])
    imported = newsvault(other.root, "import-markdown", str(archive.root))
    assert imported.stderr.splitlines()[0].startswith(f"import-markdown: reading {archive.root}")
    assert imported.stdout.splitlines()[-1] == "5\t0\t0"


def test_a_failed_source_is_said_with_its_reason(tmp_path: Path, server: LoopbackServer) -> None:
    server.set("/missing.xml", Route(b"no", status=404))
    archive = make_archive(tmp_path / "news", [("missing", "M", server.url("/missing.xml"))])
    ran = newsvault(archive.root, "run")
    assert ran.returncode == 1
    assert ran.stderr.splitlines()[0] == "run: missing: failed: HTTP 404"


def test_progress_on_a_terminal_is_a_bar_that_goes(tmp_path: Path, server: LoopbackServer) -> None:
    """Under a pseudo-terminal: a spinner and the time taken while the one source is
    fetched, gone at the end, and the summary table drawn."""
    import pty

    server.set("/slow.xml", Route(serve_slowly(server), delay=1.5, headers=RSS))
    archive = make_archive(tmp_path / "news", [("slow", "Slow", server.url("/slow.xml"))])
    pid, fd = pty.fork()
    if pid == 0:  # the child: newsvault on the terminal
        os.environ.update({"COLUMNS": "100", "TERM": "xterm"})
        os.execv(
            sys.executable, [sys.executable, "-m", "newsvault", "-a", str(archive.root), "run"]
        )
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace"))
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "archiving slow" in text and "0:00:0" in text  # what is fetched, the time taken
    assert "┏" in text and "1 new article from 1 of 1 source" in text


def serve_slowly(server: LoopbackServer) -> bytes:
    return channel(item("s1", "慢新闻", "https://news.example.com/s1.html", "全文" * 200))
