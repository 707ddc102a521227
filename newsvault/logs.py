"""Log lines for people: one line per event on stderr, never a traceback.

The libraries newsvault builds on log their own failures, some with a traceback
(readability-lxml logs every page it cannot summarise with `log.exception`), although
newsvault handles each of those failures itself: their loggers are kept quiet unless
NEWSVAULT_DEBUG is set, which also brings the tracebacks back.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from newsvault.errors import describe

QUIET = {"readability": logging.CRITICAL, "trafilatura": logging.ERROR, "htmldate": logging.ERROR}
_configured = False


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(record.getMessage().split())
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({describe(exc, 200)})"
        return f"newsvault: {record.levelname.lower()}: {record.name}: {message}"


def debugging() -> bool:
    return os.environ.get("NEWSVAULT_DEBUG", "") not in ("", "0")


def configure() -> None:
    """Once per process, from the command line's entry point (never on import)."""
    global _configured
    if _configured:
        return
    _configured = True
    handler = _Stderr()
    if not debugging():
        handler.setFormatter(OneLine())
        for name, level in QUIET.items():
            logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debugging() else logging.WARNING)
