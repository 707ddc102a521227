"""The command line's own promises: --archive before or after any command, --version, --json
everywhere, usage errors in one line, unknown sources refused, flags shown as flags, counted
nouns in the singular when there is one."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.main import get_command

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.loopback import LoopbackServer

from .conftest import make_archive
from .test_cli import cli, runner, serve_feeds


def leaf_commands() -> list[tuple[str, ...]]:
    """Every command, as the words that name it: ("list",), ("sources", "add"), ..."""
    found = []

    def walk(command, path: tuple[str, ...]) -> None:
        below = getattr(command, "commands", None)
        if below is None:
            found.append(path)
            return
        for name, sub in below.items():
            walk(sub, (*path, name))

    walk(get_command(app), ())
    return found


@pytest.fixture
def archived(tmp_path: Path, server: LoopbackServer) -> Archive:
    archive = make_archive(tmp_path / "news", serve_feeds(server, {"alpha": 3}))
    cli("-a", str(archive.root), "run")
    return archive


def test_the_archive_option_after_any_command(
    archived: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no archive found from here
    monkeypatch.delenv("NEWSVAULT_ARCHIVE", raising=False)
    root = str(archived.root)
    before = json.loads(cli("-a", root, "list", "--json").stdout)
    assert len(before) == 3
    assert json.loads(cli("list", "-a", root, "--json").stdout) == before
    assert json.loads(cli("list", "--json", "--archive", root).stdout) == before
    assert "alpha" in cli("sources", "list", "-a", root).stdout
    assert "alpha" in cli("sources", "-a", root, "list").stdout
    assert "jobs" in cli("status", "-a", root).stdout
    cli("publish", "markdown", "-a", root)
    assert "alpha 新闻 2" in cli("search", "新闻", "-a", root).stdout
    # the last one given wins; another invocation starts again from none
    assert "3" in cli("-a", str(tmp_path / "nowhere"), "list", "-a", root, "-n", "3").stdout
    assert "newsvault init" in cli("list", code=2).stderr
    # and every command takes it: its help lists it
    commands = leaf_commands()
    assert len(commands) > 25
    for words in commands:
        help_text = cli(*words, "--help").stdout
        assert "-a, --archive DIR" in help_text, words


def test_version_comes_from_the_package_metadata() -> None:
    assert cli("--version").stdout == f"newsvault {version('newsvault')}\n"


def test_show_takes_json_like_every_other_command(archived: Archive) -> None:
    a = ("-a", str(archived.root))
    default = json.loads(cli(*a, "show", "alpha/1048572").stdout)
    assert json.loads(cli(*a, "show", "alpha/1048572", "--json").stdout) == default
    assert json.loads(cli(*a, "show", "alpha/1048572", "--format", "json").stdout) == default
    assert cli(*a, "show", "alpha/1048572", "-f", "md").stdout.startswith("<!--")
    both = cli(*a, "show", "alpha/1048572", "--json", "--format", "md", code=2)
    assert both.stderr.count("\n") == 1 and "give one of them" in both.stderr


@pytest.mark.parametrize(
    ("args", "said", "command"),
    [
        (["story", "abc"], "invalid value for 'ID'", "story"),
        (["story"], "missing argument 'ID'", "story"),
        (["search", "x", "--limit", "0"], "'--limit'", "search"),
        (["stories", "--limit", "0"], "'--limit'", "stories"),
        (["list", "-n", "0"], "'--limit' / '-n'", "list"),
        (["sources", "add"], "missing argument", "sources add"),
        (
            ["sources", "add", "https://x.example/feed", "--name"],
            "requires an argument",
            "sources add",
        ),
        (["list", "-a"], "option '-a' requires an argument", "list"),
        (["-a"], "option '-a' requires an argument", ""),
        (["list", "--bogus"], "no such option: --bogus", "list"),
        (["--bogus"], "no such option: --bogus", ""),
        (["lsit"], "no such command 'lsit' (did you mean 'list'?)", ""),
        (["publish", "nope"], "no such command 'nope'", "publish"),
        (["list", "--json=yes"], "does not take a value", "list"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], said: str, command: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stdout == ""
    line = " ".join(["newsvault", command]).strip()
    assert result.stderr.startswith("newsvault: ") and result.stderr.count("\n") == 1
    assert said in result.stderr
    assert result.stderr.endswith(f"; see `{line} --help`\n"), result.stderr


def test_the_entry_point_runs_the_command_with_the_collector_on(tmp_path: Path) -> None:
    # the collector is held off only while the CLI is imported: a daemon left without it would
    # never free a cycle
    probe = (
        "import gc, newsvault.cli as cli, newsvault.entry as entry; "
        "cli.main = lambda: print(gc.isenabled(), gc.get_threshold()[0], "
        "gc.get_freeze_count() > 0); "
        "entry.main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.stdout == "True 20000 True\n", done.stderr
    installed = Path(sys.executable).with_name("newsvault")
    assert "from newsvault.entry import main" in installed.read_text(encoding="utf-8")


def test_a_usage_error_is_one_line_from_the_installed_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "newsvault", "search", "x", "--limit", "0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "newsvault: invalid value for '--limit': Input should be greater than or equal to 1; "
        "see `newsvault search --help`\n"
    )


def test_search_takes_the_words_of_an_unquoted_query(archived: Archive) -> None:
    a = ("-a", str(archived.root))
    quoted = json.loads(cli(*a, "search", "普京 平壤", "--json").stdout)
    assert quoted
    assert json.loads(cli(*a, "search", "普京", "平壤", "--json").stdout) == quoted
    assert cli(*a, "search", "普京", "平壤").stdout.startswith(
        f"{len(quoted)} results for 普京 平壤\n"
    )


def test_flags_show_as_flags_in_help() -> None:
    for words in leaf_commands():
        help_text = cli(*words, "--help").stdout
        assert "<bool>" not in help_text, words
        assert "╭" not in help_text, words  # plain, never boxed
    listing = cli("list", "--help").stdout
    assert "  --json  " in listing and "-n, --limit N" in listing
    assert "  --all  " in cli("recheck", "--help").stdout


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--source", "nosuch"],
        ["search", "条约", "--source", "nosuch"],
        ["recheck", "--source", "nosuch"],
        ["export", "--source", "nosuch"],
        ["run", "--source", "nosuch"],
    ],
)
def test_an_unknown_source_is_refused(archived: Archive, args: list[str]) -> None:
    result = runner.invoke(app, ["-a", str(archived.root), *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "newsvault: --source 'nosuch': no such source; see `newsvault sources list`\n"
    )


def test_a_source_no_longer_followed_still_has_its_articles_listed(archived: Archive) -> None:
    a = ("-a", str(archived.root))
    cli(*a, "sources", "remove", "alpha")
    assert "alpha 新闻 0" in cli(*a, "list", "--source", "alpha").stdout
    assert "alpha 新闻" in cli(*a, "search", "新闻", "--source", "alpha").stdout


def test_counted_nouns_agree_with_their_number(tmp_path: Path, server: LoopbackServer) -> None:
    archive = make_archive(tmp_path / "news", serve_feeds(server, {"alpha": 1}))
    a = ("-a", str(archive.root))
    ran = cli(*a, "run").stdout
    assert "1 new article from 1 of 1 source; 1 markdown file written." in ran
    assert "1 result for 新闻\n" in cli(*a, "search", "新闻").stdout
    assert "0 results for 没有\n" in cli(*a, "search", "没有").stdout
    (tmp_path / "one.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline type="rss" text="One" xmlUrl="https://one.example.org/feed.xml"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    imported = cli(*a, "sources", "import", str(tmp_path / "one.opml")).stdout
    assert imported.startswith("Added 1 source from ")
    assert "— 0 edits" in cli(*a, "diff", "alpha/1048574").stdout
    assert "1 article re-checked" in cli(*a, "recheck", "alpha/1048574").stdout


def test_rules_test_as_json() -> None:
    results = json.loads(cli("rules", "test", "www.bannedbook.org", "--json").stdout)
    assert [set(r) for r in results] == [{"rule", "sample", "url", "ok", "failures"}]
    assert results[0]["ok"] is True and results[0]["failures"] == []
    assert results[0]["url"].startswith("https://www.bannedbook.org/")
    everything = json.loads(cli("rules", "test", "--json").stdout)
    assert len(everything) > 1 and all(r["ok"] for r in everything)


def test_publish_site_says_what_each_number_is(archived: Archive) -> None:
    first = cli("-a", str(archived.root), "publish", "site").stdout.splitlines()
    header = first.index(
        "articles\tpages and feeds\tpages written\tpages unchanged\tcaptures copied"
        "\tstale files deleted"
    )
    articles, pages, written, unchanged, _, deleted = first[header + 1].split("\t")
    assert articles == "3" and pages == written and unchanged == deleted == "0"
    again = cli("-a", str(archived.root), "publish", "site").stdout.splitlines()
    row = again[again.index(first[header]) + 1].split("\t")
    assert row[1:4] == [pages, "0", pages]  # nothing changed: nothing written
