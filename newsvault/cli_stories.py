"""Commands over the whole archive: `search`, `stories`, `story`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from newsvault.cli import _archive, _print_json, app, out
from newsvault.errors import ArchiveError, NewsvaultError
from newsvault.models import CHINA_TIME, ms_to_iso
from newsvault.store import Store
from newsvault.stories.process import process_pending
from newsvault.stories.search import get_story, list_stories, search

DateOption = Annotated[
    str | None, typer.Option(help="YYYY-MM-DD (UTC+8) or an ISO 8601 time with offset.")
]


def parse_day(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise NewsvaultError(f"{option} {value!r}: give a date as YYYY-MM-DD") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TIME)


@contextmanager
def caught_up_store() -> Iterator[Store]:
    """The archive's store, after indexing articles stored but not yet indexed (a killed
    run); that step is skipped while another process writes, which will do it itself."""
    archive = _archive()
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
    query: Annotated[
        str, typer.Argument(help="Words, names or phrases; Chinese in either script.")
    ],
    source: Annotated[str | None, typer.Option(help="Only this source's articles.")] = None,
    since: DateOption = None,
    until: DateOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Search the archive: ranked articles with the matching passage."""
    with caught_up_store() as store:
        hits = search(
            store,
            query,
            source=source,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until"),
            limit=limit,
        )
    if as_json:
        _print_json([hit.to_json() for hit in hits])
        return
    table = Table(title=f"{len(hits)} results for {escape(query)}", title_justify="left")
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
    out.print(table)


@app.command("stories")
def stories_command(
    since: DateOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
    min_size: Annotated[int, typer.Option(help="Only stories told this many times.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
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
    out.print(table)


@app.command("story")
def story_command(
    story_id: Annotated[int, typer.Argument(metavar="ID", help="The story id from `stories`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
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
    out.print(table)
    out.print(f"First reported by {data['first_reported_by']}.", markup=False, highlight=False)
