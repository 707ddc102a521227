"""Commands for readers: `publish site` (static website and Atom feeds) and `serve` (web app)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsvault.cli import _archive, app, err, out, publish_app
from newsvault.errors import NewsvaultError
from newsvault.publish.site import build_site
from newsvault.stories.process import process_pending


@publish_app.command("site")
def publish_site_command() -> None:
    """(Re)write the static website in site/: only pages whose content changed."""
    archive = _archive()
    followed = archive.sources()  # a broken newsvault.toml is told before any work
    with archive.lock("publish"):
        store = archive.store()
        try:
            process_pending(store)  # stories and the index must be current for story pages
            with Progress(
                TextColumn("[bold]article pages"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as progress:
                task = progress.add_task("pages", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                report = build_site(
                    store, archive.root, archive.settings, followed, on_progress=advance
                )
        finally:
            store.close()
    table = Table(title=f"newsvault publish site: {archive.root / 'site'}", title_justify="left")
    for column in ("articles", "pages", "written", "unchanged", "deleted"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            f"{n:,}"
            for n in (
                report.articles,
                report.pages,
                report.written,
                report.unchanged,
                report.deleted,
            )
        )
    )
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    watch: Annotated[
        bool, typer.Option("--watch", help="Also do `newsvault watch`'s work in this process.")
    ] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="The watcher's log lines: text or json.")
    ] = "text",
) -> None:
    """Serve the archive: reading, search, stories, URL submission, JSON API (/docs)."""
    import uvicorn

    from newsvault.logs import LOG_FORMATS, EventLog
    from newsvault.web.app import server_config

    if log_format not in LOG_FORMATS:
        raise NewsvaultError(f"--log-format {log_format!r}: use text or json")
    archive = _archive()
    config = server_config(  # the app is built here: errors first
        archive.root, host, port, watch=watch, events=EventLog(log_format)
    )
    out.print(f"newsvault: serving {archive.root} on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.Server(config).run()
