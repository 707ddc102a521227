"""The `newsvault` command: each command is one library call; errors become one line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from newsvault import logs, pipeline
from newsvault.archive import Archive
from newsvault.errors import NewsvaultError, SourceError, describe
from newsvault.models import Article, Source, ms_to_iso, to_ms
from newsvault.opml import make_slug, parse_opml, to_opml
from newsvault.publish.images import images_to_mirror, mirror_images
from newsvault.publish.markdown import import_markdown, publish_markdown, render_article
from newsvault.stories.process import process_pending
from newsvault.watch.health import Problem, by_source, problems


class NewsvaultGroup(TyperGroup):
    """Turns a NewsvaultError into one line on stderr and exit status 2, and anything
    unforeseen (a bug) into one line and exit status 3; never a traceback, unless
    NEWSVAULT_DEBUG is set."""

    def invoke(self, ctx: typer.Context) -> Any:
        logs.configure()
        try:
            return super().invoke(ctx)
        except NewsvaultError as exc:
            err.print(f"newsvault: {exc}", markup=False, highlight=False)
            raise typer.Exit(2) from None
        except Exception as exc:
            # usage errors and exits are the command line's own (typer carries its click)
            if logs.debugging() or type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise
            err.print(
                f"newsvault: internal error: {describe(exc)} "
                "(what was archived is kept; NEWSVAULT_DEBUG=1 shows the traceback)",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(3) from None


app = typer.Typer(
    cls=NewsvaultGroup,
    help="newsvault: follow news sources, capture every article, keep the raw bytes, "
    "publish a markdown archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(
    help="The sources an archive follows (kept in newsvault.toml).", no_args_is_help=True
)
publish_app = typer.Typer(help="Write the archive in a form people read.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(publish_app, name="publish")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ArchiveOption = Annotated[
    Path | None,
    typer.Option(
        "--archive",
        "-a",
        help="The archive directory (else $NEWSVAULT_ARCHIVE, "
        "else the nearest parent with newsvault.toml).",
    ),
]
SKIPPED_SHOWN = 5  # reasons printed per source after a run; `sources list` keeps the first
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class State:
    archive_dir: Path | None = None


def _archive() -> Archive:
    return Archive.find(State.archive_dir)


@app.callback()
def main_options(archive: ArchiveOption = None) -> None:
    State.archive_dir = archive


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Where to create the archive.")]) -> None:
    """Create a new archive with the default Chinese-language news sources."""
    archive = Archive.init(directory)
    out.print(f"Created archive {archive.root} with {len(archive.sources())} sources.")
    out.print(
        f"Edit {archive.config_path.name} to choose sources, then run: newsvault -a {directory} run"
    )


@app.command("run")
def run_command(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
) -> None:
    """Fetch every feed once, archive new items, run the re-checks that are due, write the
    markdown archive."""
    archive = _archive()
    selected = _select_sources(archive, source)
    report = _run_with_progress(archive, selected)
    _print_report(report)
    _mirror_with_progress(archive, [s.slug for s in selected if s.images == "mirror"])
    raise typer.Exit(1 if report.failed else 0)


def _mirror_with_progress(archive: Archive, slugs: list[str]) -> None:
    """Copy the images of sources with `images = "mirror"` into media/."""
    if not slugs:
        return
    with (
        archive.lock("images"),
        Progress(
            TextColumn("[bold]mirroring images"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        store = archive.store()
        try:
            task = progress.add_task("images", total=len(images_to_mirror(store, slugs)))
            mirrored = mirror_images(
                store,
                archive.root,
                slugs,
                archive.settings.fetch_options(),
                archive.settings["publish.media_max_bytes"],
                on_done=lambda: progress.advance(task),
            )
        finally:
            store.close()
    if mirrored.fetched or mirrored.failed:
        out.print(
            f"images: {mirrored.stored} new in media/, {mirrored.refused} refused "
            f"(not a raster image), {mirrored.failed} failed"
        )


def _select_sources(archive: Archive, slugs: list[str] | None) -> list[Source]:
    sources = archive.sources()
    if not slugs:
        return sources
    known = {s.slug: s for s in sources}
    missing = [slug for slug in slugs if slug not in known]
    if missing:
        raise SourceError(f"no source with slug {missing[0]!r}; see `newsvault sources list`")
    return [known[slug] for slug in dict.fromkeys(slugs)]


def _run_with_progress(archive: Archive, sources: list[Source]) -> pipeline.RunReport:
    with Progress(
        TextColumn("[bold]archiving"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("sources", total=len(sources), last="")

        def advance(report: pipeline.SourceReport) -> None:
            progress.update(task, advance=1, last=f"{report.slug}: {report.new} new")

        return pipeline.run(archive, sources, on_source_done=advance)


def _print_report(report: pipeline.RunReport) -> None:
    table = Table(title="newsvault run", title_justify="left")
    numbers = ("new", "full text", "unchanged", "edited", "skipped")
    for column in ("source", *numbers, "status"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for s in report.sources:
        colour = "red" if s.failed else ("yellow" if s.skipped or s.pages_failed else "")
        status = f"[{colour}]{s.status}[/{colour}]" if colour else s.status
        table.add_row(
            s.slug, str(s.new), str(s.full_text), str(s.unchanged), str(s.edited),
            str(len(s.skipped)), status,
        )  # fmt: skip
    out.print(table)
    for s in report.sources:
        for line in s.details(SKIPPED_SHOWN):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.rechecks:
        gone = sum(r.status == "gone" for r in report.rechecks)
        edited = sum(r.edited for r in report.rechecks)
        out.print(
            f"{len(report.rechecks)} re-checks were due: {gone} gone, {edited} edited "
            "(`newsvault recheck ID` looks again; `newsvault diff ID` shows an edit)."
        )
    failed = len(report.failed)
    out.print(
        f"{report.new} new articles from {len(report.sources) - failed} "
        f"of {len(report.sources)} sources; "
        f"{report.published.written} markdown files written."
    )


@app.command("list")
def list_command(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most N articles.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List archived articles, newest first."""
    store = _archive().store()
    try:
        articles = store.articles(source=source, limit=limit, with_content=as_json)
        if as_json:
            _print_json_array(a.to_json() for a in articles)
            return
        table = Table()
        for column in ("id", "source", "number", "published", "title"):
            table.add_column(column)
        for a in articles:
            table.add_row(
                str(a.id), a.source, str(a.number), ms_to_iso(a.published) or "", escape(a.title)
            )
        out.print(table)
    finally:
        store.close()


