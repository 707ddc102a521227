"""Commands that hand the archive to readers: `publish git` (mirrors) and `export`."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import _archive, out, publish_app
from newsvault.publish.git import GitReport, publish_git


@publish_app.command("git")
def publish_git_command() -> None:
    """Commit articles/ and lists/ (and site/ if publish.git.site) and push to every remote
    in publish.git.remotes. Exit 1 if any remote failed (the others are still pushed)."""
    report = publish_git(_archive())
    _print_git_report(report)
    raise typer.Exit(1 if report.failed else 0)


def _print_git_report(report: GitReport) -> None:
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
    out.print(table)
    failed = len(report.failed)
    out.print(
        f"{len(report.pushes) - failed} of {len(report.pushes)} remotes have branch "
        f"{report.branch} at {(report.head or '')[:10]}."
    )
