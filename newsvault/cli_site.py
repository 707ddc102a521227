"""Commands for readers: `publish site` (static website and Atom feeds) and `serve` (web app)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.table import Table

from newsvault.cli import _archive, app, out, publish_app
from newsvault.cli_output import Steps, print_table
from newsvault.errors import NewsvaultError
from newsvault.publish.checksums import publishing
from newsvault.stories.process import process_pending


@publish_app.command("site")
def publish_site_command() -> None:
    """(Re)write the static website in site/: only pages whose content changed."""
    from newsvault.publish.site import build_site  # jinja2 and the site, for this command only

    archive = _archive()
    followed = archive.sources()  # a broken newsvault.toml is told before any work
    with publishing(archive, full=True):
        store = archive.store()
        try:
            with Steps("publish site", bar=True) as steps:
                steps.step("indexing new articles for search and stories")
                process_pending(store)  # stories and the index must be current for story pages
                steps.step("article pages")
                report = build_site(
                    store, archive.root, archive.settings, followed, on_progress=steps.update
                )
        finally:
            store.close()
    # pages: every page and feed of the site, each written only when its content changed;
    # captures: the one-record WARC file of an article's raw capture, linked from its page
    pages_written = max(report.pages - report.unchanged, 0)
    table = Table(title="newsvault publish site", title_justify="left")
    columns = {
        "articles": report.articles,
        "pages and feeds": report.pages,
        "pages written": pages_written,
        "pages unchanged": report.unchanged,
        "captures copied": max(report.written - pages_written, 0),
        "stale files deleted": report.deleted,
    }
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(*(f"{n:,}" for n in columns.values()))
    print_table(table)
    out.print(
        f"The site is in {archive.root / 'site'}; "
        "only the pages whose content changed were written.",
        markup=False,
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
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
    listening = _listen(host, port)  # taken before saying so: a port in use is one line
    where = f"[{host}]" if ":" in host else host
    out.print(f"newsvault: serving {archive.root} on http://{where}:{port}/ (Ctrl-C stops)")
    uvicorn.Server(config).run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NewsvaultError(
            f"cannot listen on {host}:{port} ({reason}); choose another --port or --host"
        ) from None
    return listening
