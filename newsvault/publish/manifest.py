"""The site's manifest: every file of site/ with the digest of what it was written from.

    site/.manifest.json   what the last full build wrote (path -> digest)
    site/.manifest.log    what each publish of a change wrote since, one JSON line each

A publish of one article must not rewrite a manifest of every page of a large archive, so it
appends a line instead; a full build, or a log grown as large as the manifest, writes the
manifest whole again and drops the log. Each line names the manifest it follows (its inode,
size and modification time): a line left from before the manifest was rewritten is passed
over, and so is a line a killed process left half-written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from newsvault.files import write_atomic

MANIFEST = ".manifest.json"
JOURNAL = ".manifest.log"
COMPACT_MIN_BYTES = 1 << 20  # a log smaller than this is never folded into the manifest


class Manifest:
    """site/.manifest.json and its log, read once and then followed: a long-running publisher
    keeps one, and reads only what was appended since (or everything again, when the manifest
    was rewritten meanwhile)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST
        self.journal = folder / JOURNAL
        self._entries: dict[str, str] = {}
        self._base: str | None = None  # the identity of the manifest file _entries start from
        self._applied = 0  # bytes of the log read into _entries
        self._stale = False  # the log holds lines that follow an older manifest

    def read(self) -> dict[str, str]:
        """Path -> digest of every file the site holds (the manifest with its log applied).
        The dictionary is the manifest's own: read it, do not change it."""
        base = file_identity(self.path)
        if base != self._base or _size(self.journal) < self._applied:
            try:
                self._entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                self._entries = {}
            self._base, self._applied, self._stale = base, 0, False
        try:
            with open(self.journal, "rb") as fh:
                fh.seek(self._applied)
                tail = fh.read()
        except FileNotFoundError:
            return self._entries
        complete = tail[: tail.rfind(b"\n") + 1]
        for line in complete.splitlines():
            try:
                record = json.loads(line)
                follows, pages = record["base"], record["pages"]
            except (ValueError, KeyError, TypeError):
                continue  # torn by a killed process
            if follows == base:
                self._entries.update(pages)
            else:
                self._stale = True
        self._applied += len(complete)
        return self._entries

    def replace(self, entries: dict[str, str]) -> None:
        """Write the whole manifest (a full build's), dropping the log."""
        write_atomic(self.path, json.dumps(entries, sort_keys=True, indent=0))
        self.journal.unlink(missing_ok=True)
        self._entries = dict(entries)
        self._base, self._applied, self._stale = file_identity(self.path), 0, False

    def update(self, entries: dict[str, str]) -> None:
        """Record what a publish of a change wrote: a line appended to the log, or, once the
        log has grown as large as the manifest, the manifest written whole again."""
        if not entries:
            return
        current = self.read()
        line = json.dumps({"base": self._base, "pages": entries}, sort_keys=True).encode()
        written = _size(self.journal)
        if self._stale or written + len(line) > max(COMPACT_MIN_BYTES, _size(self.path)):
            self.replace({**current, **entries})
            return
        # a half-written line left by a killed process stays a line of its own
        prefix = b"\n" if written > self._applied else b""
        with open(self.journal, "ab") as fh:
            fh.write(prefix + line + b"\n")
        current.update(entries)
        self._applied = written + len(prefix) + len(line) + 1


def file_identity(path: Path) -> str | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
