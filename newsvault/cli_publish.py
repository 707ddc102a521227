"""Commands that hand the archive to readers: `publish git` (mirrors) and `export`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import SourcesOption, _archive, app, err, out, publish_app
from newsvault.cli_output import Steps, counted, print_table
from newsvault.export import check_output, count_articles, export, selection
from newsvault.models import Article
from newsvault.publish.git import GitReport, publish_git


@publish_app.command("git")
def publish_git_command() -> None:
    """Commit articles/, lists/ and media/ (and site/ if publish.git.site) and push to every
    remote in publish.git.remotes. Exit 1 if any remote failed (the others are still pushed)."""
    archive = _archive()
    remotes = archive.settings["publish.git.remotes"]
    with Steps("publish git") as steps:
        steps.step(
            "committing"
            + (f", then pushing to {counted(len(remotes), 'remote')}" if remotes else "")
        )
        report = publish_git(archive)
    _print_git_report(report)
    raise typer.Exit(1 if report.failed else 0)


def _print_git_report(report: GitReport) -> None:
    if report.stale_locks:
        n = len(report.stale_locks)
        what = "a stale git lock" if n == 1 else f"{n} stale git locks"
        err.print(
            f"newsvault: removed {what} left by an interrupted git: "
            + ", ".join(report.stale_locks),
            markup=False,
            highlight=False,
        )
    if report.initialized:
        out.print(f"Created a git repository in {report.root} (branch {report.branch}).")
    if report.commit:
        out.print(f"Committed {report.commit[:10]}: {escape(report.message or '')}")
    elif report.head:
        out.print(f"Nothing new to commit (HEAD is {report.head[:10]}).")
    else:
        out.print("Nothing to commit yet: articles/ and lists/ are empty.")
    if not report.pushes:
        out.print(
            "No remotes configured, so nothing was pushed. Add mirrors in newsvault.toml:\n"
            "  [publish.git]\n"
            '  remotes = ["/path/to/mirror.git", "git@github.com:you/news.git"]',
            markup=False,
        )
        return
    table = Table(title="newsvault publish git", title_justify="left")
    table.add_column("remote")
    table.add_column("result")
    for push in report.pushes:
        failed = f"[red]failed: {escape(push.error or '')}[/red]"
        table.add_row(escape(push.remote), failed if push.failed else push.outcome)
    print_table(table)
    pushed = len(report.pushes) - len(report.failed)
    out.print(
        f"{pushed} of {counted(len(report.pushes), 'remote')} {'has' if pushed == 1 else 'have'} "
        f"branch {report.branch} at {(report.head or '')[:10]}."
    )


@app.command("export")
def export_command(
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl or warc.")] = "jsonl",
    source: SourcesOption = None,
    since: Annotated[
        str | None, typer.Option(help="Published on or after YYYY-MM-DD (UTC+8).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Published on or before YYYY-MM-DD (UTC+8).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The file to write (jsonl: else standard output)."),
    ] = None,
) -> None:
    """Export articles, newest first: JSON lines, or a WARC file with each article's raw
    capture and its JSON."""
    check_output(format, output)  # before any work: a bad --output is told at once
    archive = _archive()
    store = archive.store()
    try:
        chosen = selection(store, {s.slug for s in archive.sources()}, source, since, until)
        with _progress(lambda: count_articles(store, chosen)) as advance:
            report = export(store, archive.captures_dir, chosen, format, output, on_article=advance)
    finally:
        store.close()
    err.print(report.summary(), markup=False, highlight=False)


@contextmanager
def _progress(total: Callable[[], int]) -> Iterator[Callable[[Article], None] | None]:
    """A progress bar on stderr when it is a terminal (counting the articles costs a query);
    off one, only the summary line."""
    if not err.is_terminal:
        yield None
        return
    with Steps("exporting", total()) as steps:
        yield lambda _: steps.done()
