"""Commands about WARC files: `import-warc` (another crawler's pages become articles) and
`rebuild` (a new database from the archive's own captures)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import JsonOption, _archive, _print_json, app, err
from newsvault.cli_output import Steps, counted, print_table
from newsvault.errors import NewsvaultError
from newsvault.warcs import READERS

EXAMPLES_SHOWN = 3  # one-line reasons printed per kind of skip


@app.command("import-warc")
def import_warc_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...", help="WARC files (.warc.gz, a gzip member per record, or .warc)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            metavar="SLUG",
            help="Put every page under this source (default: one per site, named after its host).",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Processes extracting articles (default: one per core).",
        ),
    ] = None,
    reader: Annotated[
        str,
        typer.Option("--reader", metavar="NAME", help=f"WARC reader: {' | '.join(READERS)}."),
    ] = "fastwarc",
    as_json: JsonOption = False,
) -> None:
    """Import the HTML pages of WARC files (CC-NEWS, Heritrix, wget...): each kept as a
    capture and its article extracted and stored as an archived page's would be. Pages
    archived before and repeats are skipped, as are requests, revisits, redirects, error
    pages and what is not HTML, each counted. Running it again stores nothing twice."""
    from newsvault.warc_import import Progress, import_warcs

    if reader not in READERS:
        raise NewsvaultError(f"--reader {reader!r}: use one of {', '.join(READERS)}")
    archive = _archive()
    workers = jobs or os.cpu_count() or 1
    with Steps("import-warc", bar=True, lines=not as_json) as steps:
        steps.step("bytes of WARC read")

        def progress(where: Progress) -> None:
            steps.update(where.done, where.total)
            steps.status(f"import-warc: {escape(where.last)[-60:]}")

        report = import_warcs(
            archive, files, source=source, jobs=workers, reader=reader,
            on_progress=progress,
        )  # fmt: skip
    if as_json:
        _print_json(
            {
                "records": report.records,
                "outcomes": dict(report.outcomes),
                "sources": sorted(report.sources),
                "examples": report.examples,
            }
        )
        return
    for lines in report.examples.values():
        for line in lines[:EXAMPLES_SHOWN]:
            err.print(f"newsvault import-warc: skipped {line}", markup=False, highlight=False)
    table = Table(title="newsvault import-warc", title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("records read", str(report.records))
    table.add_row("[green]imported[/]", str(report.imported))
    for outcome, count in sorted(report.outcomes.items(), key=lambda pair: -pair[1]):
        if outcome != "imported":
            table.add_row(f"skipped: {escape(outcome)}", str(count))
    table.add_row("sources", escape(", ".join(sorted(report.sources))) or "-")
    print_table(table)
    if report.imported:
        err.print(
            f"{counted(report.imported, 'article')} imported; the markdown archive is written.",
            markup=False,
            highlight=False,
        )


@app.command("rebuild")
def rebuild_command(
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Put the rebuilt database in newsvault.db's place, the old one kept as "
            "newsvault.db.before-rebuild; on PostgreSQL <name>_rebuilt is renamed to the "
            "archive's database, the old one kept as <name>_before_rebuild (stop `watch`, "
            "`serve` and workers first).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """A new database from captures/ alone: every capture replayed, in the order it was
    taken, through the code that stored it (feed polls, the pages they needed, pages
    archived on request, imported pages), written to newsvault.db.rebuilt (on PostgreSQL,
    to the database <name>_rebuilt of the same server)."""
    from newsvault.rebuild import rebuild

    archive = _archive()
    with Steps("rebuild", bar=True, lines=not as_json) as steps:
        steps.step("captures replayed")
        report = rebuild(archive, replace=replace, on_progress=steps.update)
    if as_json:
        _print_json(dataclasses.asdict(report))
        return
    table = Table(title="newsvault rebuild", title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    rows = (
        ("responses in the captures", report.records),
        ("runs", report.runs),
        ("feed polls replayed", report.feeds),
        ("pages replayed", report.pages),
        ("imported pages replayed", report.imports),
        ("articles", report.articles),
        ("versions", report.versions),
        ("stories", report.stories),
    )
    for name, count in rows:
        table.add_row(name, str(count))
    print_table(table)
    said = f"The rebuilt database is {report.path}"
    said += (
        f" (the old one: {report.backup})."
        if report.replaced
        else "; `newsvault rebuild --replace` puts it in the archive's database's place."
    )
    err.print(said, markup=False, highlight=False)
