"""`newsvault watch` and `newsvault worker`: the daemon, in the foreground (a service manager
keeps it running); workers are the same loop, as many as wanted on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from newsvault.cli import _archive, app, err
from newsvault.cli_output import print_table
from newsvault.errors import NewsvaultError
from newsvault.logs import LOG_FORMATS, EventLog

if TYPE_CHECKING:
    from newsvault.watch.daemon import Watcher, WatchSummary

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
LogFormatOption = Annotated[
    str, typer.Option("--log-format", help="Log lines as text or json, on stderr.")
]


@app.command("watch")
def watch_command(log_format: LogFormatOption = "text") -> None:
    """Run until stopped (SIGTERM or Ctrl-C): poll each source on its interval, re-check
    archived articles as they fall due, archive submitted URLs, publish what changed."""
    _run_daemon("watch", log_format)


@app.command("worker")
def worker_command(log_format: LogFormatOption = "text") -> None:
    """Take the archive's jobs until stopped (SIGTERM or Ctrl-C), beside any number of other
    workers on this machine or others sharing its PostgreSQL database (the README's "Running
    on several machines"): the loop of `watch`, each job taken by one worker at a time, a
    killed worker's jobs taken again when their leases run out."""
    _run_daemon("worker", log_format)


def _run_daemon(role: str, log_format: str) -> None:
    early: list[int] = []  # a stop asked for while starting is kept, not lost
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda number, _frame: early.append(number))
    if log_format not in LOG_FORMATS:
        raise NewsvaultError(f"--log-format {log_format!r}: use text or json")
    archive = _archive()
    archive.sources()  # a broken newsvault.toml is told before anything starts
    from newsvault.watch.daemon import Watcher  # the daemon's modules, for this command only

    watcher = Watcher(archive.root, EventLog(log_format), role=role)
    summary = asyncio.run(_until_signalled(watcher, early))
    print_summary(summary, f"newsvault {role}")


async def _until_signalled(watcher: Watcher, early: list[int]) -> WatchSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    if early:
        stop.set()
    return await watcher.run(stop)


def print_summary(summary: WatchSummary, title: str = "newsvault watch") -> None:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column()
    table.add_column(justify="right")
    for name, value in summary.rows():
        table.add_row(name, value)
    print_table(table, err)
