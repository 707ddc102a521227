"""Commands for readers: `publish site` (static website and Atom feeds) and `serve` (web app)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsvault.cli import _archive, app, err, out, publish_app
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
) -> None:
    """Serve the archive: reading, search, stories, URL submission, JSON API (/docs)."""
    import uvicorn

    from newsvault.web.app import server_config

    archive = _archive()
    config = server_config(archive.root, host, port)  # the app is built here: errors first
    out.print(f"newsvault: serving {archive.root} on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.Server(config).run()
