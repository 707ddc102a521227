"""Commands about single pages: `extract` (local files), `archive` (URLs), `rules test`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import JsonOption, _archive, _print_json, app, err, out
from newsvault.cli_output import Steps, counted, print_table
from newsvault.errors import NewsvaultError, NoArticle
from newsvault.extract import Extraction, RuleSet, extract, leading_url, read_file, shipped_rules
from newsvault.extract.rules import PACKAGE_RULES
from newsvault.extract.samples import check_rules

rules_app = typer.Typer(
    help="Site rules: where each site keeps its article.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(rules_app, name="rules")

FORMATS = ("json", "jsonl", "md", "html", "text")
RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules", help="A folder of extra site rules (*.toml), used before the shipped ones."
    ),
]


def _rules(folder: Path | None) -> RuleSet:
    if folder is None:
        return shipped_rules()
    if not folder.is_dir():
        raise NewsvaultError(f"--rules {folder}: not a folder of *.toml rule files")
    return RuleSet.load(folder, PACKAGE_RULES)


@app.command("extract")
def extract_command(
    files: Annotated[list[Path], typer.Argument(help="Saved HTML pages (.gz read transparently).")],
    url: Annotated[
        str | None,
        typer.Option(help="The pages' URL (else a leading <!-- URL --> comment in each file)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help=" | ".join(FORMATS))] = "json",
    rules: RulesOption = None,
    no_rules: Annotated[
        bool, typer.Option("--no-rules", help="Use only the generic extractor.")
    ] = False,
) -> None:
    """Extract articles from local HTML files; nothing is stored. Exit 1 if a file had none."""
    if format not in FORMATS:
        raise NewsvaultError(f"--format {format!r}: use one of {', '.join(FORMATS)}")
    ruleset = _rules(rules)
    results: list[dict] = []
    failed = 0
    for path in files:
        try:
            data = read_file(path.read_bytes())
        except OSError as exc:
            raise NewsvaultError(f"{path}: cannot read ({exc.strerror})") from None
        page_url = url or leading_url(data) or path.resolve().as_uri()
        try:
            article = extract(data, page_url, rules=ruleset, use_rules=not no_rules)
        except NoArticle as exc:
            failed += 1
            err.print(f"newsvault: {path}: {exc}", markup=False, highlight=False)
            if format == "jsonl":
                sys.stdout.write(json.dumps({"file": str(path), "error": str(exc)}) + "\n")
            continue
        results.append(_emit(path, article, format))
    if format == "json":
        _print_json(results[0] if len(files) == 1 and results else results)
    raise typer.Exit(1 if failed else 0)


def _emit(path: Path, article: Extraction, format: str) -> dict:
    data = {"file": str(path), **article.to_json()}
    if format == "jsonl":
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    elif format == "md":
        sys.stdout.write(f"<!--{article.published or 0}-->\n[{article.title}]({article.url})\n")
        sys.stdout.write(
            "------\n\n" + "".join(x.strip() for x in article.html.splitlines()) + "\n"
        )
    elif format == "html":
        sys.stdout.write(article.html + "\n")
    elif format == "text":
        sys.stdout.write(f"{article.title}\n\n{article.text}\n")
    return data


@app.command("archive")
def archive_command(
    urls: Annotated[list[str], typer.Argument(help="Pages to archive.")],
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file", help="A page saved from a browser, archived as the capture of URL."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Archive pages now: fetch, keep the raw capture, extract, store, publish markdown.
    Exit 1 if any page could not be archived."""
    from newsvault.pages import PageReport, archive_pages

    archive = _archive()
    with Steps("archive", len(urls), lines=not as_json) as steps:

        def done(report: PageReport) -> None:
            steps.done(f"{report.url}: {report.outcome}")

        reports = archive_pages(archive, urls, from_file=from_file, on_done=done)
    if as_json:
        _print_json(
            [
                {"url": r.url, "outcome": r.outcome, "article": r.article.to_json()}
                if r.article
                else {"url": r.url, "outcome": r.outcome, "article": None}
                for r in reports
            ]
        )
    else:
        table = Table(title="newsvault archive")
        for column in ("url", "outcome", "article"):
            table.add_column(column)
        for report in reports:
            where = f"{report.article.source}/{report.article.number}" if report.article else ""
            colour = "red" if report.failed else "green"
            table.add_row(escape(report.url), f"[{colour}]{escape(report.outcome)}[/]", where)
        print_table(table)
    raise typer.Exit(1 if any(r.failed for r in reports) else 0)


@rules_app.command("test")
def rules_test(
    host: Annotated[str | None, typer.Argument(help="Only the rules for this host.")] = None,
    rules: RulesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run every site rule against its recorded sample pages; exit 1 if any expectation fails."""
    ruleset = _rules(rules if rules is not None else _archive_rules())
    results = check_rules(ruleset, host)
    if not results:
        raise NewsvaultError(f"no rule with sample pages for {host!r}" if host else "no rules")
    failed = sum(not r.ok for r in results)
    if as_json:
        _print_json(
            [
                {
                    "rule": result.rule.path.name,
                    "sample": result.sample.file.name,
                    "url": result.sample.url,
                    "ok": result.ok,
                    "failures": result.failures,
                }
                for result in results
            ]
        )
        raise typer.Exit(1 if failed else 0)
    table = Table(title="site rules against their samples")
    for column in ("rule", "sample", "result"):
        table.add_column(column)
    for result in results:
        failures = escape("; ".join(result.failures))
        verdict = "[green]ok[/]" if result.ok else f"[red]{failures}[/]"
        table.add_row(result.rule.path.name, result.sample.file.name, verdict)
    print_table(table)
    rule_count = len({r.rule.path for r in results})
    out.print(
        f"samples passing: {len(results) - failed} of {len(results)} "
        f"({counted(rule_count, 'rule')})."
    )
    raise typer.Exit(1 if failed else 0)


def _archive_rules() -> Path | None:
    """The archive's own rules folder, when run inside an archive that has one."""
    try:
        folder = _archive().root / "rules"
    except NewsvaultError:
        return None
    return folder if folder.is_dir() else None
