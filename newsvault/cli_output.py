"""How the command line prints: tables whole (wrapped on a terminal, tab-separated lines off
one: a pipe, a file, a cron log), progress while long work runs (a bar on a terminal, a plain
line per finished item or step off one), and counted nouns ("1 result", "2 results")."""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

TENTHS = 10  # counted work off a terminal: a line each tenth of the way


def counted(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 result', '2 results'; `nouns` where the plural is not noun + 's'."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def print_table(table: Table, console: Console = out) -> None:
    """A table with every value whole: on a terminal its columns wrap (a long value folds
    onto the next line, never cut to '…'); off a terminal its title on a line of its own,
    then a header line and a line per row, tab-separated, without markup."""
    if console.is_terminal:
        for column in table.columns:
            column.overflow = "fold"
        console.print(table)
        return
    lines = [_plain(table.title)] if table.title else []
    if table.show_header:
        lines.append(_tab_line(column.header for column in table.columns))
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    lines += [_tab_line(row) for row in rows]
    console.file.write("".join(line + "\n" for line in lines))
    console.file.flush()


def _tab_line(cells: Iterable[RenderableType]) -> str:
    return "\t".join(_plain(cell) for cell in cells)


def _plain(cell: RenderableType) -> str:
    """A cell as plain text on one line (a cell holding lines has them joined by ' / ')."""
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str):
        text = Text.from_markup(cell).plain
    else:
        text = str(cell)
    return " / ".join(line.strip() for line in text.splitlines()).replace("\t", " ")


class Steps:
    """Long work seen while it runs. On a terminal: a spinner, what is being done, a bar with
    items done of the total when it is known, the last item and the time taken, on stderr,
    gone when the work ends. Off a terminal, plain lines on stderr as work finishes: one per
    finished item that has a line (`done(line)`), one per finished step (`step(line)` begins
    it; it ends at the next step or when the work ends without an error) with the time it
    took, and one each tenth of the way for work that is only counted (`done()`,
    `update()`). With `lines` false, nothing off a terminal (--json output says it all)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        bar: bool | None = None,
        lines: bool = True,
        console: Console = err,
    ) -> None:
        self.label = label
        self.total = total
        self.bar = total is not None if bar is None else bar  # items counted, of a total
        self.lines = lines
        self.console = console
        self.doing = ""
        self.started = 0.0
        self.completed = 0
        self._tenth = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Steps:
        if self.console.is_terminal:
            columns: list[ProgressColumn | str] = [
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
            ]
            if self.bar:
                columns += [BarColumn(), MofNCompleteColumn()]
            columns += [TextColumn("{task.fields[last]}"), TimeElapsedColumn()]
            self._progress = Progress(
                *columns,
                console=self.console,
                transient=True,
                redirect_stdout=False,  # what a command prints on stdout goes there, whole
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, last="")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif kind is None:
            self._step_done()

    def status(self, line: str) -> None:
        """What is being done now, shown on a terminal only (off one, the lines of the items
        as they finish say enough)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=line)

    def step(self, line: str) -> None:
        """A new step of the work begins (the one before it has ended): `line` says what it
        is."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=line)
        else:
            self._step_done()
        self.doing, self.started = line, time.monotonic()

    def _step_done(self) -> None:
        if self.doing:
            self._say(f"{self.doing}: done in {time.monotonic() - self.started:.1f} s")
        self.doing = ""

    def done(self, line: str | None = None) -> None:
        """One item finished; `line` (whole, one line) says which and how it went."""
        self.completed += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, last=line or "")
        elif line is not None:
            self._say(line)
        else:
            self._count_line()

    def update(self, completed: int, total: int) -> None:
        """Counted work: `completed` of `total` done."""
        self.completed, self.total = completed, total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, total=total)
        else:
            self._count_line()

    def _count_line(self) -> None:
        if not self.total:
            return
        tenth = self.completed * TENTHS // self.total
        if tenth > self._tenth or self.completed == self.total:
            self._tenth = tenth + 1 if self.completed == self.total else tenth
            doing = f"{self.doing}: " if self.doing else ""
            self._say(f"{doing}{self.completed} of {self.total}")

    def _say(self, line: str) -> None:
        if self.lines:
            self.console.print(f"{self.label}: {line}", markup=False, highlight=False, emoji=False)
