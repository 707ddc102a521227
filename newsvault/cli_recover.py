"""When the original is gone, and requests from elsewhere: `recover` (copies looked for in the
web archives), `saves` (what Save Page Now made of the URLs given to it) and `intake github`
(a repository's open issues answered)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import JsonOption, _archive, _find_article, _print_json, app, err, out
from newsvault.cli_output import Steps, counted, print_table
from newsvault.models import ms_to_iso
from newsvault.pages import check_url

intake_app = typer.Typer(
    help="Requests taken from elsewhere: GitHub issues.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(intake_app, name="intake")

KEPT = ("recovered", "new article", "recovered before", "same as archived")


@app.command("recover")
def recover_command(
    targets: Annotated[
        list[str],
        typer.Argument(metavar="ID|URL...", help="Articles (id or SLUG/NUMBER), or URLs."),
    ],
    as_json: JsonOption = False,
) -> None:
    """Look for copies in the Wayback Machine and archive.today (the newest from before the
    article went missing first) and keep the first that holds it as a version marked where it
    came from; a URL never archived becomes an article. Asking tells those archives what you
    look for. Exit 1 if any found no copy."""
    from newsvault.recover.recovery import RecoveryReport, recover

    archive = _archive()
    store = archive.store()
    try:
        wanted = [
            check_url(given) if "://" in given else str(_find_article(store, given).id)
            for given in targets
        ]
    finally:
        store.close()
    with Steps("recover", len(wanted), lines=not as_json) as steps:

        def done(report: RecoveryReport) -> None:
            steps.done(f"{report.target}: {report.outcome}")

        reports = recover(archive, wanted, on_done=done)
    if as_json:
        _print_json([report.to_json() for report in reports])
    else:
        table = Table(title="newsvault recover", title_justify="left")
        for column in ("article", "outcome", "from", "captured", "copy"):
            table.add_column(column)
        for r in reports:
            colour = "green" if r.outcome in KEPT else "red"
            table.add_row(
                str(r.article.id) if r.article else escape(r.target),
                f"[{colour}]{escape(r.outcome)}[/{colour}]",
                r.copy.service if r.copy else "",
                (ms_to_iso(r.copy.captured) or "") if r.copy else "",
                escape(r.copy.url) if r.copy else "",
            )  # fmt: skip
        print_table(table)
        for r in reports:
            for line in r.tried if r.outcome not in KEPT else []:
                err.print(f"newsvault: {r.target}: {line}", markup=False, highlight=False)
    raise typer.Exit(0 if all(r.outcome in KEPT for r in reports) else 1)


@app.command("saves")
def saves_command(as_json: JsonOption = False) -> None:
    """What Save Page Now (recover.save_to) made of the URLs `watch` gave it, failures
    first."""
    from newsvault.store.saves import SaveStore

    archive = _archive()
    store = archive.store()
    try:
        saves = SaveStore(store.engine)
        recent, counts = saves.recent(), saves.counts()
    finally:
        store.close()
    if as_json:
        _print_json({"counts": counts, "saves": [s.to_json() for s in recent]})
        return
    table = Table(title="newsvault saves", title_justify="left")
    for column in ("state", "url", "copy or reason", "asked"):
        table.add_column(column)
    for save in recent:
        colour = {"done": "green", "failed": "red"}.get(save.state, "yellow")
        table.add_row(
            f"[{colour}]{save.state}[/{colour}]", escape(save.url),
            escape(save.snapshot or save.message or ""), ms_to_iso(save.requested) or "",
        )  # fmt: skip
    print_table(table)
    if not archive.settings["recover.save_to"]:
        out.print("Saving is off (recover.save_to = []).", markup=False)
    shown = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none yet"
    out.print(f"Save Page Now requests: {shown}.", markup=False, highlight=False)


@intake_app.command("github")
def intake_github_command(
    repo: Annotated[str, typer.Argument(metavar="OWNER/REPO", help="The repository.")],
    as_json: JsonOption = False,
) -> None:
    """Answer the repository's open issues once each: every http(s) URL in an issue's title
    and body archived through the submission path (its guard and limits), one comment with
    the archived copies' links under site.base_url or why not, the labels archived, duplicate
    and failed, the issue closed. The token is GITHUB_TOKEN's. Exit 1 if GitHub stopped it
    (a rate limit: run it again later)."""
    from newsvault.intake.intake import intake_github, labels_for

    archive = _archive()
    with Steps(f"intake {repo}", lines=not as_json):
        report = intake_github(archive, repo)
    if as_json:
        _print_json(report.to_json())
    else:
        table = Table(title=f"newsvault intake github {escape(repo)}", title_justify="left")
        for column in ("issue", "labels", "urls"):
            table.add_column(column)
        for issue in report.answered:
            urls = "; ".join(f"{u.url}: {u.state}" for u in issue.urls) or "no URL"
            table.add_row(f"#{issue.number}", ", ".join(labels_for(issue)), escape(urls))
        print_table(table)
        out.print(
            f"{counted(len(report.answered), 'issue')} answered of "
            f"{counted(report.seen, 'open issue')}"
            + (f"; {counted(len(report.waiting), 'issue')} waiting" if report.waiting else "")
            + ".",
            markup=False,
            highlight=False,
        )
    if report.problem:
        err.print(f"newsvault: {report.problem}", markup=False, highlight=False)
        raise typer.Exit(1)


__all__ = ["intake_github_command", "recover_command", "saves_command"]
