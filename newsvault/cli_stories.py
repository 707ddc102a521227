"""Commands over the whole archive: `search`, `stories`, `story`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import JsonOption, SourceOption, _archive, _print_json, app, check_sources, out
from newsvault.cli_output import counted, print_table
from newsvault.days import parse_day
from newsvault.errors import ArchiveError
from newsvault.models import ms_to_iso
from newsvault.store import Store
from newsvault.stories.process import process_pending
from newsvault.stories.search import get_story, list_stories, search

DateOption = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="YYYY-MM-DD (UTC+8) or an ISO 8601 time with offset."),
]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, metavar="N", help="At most N.")]


@contextmanager
def caught_up_store(sources: list[str] | None = None) -> Iterator[Store]:
    """The archive's store, after indexing articles stored but not yet indexed (a killed
    run); that step is skipped while another process writes, which will do it itself.
    A slug in `sources` that names no source is refused first."""
    archive = _archive()
    check_sources(archive, sources)
    store = archive.store()
    try:
        try:
            with archive.lock("stories", wait=0):
                process_pending(store)
        except ArchiveError:
            pass
        yield store
    finally:
        store.close()


@app.command("search")
def search_command(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="QUERY...",
            help="Words, names or phrases; Chinese in either script; several words are one "
            "query (quoting them is not needed).",
        ),
    ],
    source: SourceOption = None,
    since: DateOption = None,
    until: DateOption = None,
    limit: LimitOption = 20,
    as_json: JsonOption = False,
) -> None:
    """Search the archive: ranked articles with the matching passage."""
    query = " ".join(words)
    with caught_up_store([source] if source else None) as store:
        hits = search(
            store,
            query,
            source=source,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until", end=True),  # the day itself included
            limit=limit,
        )
    if as_json:
        _print_json([hit.to_json() for hit in hits])
        return
    table = Table(title=f"{counted(len(hits), 'result')} for {escape(query)}", title_justify="left")
    for column in ("id", "source", "published", "title / passage"):
        table.add_column(column)
    for hit in hits:
        passage = (
            escape(hit.snippet)
            .replace("&lt;mark&gt;", "[reverse]")
            .replace("&lt;/mark&gt;", "[/reverse]")
        )
        passage = passage.replace("<mark>", "[reverse]").replace("</mark>", "[/reverse]")
        table.add_row(
            str(hit.article.id),
            hit.article.source,
            (ms_to_iso(hit.article.published) or "")[:10],
            f"[bold]{escape(hit.article.title)}[/bold]\n{passage}",
        )
    print_table(table)


@app.command("stories")
def stories_command(
    since: DateOption = None,
    limit: LimitOption = 30,
    min_size: Annotated[
        int, typer.Option(min=1, metavar="N", help="Only stories told this many times.")
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """Story clusters, newest first: each event with the articles that told it."""
    with caught_up_store() as store:
        found = list_stories(
            store, since=parse_day(since, "--since"), limit=limit, min_size=min_size
        )
    if as_json:
        _print_json([story.to_json() for story in found])
        return
    table = Table(title="stories", title_justify="left")
    for column in ("story", "last seen", "headline", "outlets", "first"):
        table.add_column(column)
    for story in found:
        data = story.to_json()
        outlets = sorted({a["source"] for a in data["articles"]})
        table.add_row(
            str(story.id),
            (data["last_seen"] or "")[:10],
            escape(story.title),
            f"{len(data['articles'])}: {', '.join(outlets)}",
            data["first_reported_by"] or "",
        )
    print_table(table)


@app.command("story")
def story_command(
    story_id: Annotated[int, typer.Argument(metavar="ID", help="The story id from `stories`.")],
    as_json: JsonOption = False,
) -> None:
    """One story: its articles, oldest first, and who reported first."""
    with caught_up_store() as store:
        story = get_story(store, story_id)
    data = story.to_json()
    if as_json:
        _print_json(data)
        return
    table = Table(title=f"story {story.id}: {escape(story.title)}", title_justify="left")
    for column in ("id", "source", "published", "title"):
        table.add_column(column)
    for article in data["articles"]:
        table.add_row(
            str(article["id"]),
            article["source"],
            article["published"] or "",
            escape(article["title"]),
        )
    print_table(table)
    out.print(f"First reported by {data['first_reported_by']}.", markup=False, highlight=False)
