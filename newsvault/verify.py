"""`newsvault verify`: an archive, or a mirror of it (a git clone, an rsync copy), checked
against the checksums it was published with (publish/checksums.py): every file listed is
read again, and files missing, changed or not listed are named.

A mirror need not hold every part: a git mirror has no captures/ (and no site/ unless
publish.git.site is set). A part whose folder is absent is "not held": its files are not
looked for, and it is said so; a part whose folder is there is checked whole. A capture file
open for appending when the checksums were written is checked up to the size it had then
(it only grows); capture files numbered past every one listed were begun since, and are
named as such, not as a fault.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from newsvault.errors import NewsvaultError
from newsvault.publish.checksums import (
    CAPTURES,
    PARTS,
    SUMS,
    Located,
    archive_files,
    capture_kind,
    read_listing,
    sha256_of,
)

READERS = 4  # files read at once
_CHUNK = 200  # files a reader takes at a time


@dataclass
class PartCheck:
    part: str
    listed: int = 0  # files the checksums list in this part
    held: bool = True  # its folder is there
    intact: int = 0
    changed: int = 0
    missing: int = 0
    extra: int = 0
    since: int = 0  # capture files begun after the checksums were written


@dataclass
class VerifyReport:
    root: Path
    parts: dict[str, PartCheck]
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    since: list[str] = field(default_factory=list)  # capture files begun since: no fault
    grown: list[str] = field(default_factory=list)  # open captures longer now: no fault

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    @property
    def not_held(self) -> list[str]:
        return [p.part for p in self.parts.values() if not p.held and p.listed]


def verify(
    root: Path,
    captures: Path | None = None,
    *,
    complete: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Check the files under `root` against its SHA256SUMS (and SHA256SUMS.json); the
    capture files in `captures` (an archive's captures.directory; root/captures when None).
    `complete`: a part not held counts as missing, file by file. `on_progress(done, total)`
    as files are read."""
    if not root.is_dir():
        raise NewsvaultError(f"{root}: not a directory; give an archive or a mirror's checkout")
    try:
        listing = read_listing(root)
    except FileNotFoundError:
        raise NewsvaultError(
            f"{root}: no {SUMS} here; it is written by `newsvault publish markdown` "
            "(or any publish) at the archive's root"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise NewsvaultError(f"{root / SUMS}: cannot be read ({exc}); publish again") from None
    located = Located(root, captures)
    parts = {p: PartCheck(p) for p in dict.fromkeys([*PARTS, *listing.parts])}
    for part in parts.values():
        part.listed = listing.parts.get(part.part, 0)
        part.held = located.disk(part.part).is_dir() or complete
    report = VerifyReport(root, parts)
    on_disk = {path: stat.st_size for path, stat in archive_files(located)}
    expected: list[tuple[str, str, int | None]] = [
        (path, digest, None) for path, digest in listing.sums.items()
    ] + [(path, digest, size) for path, (size, digest) in listing.growing.items()]
    held = sorted(entry for entry in expected if parts[_part(entry[0])].held)
    chunks = [held[start : start + _CHUNK] for start in range(0, len(held), _CHUNK)]

    def check(chunk: list[tuple[str, str, int | None]]) -> list[bool | None]:
        """Each file: None when missing, else whether its bytes are the ones listed."""
        return [
            sha256_of(located.disk(path), size) == digest if path in on_disk else None
            for path, digest, size in chunk
        ]

    done = 0
    # a few files read at once: opening and reading them waits on the disk, not the GIL
    with ThreadPoolExecutor(READERS) as pool:
        for chunk, results in zip(chunks, pool.map(check, chunks), strict=True):
            for (path, _, size), intact in zip(chunk, results, strict=True):
                part = parts[_part(path)]
                if intact is None:
                    part.missing += 1
                    report.missing.append(path)
                elif not intact:
                    part.changed += 1
                    report.changed.append(path)
                else:
                    part.intact += 1
                    if size is not None and on_disk[path] > size:
                        report.grown.append(path)
            done += len(chunk)
            if on_progress is not None:
                on_progress(done, len(held))
    listed = set(listing.sums) | set(listing.growing)
    last: dict[str, int] = {}  # the last serial listed of each kind of capture file name
    for kind, serial in (capture_kind(p) for p in listed if _part(p) == CAPTURES):
        last[kind] = max(serial, last.get(kind, 0))
    for path in sorted(set(on_disk) - listed):
        part = parts.setdefault(_part(path), PartCheck(_part(path)))
        kind, serial = capture_kind(path)
        if _part(path) == CAPTURES and serial > last.get(kind, 0):
            part.since += 1
            report.since.append(path)
        else:
            part.extra += 1
            report.extra.append(path)
    return report


def _part(path: str) -> str:
    return path.split("/", 1)[0]
