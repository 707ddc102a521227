"""`newsvault verify [DIR]`: an archive or a mirror's checkout against its SHA256SUMS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.archive import CONFIG_NAME, Archive, find_root
from newsvault.cli import State, app, out
from newsvault.cli_output import Steps, counted, print_table
from newsvault.errors import ArchiveError
from newsvault.verify import VerifyReport, verify


@app.command("verify")
def verify_command(
    folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]",
            help="An archive or a mirror's checkout (default: the archive, else this folder).",
        ),
    ] = None,
    complete: Annotated[
        bool,
        typer.Option("--complete", help="A part this copy does not hold counts as missing."),
    ] = False,
) -> None:
    """Check every file against the archive's SHA256SUMS: files missing, changed and not
    listed are named. Exit 0 when intact, 1 when not."""
    root = folder if folder is not None else _default_root()
    # an archive's captures may lie elsewhere (captures.directory); a mirror's are its own
    captures = Archive(root).captures_dir if (root / CONFIG_NAME).is_file() else None
    with Steps("verify", bar=True) as steps:
        steps.step(f"reading every file listed in {root / 'SHA256SUMS'}")
        report = verify(root, captures, complete=complete, on_progress=steps.update)
    _print_report(report)
    raise typer.Exit(0 if report.intact else 1)


def _default_root() -> Path:
    try:
        return find_root(State.archive_dir)
    except ArchiveError:
        if State.archive_dir is not None:
            raise
        return Path.cwd()


def _print_report(report: VerifyReport) -> None:
    for word, paths in (
        ("changed", report.changed),
        ("missing", report.missing),
        ("not listed", report.extra),
    ):
        for path in paths:
            out.print(f"{word}: {path}", markup=False, highlight=False)
    table = Table(title=f"newsvault verify {report.root}", title_justify="left")
    for column in ("part", "listed", "intact", "changed", "missing", "not listed", "note"):
        table.add_column(column, justify="left" if column in ("part", "note") else "right")
    for part in report.parts.values():
        if not part.listed and not (part.extra or part.since):
            continue
        note = "not held by this copy" if not part.held else ""
        if part.since:
            note = f"{counted(part.since, 'capture file')} begun since (not yet listed)"
        cells = (part.listed, part.intact, part.changed, part.missing, part.extra)
        shown = [f"{n:,}" for n in cells] if part.held else [f"{part.listed:,}", "-", "-", "-", "-"]
        table.add_row(part.part, *shown, note)
    print_table(table)
    faults = len(report.changed) + len(report.missing) + len(report.extra)
    held = [p.part for p in report.parts.values() if p.held and p.listed]
    if report.intact:
        verdict = f"Intact: every file listed in {', '.join(held) or 'no part'} is as published"
    else:
        verdict = f"Not intact: {counted(faults, 'file')} missing, changed or not listed"
    if report.not_held:
        verdict += f"; this copy does not hold {', '.join(report.not_held)}"
    out.print(escape(verdict) + ".", highlight=False)