@app.command()
def show(
    article_id: Annotated[
        str, typer.Argument(metavar="ID", help="The article id, or SLUG/NUMBER.")
    ],
    format: Annotated[str, typer.Option("--format", "-f", help="json or md.")] = "json",
) -> None:
    """Show one article as JSON or in the markdown archive format."""
    if format not in ("json", "md"):
        raise NewsvaultError(f"--format {format!r}: use json or md")
    store = _archive().store()
    try:
        article = _find_article(store, article_id)
        if format == "md":
            sys.stdout.write(render_article(article))
        else:
            _print_json(article.to_json() | store.watch.fields(article))
    finally:
        store.close()


def _find_article(store: Any, article_id: str) -> Article:
    article = None
    if article_id.isdigit():
        article = store.article(int(article_id))
    elif "/" in article_id:
        slug, _, number = article_id.rpartition("/")
        if number.isdigit():
            article = store.article_by_number(slug, int(number))
    if article is None:
        raise NewsvaultError(f"no article {article_id!r}; see `newsvault list` for ids")
    return article


@app.command("import-markdown")
def import_markdown_command(
    directory: Annotated[
        Path, typer.Argument(help="An archive in the markdown format (holds articles/ and lists/).")
    ],
) -> None:
    """Import an existing markdown archive into the database, keeping its ids."""
    archive = _archive()
    with archive.lock("publish"):
        store = archive.store()
        try:
            result = import_markdown(store, directory, now=to_ms(time.time()))
            process_pending(store)
        finally:
            store.close()
    for error in result.errors or []:
        err.print(f"skipped {error}", markup=False)
    out.print(
        f"Imported {result.imported} articles ({result.skipped} already there, "
        f"{len(result.errors or [])} unreadable)."
    )


