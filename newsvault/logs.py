"""Log lines for people: one line per event on stderr, never a traceback.

The libraries newsvault builds on log their own failures, some with a traceback
(readability-lxml logs every page it cannot summarise with `log.exception`), although
newsvault handles each of those failures itself: their loggers are kept quiet unless
NEWSVAULT_DEBUG is set, which also brings the tracebacks back.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from newsvault.errors import describe

QUIET = {"readability": logging.CRITICAL, "trafilatura": logging.ERROR, "htmldate": logging.ERROR}
_configured = False


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (tests swap it)."""

    @property
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


LOG_FORMATS = ("text", "json")


class EventLog:
    """One line per event on stderr, for a long-running process: `text` (time, event and
    key=value pairs, values with spaces quoted) or `json` (one object a line). Fields that
    are None are left out."""

    def __init__(self, fmt: str = "text", stream: Any = None) -> None:
        if fmt not in LOG_FORMATS:
            raise ValueError(fmt)
        self.fmt = fmt
        self._stream = stream

    def emit(self, event: str, *, level: str = "info", **fields: Any) -> None:
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        present = {k: v for k, v in fields.items() if v is not None}
        if self.fmt == "json":
            record = {"time": moment, "level": level, "event": event, **present}
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            pairs = " ".join(f"{k}={_quoted(v)}" for k, v in present.items())
            mark = "" if level == "info" else f" {level}"
            line = f"{moment}{mark} {event} {pairs}".rstrip()
        stream = self._stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()


def _quoted(value: Any) -> str:
    text = " ".join(str(value).split())  # one line, whatever a page or error said
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text
