"""Watching what was archived: `recheck` (look at articles' pages again now) and `diff`
(an article's versions and what changed between them)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from newsvault import diffs
from newsvault.cli import JsonOption, _archive, _find_article, _print_json, app, check_sources, out
from newsvault.cli_output import counted, print_table
from newsvault.models import ms_to_iso, to_ms
from newsvault.watch.health import problems
from newsvault.watch.history import versions_and_diffs
from newsvault.watch.recheck import CheckReport, recheck, recheck_due

COLOURS = {"live": "green", "gone": "red", "unreachable": "yellow"}


@app.command("recheck")
def recheck_command(
    article_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Articles (id or SLUG/NUMBER).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", "-s", metavar="SLUG", help="Every article of this source."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every archived article.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fetch archived articles' pages again now and say what became of them: live, gone
    (deleted, with the reason) or unreachable; edits are kept as versions. With no article
    named, the re-checks that are due."""
    archive = _archive()
    check_sources(archive, [source] if source is not None else None)
    now = to_ms(time.time())
    store = archive.store()
    try:
        if article_ids:
            ids = [_find_article(store, given).id or 0 for given in article_ids]
        elif source is not None:
            ids = store.watch.article_ids(source)
        elif every:
            ids = store.watch.article_ids()
        else:
            ids = []
    finally:
        store.close()
    if article_ids or source is not None or every:
        reports = recheck(archive, ids, now=now)
    else:
        store = archive.store()
        try:
            reports = recheck_due(archive, store, now=now)
        finally:
            store.close()
    if as_json:
        _print_json([report.to_json() for report in reports])
    else:
        print_checks(reports)
    raise typer.Exit(1 if any(r.status == "unreachable" for r in reports) else 0)


def print_checks(reports: list[CheckReport]) -> None:
    table = Table(title="newsvault recheck", title_justify="left")
    for column in ("id", "status", "was", "edited", "reason", "url"):
        table.add_column(column)
    for r in reports:
        colour = COLOURS[r.status]
        table.add_row(
            str(r.article_id), f"[{colour}]{r.status}[/{colour}]", r.before or "",
            "yes" if r.edited else "", escape(r.reason or ""), escape(r.url),
        )  # fmt: skip
    print_table(table)
    counts = {status: sum(r.status == status for r in reports) for status in COLOURS}
    edited = sum(r.edited for r in reports)
    out.print(
        f"{counted(len(reports), 'article')} re-checked: {counts['live']} live, "
        f"{counts['gone']} gone, {counts['unreachable']} unreachable; {edited} edited."
    )


@app.command("diff")
def diff_command(
    article_id: Annotated[
        str, typer.Argument(metavar="ID", help="The article id, or SLUG/NUMBER.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """An article's versions and what changed from each to the next: by character for
    Chinese, by word otherwise."""
    store = _archive().store()
    try:
        article = _find_article(store, article_id)
        steps = versions_and_diffs(store, article)
    finally:
        store.close()
    if as_json:
        _print_json(
            {
                "id": article.id,
                "versions": [
                    {
                        "seen": ms_to_iso(step.seen),
                        "origin": step.origin,
                        "edit": step.counted,
                        "title": step.title,
                        "diff": diffs.to_json(step.diff) if step.diff else None,
                    }
                    for step in steps
                ],
            }
        )
        return
    edits = sum(step.counted for step in steps)
    out.print(
        f"article {article.id}: {escape(article.title)} — {counted(edits, 'edit')}",
        highlight=False,
    )
    for n, step in enumerate(steps):
        kind = "archived" if n == 0 else ("edit" if step.counted else "page first seen")
        out.print(
            f"\n[bold]{ms_to_iso(step.seen)}[/bold] {step.origin} {kind}: {escape(step.title)}",
            highlight=False,
        )
        if step.diff is not None and step.counted:
            out.print(diffs.to_rich(diffs.changed_only(step.diff)))
    if not edits:
        out.print("\nNo edits recorded.")


@app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """What is due, what fails and since when: jobs waiting, sources failing, re-checks
    failing, sources whose extraction is unhealthy (a site rule that stopped matching, pages
    with no article, a silent feed), and how many archived articles were found gone or
    unreachable."""
    archive = _archive()
    now = to_ms(time.time())
    store = archive.store()
    try:
        pending = store.jobs.pending(now=now)
        failing_jobs = store.jobs.failing(limit=20)
        states = store.source_states()
        statuses = store.watch.counts()
        health = problems(store, archive.settings, now)
    finally:
        store.close()
    failing_sources: list[dict[str, Any]] = [  # JSON objects
        {
            "slug": s.slug,
            "error": s.last_error,
            "failures": s.failures,
            "since": ms_to_iso(s.last_success) if s.last_success else None,
        }
        for s in states.values()
        if s.last_error
    ]
    data: dict[str, Any] = {
        "jobs": {kind: {"due": due, "later": later} for kind, (due, later) in pending.items()},
        "failing_sources": failing_sources,
        "failing_jobs": [
            {"kind": j.kind, "target": j.target, "attempts": j.attempts, "error": j.last_error}
            for j in failing_jobs
        ],
        "articles": statuses,
        "problems": [problem.to_json() for problem in health],
    }
    if as_json:
        _print_json(data)
        return
    table = Table(title="jobs", title_justify="left")
    for column in ("kind", "due now", "later"):
        table.add_column(column)
    for kind, counts in sorted(data["jobs"].items()):
        table.add_row(kind, str(counts["due"]), str(counts["later"]))
    print_table(table)
    found = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none yet"
    out.print(f"re-checked articles: {found}")
    for source in failing_sources:
        since = f"since its last success at {source['since']}" if source["since"] else "never ok"
        out.print(
            f"source {source['slug']} failing ({counted(source['failures'], 'time')}, {since}): "
            f"{source['error']}",
            markup=False,
            highlight=False,
        )
    for job in data["failing_jobs"]:
        out.print(
            f"{job['kind']} {job['target']}: {counted(job['attempts'], 'attempt')}, "
            f"last: {job['error']}",
            markup=False,
            highlight=False,
        )
    print_problems(data["problems"])


def print_problems(found: list[dict]) -> None:
    """The extraction health problems, as `status` prints them."""
    if not found:
        out.print("extraction health: no problems")
        return
    table = Table(title="extraction health", title_justify="left")
    for column in ("source", "check", "in a row", "since", "what"):
        table.add_column(column)
    for p in found:
        table.add_row(
            escape(p["source"]), p["check"], str(p["count"]), p["since"] or "",
            escape(p["message"]),
        )  # fmt: skip
    print_table(table)