@publish_app.command("markdown")
def publish_markdown_command() -> None:
    """(Re)write articles/ and lists/ from the database."""
    archive = _archive()
    with archive.lock("publish"):
        store = archive.store()
        try:
            result = publish_markdown(
                store, archive.root, list_size=archive.settings["publish.list_size"]
            )
        finally:
            store.close()
    out.print(
        f"{result.written} article files written, {result.unchanged} unchanged, "
        f"{result.lists_written} list pages written."
    )


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="The feed URL (RSS, Atom or JSON Feed).")],
    name: Annotated[str, typer.Option("--name", help="The display name on list pages.")],
    slug: Annotated[
        str | None,
        typer.Option("--slug", help="Folder name under articles/ (default: from the URL)."),
    ] = None,
) -> None:
    """Follow a new feed."""
    archive = _archive()
    if not url.startswith(("http://", "https://")):
        raise SourceError(f"{url}: a source URL must start with http:// or https://")
    chosen = slug or make_slug(url, {s.slug for s in archive.sources()})
    archive.add_source(Source(slug=chosen, name=name, url=url))
    out.print(f"Added source {chosen} ({name}): {url}")


@sources_app.command("list")
def sources_list(as_json: JsonOption = False) -> None:
    """The sources, with their fetch state."""
    archive = _archive()
    store = archive.store()
    try:
        states = store.source_states()
        health = by_source(problems(store, archive.settings, to_ms(time.time())))
    finally:
        store.close()
    rows = []
    for source in archive.sources():
        state = states.get(source.slug)
        rows.append(
            {
                "slug": source.slug,
                "name": source.name,
                "url": source.url,
                "articles": state.articles if state else 0,
                "last_fetched": ms_to_iso(state.last_fetched) if state else None,
                "last_success": ms_to_iso(state.last_success) if state else None,
                "last_error": state.last_error if state else None,
                "failures": state.failures if state else 0,
                "note": state.note if state else None,
                "health": [p.to_json() for p in health.get(source.slug, [])],
            }
        )
    if as_json:
        _print_json(rows)
        return
    table = Table()
    columns = ("slug", "name", "articles", "last fetched", "failures", "status", "health", "url")
    for column in columns:
        table.add_column(column)
    for r in rows:
        status = f"[red]{escape(r['last_error'])}[/red]" if r["last_error"] else ""
        status = status or (f"[yellow]{escape(r['note'])}[/yellow]" if r["note"] else "ok")
        table.add_row(
            r["slug"], escape(r["name"]), str(r["articles"]), r["last_fetched"] or "never",
            str(r["failures"]), status, _health_cell(health.get(r["slug"], [])), escape(r["url"]),
        )  # fmt: skip
    out.print(table)


def _health_cell(found: list[Problem]) -> str:
    return "; ".join(f"[yellow]{escape(p.summary)}[/yellow]" for p in found) or "ok"


@sources_app.command("remove")
def sources_remove(slug: Annotated[str, typer.Argument(help="The source's slug.")]) -> None:
    """Stop following a source (its archived articles stay)."""
    removed = _archive().remove_source(slug)
    out.print(f"Removed source {removed.slug} ({removed.url}); its archived articles are kept.")


@sources_app.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(help="An OPML file from a feed reader.")],
) -> None:
    """Follow every feed listed in an OPML file (feeds already followed are skipped)."""
    archive = _archive()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SourceError(f"{file}: cannot read ({exc.strerror})") from None
    added = skipped = 0
    for name, url, slug in parse_opml(data, str(file)):
        current = archive.sources()
        if any(s.url == url for s in current):
            skipped += 1
            continue
        taken = {s.slug for s in current}
        chosen = slug if slug and slug not in taken else make_slug(url, taken)
        archive.add_source(Source(slug=chosen, name=name, url=url))
        added += 1
    out.print(f"Added {added} sources from {file} ({skipped} already followed).")


@sources_app.command("export")
def sources_export() -> None:
    """Print the sources as OPML."""
    sys.stdout.write(to_opml(_archive().sources()))


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to build the demo archive.")] = Path(
        "demo-archive"
    ),
) -> None:
    """Archive the bundled demo sources from a loopback server: no internet needed."""
    from newsvault.demo import run_demo

    report = run_demo(directory, progress=_run_with_progress)
    _print_report(report)
    out.print(f"Demo archive: {directory.resolve()} (see articles/ and lists/)")
    raise typer.Exit(1 if report.failed else 0)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _print_json_array(items: Any) -> None:
    sys.stdout.write("[")
    for index, item in enumerate(items):
        sys.stdout.write(("," if index else "") + "\n" + json.dumps(item, ensure_ascii=False))
    sys.stdout.write("\n]\n")


def main() -> None:
    app()


# Commands about single pages live in their own module and register themselves on `app`.
from newsvault import (  # noqa: E402, F401
    cli_daemon,
    cli_pages,
    cli_publish,
    cli_site,
    cli_stories,
    cli_watch,
)
