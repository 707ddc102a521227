"""The `newsvault` command: each command is one library call; errors become one line."""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer._click import Command, Context, Parameter
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from newsvault import logs, pipeline
from newsvault.archive import Archive
from newsvault.cli_output import Steps, counted, err, out, print_table
from newsvault.days import shown
from newsvault.discover import CheckedFeed, new_source
from newsvault.errors import NewsvaultError, SourceError, describe
from newsvault.models import Article, Source, ms_to_iso, to_ms
from newsvault.opml import make_slug, parse_opml, to_opml
from newsvault.publish.checksums import publishing
from newsvault.publish.images import MirroredImages, image_links
from newsvault.publish.markdown import import_markdown, publish_markdown, render_article
from newsvault.stories.process import process_pending
from newsvault.watch.health import Problem, by_source, problems
from newsvault.watch.history import watch_fields

__all__ = ["app", "err", "main", "out"]


class NewsvaultGroup(TyperGroup):
    """Turns a NewsvaultError into one line on stderr and exit status 2, a usage error
    (an unknown option, a missing or bad value) into one line naming the command's --help
    and exit status 2, and anything unforeseen (a bug) into one line and exit status 3;
    never a traceback, unless NEWSVAULT_DEBUG is set. Its --archive option is accepted after
    any command too: `newsvault list -a DIR` as `newsvault -a DIR list`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = next(p for p in self.params if p.name == "archive")
        shared = copy.copy(own)
        shared.expose_value = False  # the command functions never see it: State keeps it
        shared.callback = _remember_archive
        for command in _commands_below(self):
            command.params.append(shared)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            err.print(usage_line(exc), markup=False, highlight=False, emoji=False)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("newsvault: aborted", markup=False, highlight=False)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: Context) -> Any:
        logs.configure()
        try:
            return super().invoke(ctx)
        except NewsvaultError as exc:
            err.print(f"newsvault: {exc}", markup=False, highlight=False)
            raise typer.Exit(2) from None
        except Exception as exc:
            # usage errors and exits are the command line's own (typer carries its click);
            # a reader that went away (`| head`) ends the command quietly
            own = type(exc).__module__.split(".")[0] in ("click", "typer")
            if logs.debugging() or own or isinstance(exc, BrokenPipeError):
                raise
            err.print(
                f"newsvault: internal error: {describe(exc)} "
                "(what was archived is kept; NEWSVAULT_DEBUG=1 shows the traceback)",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(3) from None


def _commands_below(group: TyperGroup) -> Iterator[Command]:
    for command in group.commands.values():
        yield command
        if isinstance(command, TyperGroup):
            yield from _commands_below(command)


def usage_line(exc: click_errors.ClickException) -> str:
    """`newsvault: <what is wrong>; see `newsvault CMD --help``, on one line."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    message = message.replace(". Did you mean ", " (did you mean ")
    if "(did you mean " in message:
        message += ")"
    if message[:2].istitle():  # "Missing option" -> "missing option", "URL" stays
        message = message[0].lower() + message[1:]
    if not isinstance(exc, click_errors.UsageError):
        return f"newsvault: {message}"
    ctx = _context_of(exc)
    names = []
    while ctx is not None and ctx.parent is not None:  # the root's name: how it was started
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    command = " ".join(["newsvault", *reversed(names)])
    return f"newsvault: {message}; see `{command} --help`"


def _context_of(exc: click_errors.UsageError) -> Context | None:
    """The context of the command whose arguments were wrong. The option parser raises some
    errors ("option '-a' requires an argument") without one: then the innermost context on
    the way to where it was raised."""
    found = exc.ctx
    frame = exc.__traceback__
    while exc.ctx is None and frame is not None:
        candidate = frame.tb_frame.f_locals.get("ctx")
        found = candidate if isinstance(candidate, Context) else found
        frame = frame.tb_next
    return found


app = typer.Typer(
    cls=NewsvaultGroup,
    help="newsvault: follow news sources, capture every article, keep the raw bytes, "
    "publish a markdown archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags shown as flags, nothing boxed or cut
)
sources_app = typer.Typer(
    help="The sources an archive follows (kept in newsvault.toml).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
publish_app = typer.Typer(
    help="Write the archive in a form people read.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(sources_app, name="sources")
app.add_typer(publish_app, name="publish")

ArchiveOption = Annotated[
    Path | None,
    typer.Option(
        "--archive",
        "-a",
        metavar="DIR",
        help="The archive directory (else $NEWSVAULT_ARCHIVE, "
        "else the nearest parent with newsvault.toml); before or after the command.",
    ),
]
SKIPPED_SHOWN = 5  # reasons printed per source after a run; `sources list` keeps the first
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SourceOption = Annotated[
    str | None, typer.Option("--source", "-s", metavar="SLUG", help="Only this source.")
]
SourcesOption = Annotated[
    list[str] | None,
    typer.Option("--source", "-s", metavar="SLUG", help="Only this source (repeatable)."),
]


class State:
    archive_dir: Path | None = None


def _archive() -> Archive:
    return Archive.find(State.archive_dir)


def _remember_archive(ctx: Context, param: Parameter, value: Path | None) -> None:
    if value is not None:  # `newsvault -a A list -a B`: the last one said
        State.archive_dir = value


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version  # 17 ms: only asked here

    try:
        number = version("newsvault")
    except PackageNotFoundError:  # run from a checkout that was never installed
        number = "unknown"
    out.print(f"newsvault {number}", markup=False, highlight=False)
    raise typer.Exit(0)


@app.callback()
def main_options(
    archive: ArchiveOption = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    State.archive_dir = archive


def check_sources(archive: Archive, slugs: Sequence[str] | None) -> None:
    """Refuse a --source that names no source: neither followed nor holding articles."""
    if not slugs:
        return
    known = {s.slug for s in archive.sources()}
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        store = archive.store()
        try:
            known |= set(store.source_states())
        finally:
            store.close()
    for slug in unknown:
        if slug not in known:
            raise SourceError(f"--source {slug!r}: no such source; see `newsvault sources list`")


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Where to create the archive.")]) -> None:
    """Create a new archive with the default Chinese-language news sources."""
    archive = Archive.init(directory)
    out.print(f"Created archive {archive.root} with {counted(len(archive.sources()), 'source')}.")
    out.print(
        f"Edit {archive.config_path.name} to choose sources, then run: newsvault -a {directory} run"
    )


@app.command("run")
def run_command(source: SourcesOption = None) -> None:
    """Fetch every feed once, archive new items, run the re-checks that are due, mirror the
    images of what was stored, write the markdown archive."""
    archive = _archive()
    selected = _select_sources(archive, source)
    report = _run_with_progress(archive, selected)
    _print_report(report)
    if report.images.tried:  # mirrored before the markdown was written: it points at them
        out.print(report.images.summary(), markup=False, highlight=False)
    raise typer.Exit(1 if report.failed else 0)


def _select_sources(archive: Archive, slugs: list[str] | None) -> list[Source]:
    sources = archive.sources()
    if not slugs:
        return sources
    known = {s.slug: s for s in sources}
    missing = [slug for slug in slugs if slug not in known]
    if missing:
        raise SourceError(f"--source {missing[0]!r}: no such source; see `newsvault sources list`")
    return [known[slug] for slug in dict.fromkeys(slugs)]


def _run_with_progress(archive: Archive, sources: list[Source]) -> pipeline.RunReport:
    """pipeline.run with a line per source as it finishes (its feed fetched and its items
    archived), then one for the steps after: the re-checks that are due, the images of what
    was stored, and the markdown."""
    with Steps("run", len(sources)) as steps:
        waiting = {s.slug: None for s in sources}
        steps.status(f"archiving {_few(waiting)}")

        def advance(report: pipeline.SourceReport) -> None:
            waiting.pop(report.slug, None)
            said = (
                f"failed: {report.error}" if report.failed else f"{report.new} new, {report.status}"
            )
            steps.done(f"{report.slug}: {said}")
            if waiting:
                steps.status(f"archiving {_few(waiting)}")
            else:
                steps.step("the re-checks that are due, the images, then the markdown")

        return pipeline.run(archive, sources, on_source_done=advance)


def _few(names: dict[str, None], most: int = 3) -> str:
    """'voa, rfa, bbc and 4 more'."""
    shown = list(names)[:most]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


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
    print_table(table)
    for s in report.sources:
        for line in s.details(SKIPPED_SHOWN):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.rechecks:
        gone = sum(r.status == "gone" for r in report.rechecks)
        edited = sum(r.edited for r in report.rechecks)
        due = len(report.rechecks)
        out.print(
            f"{counted(due, 're-check')} {'was' if due == 1 else 'were'} due: {gone} gone, "
            f"{edited} edited "
            "(`newsvault recheck ID` looks again; `newsvault diff ID` shows an edit)."
        )
    failed = len(report.failed)
    out.print(
        f"{counted(report.new, 'new article')} from {len(report.sources) - failed} "
        f"of {counted(len(report.sources), 'source')}; "
        f"{counted(report.published.written, 'markdown file')} written."
    )


@app.command("list")
def list_command(
    source: SourceOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, metavar="N", help="At most N articles.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List archived articles, newest first."""
    archive = _archive()
    check_sources(archive, [source] if source else None)
    store = archive.store()
    try:
        articles = store.articles(source=source, limit=limit, with_content=as_json)
        if as_json:
            _print_json_array(a.to_json() for a in articles)
            return
        table = Table()
        for column in ("id", "source", "number", "published", "title"):
            table.add_column(column)
        for a in articles:
            table.add_row(str(a.id), a.source, str(a.number), shown(a.published), escape(a.title))
        print_table(table)
    finally:
        store.close()


@app.command()
def show(
    article_id: Annotated[
        str, typer.Argument(metavar="ID", help="The article id, or SLUG/NUMBER.")
    ],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", metavar="json|md", help="json (the default) or md."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (as --format json, the default).")
    ] = False,
) -> None:
    """Show one article as JSON or in the markdown archive format."""
    if format not in (None, "json", "md"):
        raise NewsvaultError(f"--format {format!r}: use json or md")
    if as_json and format == "md":
        raise NewsvaultError("--json and --format md: give one of them")
    archive = _archive()
    store = archive.store()
    try:
        article = _find_article(store, article_id)
        if format == "md":  # as its file in articles/: images where the policy points them
            links = image_links(archive)
            mapper = links.mapper(article.source, MirroredImages(store.media), "/")
            sys.stdout.write(render_article(article, mapper))
        else:
            _print_json(article.to_json() | watch_fields(store, article))
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
    with archive.lock("publish"), Steps("import-markdown") as steps:
        store = archive.store()
        try:
            steps.step(f"reading {directory}")
            result = import_markdown(
                store, directory, now=to_ms(time.time()), media_to=archive.root
            )
            steps.step("indexing the articles for search and stories")
            process_pending(store)
        finally:
            store.close()
    for error in result.errors or []:
        err.print(f"skipped {error}", markup=False)
    _print_counts(
        "newsvault import-markdown",
        {
            "imported": result.imported,
            "already there": result.skipped,
            "unreadable": len(result.errors),
        },
    )


@publish_app.command("markdown")
def publish_markdown_command() -> None:
    """(Re)write articles/ and lists/ from the database."""
    archive = _archive()
    with publishing(archive, full=True), Steps("publish markdown") as steps:
        store = archive.store()
        try:
            steps.step(f"writing {archive.root / 'articles'} and {archive.root / 'lists'}")
            result = publish_markdown(
                store,
                archive.root,
                list_size=archive.settings["publish.list_size"],
                images=image_links(archive),
            )
        finally:
            store.close()
    _print_counts(
        "newsvault publish markdown",
        {
            "article files written": result.written,
            "unchanged": result.unchanged,
            "list pages written": result.lists_written,
        },
    )


def _print_counts(title: str, counts: dict[str, int]) -> None:
    """A one-row summary table: a column per count."""
    table = Table(title=title, title_justify="left")
    for name in counts:
        table.add_column(name, justify="right")
    table.add_row(*(str(n) for n in counts.values()))
    print_table(table)


@sources_app.command("add")
def sources_add(
    url: Annotated[
        str, typer.Argument(help="The feed's URL (RSS, Atom or JSON Feed), or a page naming one.")
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="The display name on list pages (default: the feed's title)."),
    ] = None,
    slug: Annotated[
        str | None,
        typer.Option("--slug", help="Folder name under articles/ (default: from the URL)."),
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help='Its folder, nested ones as "A/B".')
    ] = None,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Add it without fetching it (set up offline).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Follow a new feed: fetched once first, and refused with the reason if it is not one;
    given a web page, the feed its head names (<link rel="alternate">; the first of several)."""
    source, checked = new_source(
        _archive(), url, name=name, slug=slug, category=category, check=not no_check
    )
    if as_json:
        _print_json(
            {
                **_source_json(source),
                "checked": checked is not None,
                "found_in": checked.page if checked else None,
                "feeds_named": list(checked.links) if checked else [],
            }
        )
        return
    if checked and checked.page:
        out.print(_found_line(checked), markup=False, highlight=False)
    out.print(
        f"Added source {source.slug} ({source.name}): {source.url}", markup=False, highlight=False
    )


def _found_line(checked: CheckedFeed) -> str:
    """Which feed a page given to `sources add` named: the first, when it names several."""
    if len(checked.links) == 1:
        return f"{checked.page} is a web page; its feed: {checked.url}"
    others = ", ".join(checked.links[1:])
    return (
        f"{checked.page} is a web page naming {len(checked.links)} feeds; the first taken: "
        f"{checked.url} (the others: {others})"
    )


def _source_json(source: Source) -> dict[str, Any]:
    return {
        "slug": source.slug,
        "name": source.name,
        "url": source.url,
        "category": source.category,
        "home": source.home,
    }


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
                **_source_json(source),
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
    columns = (
        "slug", "name", "articles", "last fetched", "failures", "status", "health", "category",
        "home", "url",
    )  # fmt: skip
    for column in columns:
        table.add_column(column)
    for r in rows:
        status = f"[red]{escape(r['last_error'])}[/red]" if r["last_error"] else ""
        status = status or (f"[yellow]{escape(r['note'])}[/yellow]" if r["note"] else "ok")
        table.add_row(
            r["slug"], escape(r["name"]), str(r["articles"]), r["last_fetched"] or "never",
            str(r["failures"]), status, _health_cell(health.get(r["slug"], [])),
            escape(r["category"] or ""), escape(r["home"] or ""), escape(r["url"]),
        )  # fmt: skip
    print_table(table)


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
    """Follow every feed listed in an OPML file, with its folder and site (feeds already
    followed are skipped; none is fetched: `run` says which fail)."""
    archive = _archive()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SourceError(f"{file}: cannot read ({exc.strerror})") from None
    added = skipped = 0
    for outline in parse_opml(data, str(file)):
        current = archive.sources()
        if any(s.url == outline.url for s in current):
            skipped += 1
            continue
        taken = {s.slug for s in current}
        slug = outline.slug
        chosen = slug if slug and slug not in taken else make_slug(outline.url, taken, outline.name)
        archive.add_source(
            Source(
                slug=chosen, name=outline.name, url=outline.url, category=outline.category,
                home=outline.home,
            )
        )  # fmt: skip
        added += 1
    out.print(f"Added {counted(added, 'source')} from {file} ({skipped} already followed).")


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
    cli_recover,
    cli_site,
    cli_stories,
    cli_verify,
    cli_warc,
    cli_watch,
)
