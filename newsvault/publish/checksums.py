"""The archive's checksums: a SHA-256 of every published file and every capture, at the root,
so that a mirror (a git clone, an rsync copy) can show it holds the archive unaltered.

    SHA256SUMS        `sha256sum -c` lines: articles/, lists/, media/, site/ and the closed
                      capture files (captures/*.warc.gz)
    SHA256SUMS.json   what the list covers: files and bytes per part, and the capture files
                      still open for appending when it was written (size, and the SHA-256 of
                      that many first bytes: a capture only ever grows)
    newsvault.sums    this archive's own cache (never published): each file's size, mtime and
                      inode beside its digest, so a publish hashes only what changed

A capture file is closed once a writer can never append to it again: a newer capture file of
its kind exists (writers only ever continue the newest of theirs) and no writer holds its
lock. The newest one, and one a writer still holds, is open: `sha256sum -c` could not check a
file that grows, so it is listed in SHA256SUMS.json instead, and moves to SHA256SUMS once
closed.

Written under the archive's `publish` lock (`publishing`), after every publish of the
markdown archive or the site, and by `publish git` before it commits.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsvault.archive import Archive
from newsvault.files import TEMP_SUFFIX, write_atomic, write_if_changed
from newsvault.publish.manifest import file_identity

log = logging.getLogger(__name__)

SUMS = "SHA256SUMS"
DETAILS = "SHA256SUMS.json"
CACHE = "newsvault.sums"
PUBLISHED = ("articles", "lists", "media", "site")
CAPTURES = "captures"
PARTS = (*PUBLISHED, CAPTURES)
CAPTURE_SUFFIX = ".warc.gz"
FORMAT = 1
RACY_NS = 2_000_000_000  # a folder or file changed this close to a scan is looked at again
UNTRUSTED = -1  # the mtime kept for a file changed that close: never matches
_BLOCK = 1 << 20


# A file as the cache knows it: (size, mtime_ns, inode, digest); the digest is good while
# the other three stay.
Seen = tuple[int, int, int, str]


@dataclass
class ChecksumReport:
    files: int = 0
    hashed: int = 0  # files whose bytes were read this time (new or changed)
    hashed_bytes: int = 0
    open_captures: int = 0
    written: bool = False  # SHA256SUMS changed
    seconds: float = 0.0


@dataclass
class Listing:
    """What SHA256SUMS and SHA256SUMS.json say: path -> digest of the closed files; open
    captures path -> (size, digest of that many first bytes); files per part."""

    sums: dict[str, str] = field(default_factory=dict)
    growing: dict[str, tuple[int, str]] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)


@contextmanager
def publishing(archive: Archive, *, full: bool = False) -> Iterator[None]:
    """The archive's `publish` lock, with the checksums brought up to date before it is let
    go (also when the publish failed half-way: what it wrote is what the files hold);
    `full`: every file looked at (`write_checksums`)."""
    with archive.lock("publish"):
        try:
            yield
        finally:
            write_checksums(archive.root, archive.captures_dir, full=full)


def write_checksums(
    root: Path, captures: Path | None = None, *, full: bool = False
) -> ChecksumReport:
    """Bring SHA256SUMS and SHA256SUMS.json up to date with the files under `root`, reading
    only the files that are new or changed since the last time (newsvault.sums). A folder
    unchanged since then is taken as it was (see _Scan); with `full`, every file is looked
    at (one changed in place, by hand, is seen too). `captures`: the capture files' folder
    (captures.directory; root/captures by default), listed as captures/ wherever it is."""
    started = time.monotonic()
    report = ChecksumReport()
    kept = _kept.get(root)
    if kept is not None and kept[0] == file_identity(root / CACHE):
        cache = kept[1]  # as this process left it: not read again
    else:
        cache = _read_cache(root / CACHE)
    located = Located(root, captures)
    scan = _Scan(located, Cache(cache.files) if full else cache, time.time_ns() - RACY_NS)
    for part in PARTS:
        scan.folder(part, top=True)
    now = Cache(scan.files, scan.folders, scan.untrusted, cache.closed, cache.outputs)
    report.hashed, report.hashed_bytes = scan.hashed, scan.hashed_bytes
    report.files = sum(len(names) for names in now.files.values())
    capture_files = [
        f"{folder}/{name}"
        for folder, names in now.files.items()
        if folder.split("/", 1)[0] == CAPTURES
        for name in names
    ]
    now.closed = _closed_captures(located, capture_files)
    report.open_captures = len(capture_files) - len(now.closed)
    # SHA256SUMS and SHA256SUMS.json are written again only when what they list changed, or
    # they are not the files written last time (removed, or changed by hand)
    if now.files != cache.files or now.closed != cache.closed or _outputs(root) != cache.outputs:
        listing = now.listing(now.closed)
        report.written = write_if_changed(root / SUMS, format_sums(listing.sums))
        write_if_changed(root / DETAILS, _format_details(listing, now))
        now.outputs = _outputs(root)
    if now != cache:
        write_atomic(root / CACHE, _format_cache(now))
    _kept[root] = (file_identity(root / CACHE), now)
    report.seconds = time.monotonic() - started
    return report


# What the last write of this process left, by root: the cache file's identity and the cache,
# so a long-running publisher (the `watch` daemon) reads nothing again.
_kept: dict[Path, tuple[str | None, Cache]] = {}


def _outputs(root: Path) -> str:
    """The identity of SHA256SUMS and SHA256SUMS.json as they are on disk."""
    return f"{file_identity(root / SUMS)} {file_identity(root / DETAILS)}"


class _Scan:
    """The files under root as they are now, each looked at only when its folder changed.

    Every writer of the published folders replaces a file by renaming a new one over it (or
    adds one), which sets its folder's mtime: a folder below a part's top whose mtime and
    inode are those of the last scan holds the same files, unchanged, and its files are taken
    from the cache without a look. The files at a part's top are always looked at (site/'s
    manifest log grows in place), and so is every capture file (they grow). A folder or
    file changed less than RACY_NS before the scan began is not trusted next time: a change
    made in the same clock tick would leave its mtime as it was."""

    def __init__(self, located: Located, cache: Cache, racy_after_ns: int) -> None:
        self.disk = located.disk
        self.cache = cache
        self.racy_after = racy_after_ns
        self.files: dict[str, dict[str, Seen]] = {}  # folder -> name -> what it is
        self.folders: dict[str, tuple[int, int]] = {}
        self.untrusted: set[str] = set()  # folders holding a file to look at again
        self.hashed = 0
        self.hashed_bytes = 0
        self._subfolders = cache.subfolders()

    def folder(self, name: str, *, top: bool = False) -> None:
        try:
            stat = os.stat(self.disk(name))
        except (FileNotFoundError, NotADirectoryError):
            return
        identity = (stat.st_mtime_ns, stat.st_ino)
        trusted = (
            not top
            and not name.startswith(CAPTURES + "/")
            and self.cache.folders.get(name) == identity
        )
        # every folder is kept, so that its parent's listing is whole
        self.folders[name] = identity if stat.st_mtime_ns < self.racy_after else (UNTRUSTED, 0)
        if trusted:
            known = self.cache.files.get(name, {})
            if name in self.cache.untrusted:
                for file_name in known:
                    self.file(name, file_name)
            elif known:
                self.files[name] = known  # the same files, as they were
            for sub in self._subfolders.get(name, ()):
                self.folder(sub)
            return
        try:
            entries = list(os.scandir(self.disk(name)))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            path = f"{name}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                self.folder(path)
            elif entry.is_file(follow_symlinks=False) and _covered(path):
                self.file(name, entry.name)

    def file(self, folder: str, name: str) -> None:
        path = self.disk(f"{folder}/{name}")
        try:
            stat = os.lstat(path)
        except FileNotFoundError:
            return
        seen = self.cache.files.get(folder, {}).get(name)
        if seen is None or seen[:3] != (stat.st_size, stat.st_mtime_ns, stat.st_ino):
            digest = _hash_file(path, stat.st_size, stat.st_ino)
            if digest is None:
                if os.path.lexists(path):  # not gone since it was listed: unreadable
                    log.warning("%s cannot be read: left out of %s", path, SUMS)
                return
            seen = (stat.st_size, stat.st_mtime_ns, stat.st_ino, digest)
            self.hashed += 1
            self.hashed_bytes += stat.st_size
        if seen[1] >= self.racy_after:
            seen = (seen[0], UNTRUSTED, seen[2], seen[3])  # looked at again next time
            self.untrusted.add(folder)
        self.files.setdefault(folder, {})[name] = seen


@dataclass(frozen=True)
class Located:
    """Where the files the checksums name lie: under root, the captures where the setting
    puts them."""

    root: Path
    captures: Path | None = None

    def disk(self, path: str) -> Path:
        if self.captures is not None and (path == CAPTURES or path.startswith(CAPTURES + "/")):
            return self.captures / path[len(CAPTURES) + 1 :]
        return self.root / path


def archive_files(located: Located) -> Iterator[tuple[str, os.stat_result]]:
    """(path as listed, its stat) of every file the checksums cover, parts in PARTS order:
    every regular file of the published folders (a writer's temporary left out) and every
    capture file."""
    for part in PARTS:
        yield from _walk(located.disk(part), part)


def _covered(path: str) -> bool:
    """Whether the checksums cover this file: not a writer's temporary, and in captures/ a
    WARC file only."""
    name = path.rsplit("/", 1)[-1]
    if name.startswith(".") and name.endswith(TEMP_SUFFIX):
        return False  # write_atomic's, renamed over its file in a moment
    return not path.startswith(CAPTURES + "/") or name.endswith(CAPTURE_SUFFIX)


def _walk(folder: Path, prefix: str) -> Iterator[tuple[str, os.stat_result]]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        name = f"{prefix}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), name)
        elif entry.is_file(follow_symlinks=False) and _covered(name):
            try:
                yield name, entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue


def _closed_captures(located: Located, paths: list[str]) -> set[str]:
    """Those capture files no writer can append to again: not the newest of their kind (a
    writer only continues the newest file named as its own: `NNNNN.warc.gz`, or
    `NNNNN.HOST.warc.gz` on several machines), and not locked."""
    newest: dict[str, tuple[int, str]] = {}
    for path in paths:
        kind, serial = capture_kind(path)
        if kind not in newest or serial > newest[kind][0]:
            newest[kind] = (serial, path)
    last = {path for _, path in newest.values()}
    return {p for p in paths if p not in last and not _locked(located.disk(p))}


def capture_kind(path: str) -> tuple[str, int]:
    """(the writer's kind of name, serial) of a capture file: ("", 12) for 00012.warc.gz,
    ("HOST", 3) for 00003.HOST.warc.gz; a name of another shape is a kind of its own."""
    name = path.rsplit("/", 1)[-1]
    serial, _, rest = name.partition(".")
    if not serial.isdigit():
        return name, 0
    return rest.removesuffix(CAPTURE_SUFFIX).removesuffix("."), int(serial)


def _locked(path: Path) -> bool:
    """Whether a capture writer holds this file's lock now."""
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


# A capture still open grows between two publishes of a long-running process: its digest so
# far is carried on, and only the bytes appended since are read.
_growing: dict[tuple[str, int], tuple[int, Any]] = {}


def _hash_file(path: Path, size: int, inode: int) -> str | None:
    """The SHA-256 of the first `size` bytes of the file (all of it, unless it grew since it
    was looked at); None when it is gone or shorter."""
    key = (str(path), inode)
    start, hasher = _growing.get(key, (0, None))
    hasher = hashlib.sha256() if hasher is None or start > size else hasher.copy()
    if not _feed(hasher, path, 0 if start > size else start, size):
        return None
    if path.name.endswith(CAPTURE_SUFFIX):
        _growing[key] = (size, hasher.copy())
    return str(hasher.hexdigest())


def sha256_of(path: Path, size: int | None = None) -> str | None:
    """The SHA-256 of the file (its first `size` bytes, when given); None when it is gone,
    cannot be read or is shorter than `size`."""
    hasher = hashlib.sha256()
    if size is None:
        try:
            with open(path, "rb") as handle:
                hashlib.file_digest(handle, lambda: hasher)
        except OSError:
            return None
        return hasher.hexdigest()
    return hasher.hexdigest() if _feed(hasher, path, 0, size) else None


def _feed(hasher: Any, path: Path, start: int, end: int) -> bool:
    """Bytes start..end of the file into `hasher`; False when there are not that many."""
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            left = end - start
            while left > 0:
                block = handle.read(min(_BLOCK, left))
                if not block:
                    return False
                hasher.update(block)
                left -= len(block)
    except OSError:  # gone, or not readable
        return False
    return True


def format_sums(sums: dict[str, str]) -> str:
    """`sha256sum` lines, sorted by path; a name holding a backslash or a newline escaped as
    sha256sum escapes it (the line then begins with a backslash)."""
    paths = sorted(sums)
    if not any("\\" in path or "\n" in path for path in paths):
        return "".join([f"{sums[path]}  {path}\n" for path in paths])
    lines = []
    for path in paths:
        if _escape(path) != path:
            lines.append(f"\\{sums[path]}  {_escape(path)}\n")
        else:
            lines.append(f"{sums[path]}  {path}\n")
    return "".join(lines)


def parse_sums(text: str) -> dict[str, str]:
    """Path -> digest from `sha256sum` lines (text mode ' ' or binary mode '*')."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        escaped = line.startswith("\\")
        body = line[1:] if escaped else line
        digest, sep, path = body[:64], body[64:66], body[66:]
        if len(digest) != 64 or sep not in ("  ", " *") or not path:
            raise ValueError(f"line {number} is not `<sha256>  <path>`")
        if escaped:
            path = _unescape(path)
        sums[path] = digest.lower()
    return sums


def read_listing(root: Path) -> Listing:
    """SHA256SUMS and SHA256SUMS.json of the archive (or mirror) at `root`. FileNotFoundError
    without SHA256SUMS; ValueError when either cannot be read."""
    listing = Listing(sums=parse_sums((root / SUMS).read_text(encoding="utf-8")))
    try:
        details = json.loads((root / DETAILS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        details = None
    except ValueError as exc:
        raise ValueError(f"{DETAILS} is not JSON ({exc})") from None
    if details is None:  # SHA256SUMS alone: the parts are those it names
        for path in listing.sums:
            part = path.split("/", 1)[0]
            listing.parts[part] = listing.parts.get(part, 0) + 1
        return listing
    try:
        listing.parts = {str(k): int(v["files"]) for k, v in details["parts"].items()}
        listing.growing = {
            str(path): (int(v["size"]), str(v["sha256"])) for path, v in details["open"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"{DETAILS} does not hold parts and open captures") from None
    return listing


def _format_details(listing: Listing, cache: Cache) -> str:
    sizes = {part: 0 for part in PARTS}
    for folder, names in cache.files.items():
        sizes[folder.split("/", 1)[0]] += sum(seen[0] for seen in names.values())
    details = {
        "format": FORMAT,
        "algorithm": "sha256",
        "parts": {p: {"files": listing.parts[p], "bytes": sizes[p]} for p in PARTS},
        "open": {p: {"size": s, "sha256": d} for p, (s, d) in sorted(listing.growing.items())},
    }
    return json.dumps(details, indent=1, sort_keys=True) + "\n"


@dataclass
class Cache:
    """newsvault.sums: each file's size, mtime, inode and digest by folder, and each
    folder's mtime and inode (a folder unchanged holds the same files)."""

    files: dict[str, dict[str, Seen]] = field(default_factory=dict)
    folders: dict[str, tuple[int, int]] = field(default_factory=dict)
    untrusted: set[str] = field(default_factory=set)  # folders holding a file to look at again
    closed: set[str] = field(default_factory=set)  # the capture files SHA256SUMS lists
    outputs: str = ""  # the identity of SHA256SUMS and SHA256SUMS.json written from it

    def subfolders(self) -> dict[str, list[str]]:
        """Folder -> the folders right in it."""
        found: dict[str, list[str]] = {}
        for path in self.folders:
            if "/" in path:
                found.setdefault(path.rsplit("/", 1)[0], []).append(path)
        return found

    def listing(self, closed: set[str]) -> Listing:
        listing = Listing(parts={part: 0 for part in PARTS})
        for folder, names in self.files.items():
            part = folder.split("/", 1)[0]
            listing.parts[part] += len(names)
            for name, seen in names.items():
                path = f"{folder}/{name}"
                if part != CAPTURES or path in closed:
                    listing.sums[path] = seen[3]
                else:
                    listing.growing[path] = (seen[0], seen[3])
        return listing


def _read_cache(path: Path) -> Cache:
    """The cache, or an empty one (every file hashed again) when it is missing or unreadable.
    Lines, tab-separated: `o OUTPUTS`, `c PATH` for each closed capture file, then for each
    folder `d MTIME INODE FOLDER` and `f SIZE MTIME INODE DIGEST NAME` for each file in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return Cache()
    cache = Cache()
    folder, names = None, {}
    try:
        for line in text.splitlines():
            if line.startswith("o\t"):
                cache.outputs = line[2:]
                continue
            if line.startswith("c\t"):
                cache.closed.add(_unescape(line[2:]))
                continue
            if line.startswith("d\t"):
                _, mtime, inode, name = line.split("\t", 3)
                folder = _unescape(name)
                cache.folders[folder] = (int(mtime), int(inode))
                names = cache.files.setdefault(folder, {})
                continue
            _, size, mtime, inode, digest, name = line.split("\t", 5)
            if folder is None:
                return Cache()  # a file before any folder: not a cache this wrote
            names[_unescape(name)] = (int(size), int(mtime), int(inode), digest)
            if int(mtime) == UNTRUSTED:
                cache.untrusted.add(folder)
    except ValueError:
        return Cache()
    cache.files = {folder: names for folder, names in cache.files.items() if names}
    return cache


def _format_cache(cache: Cache) -> str:
    lines = [f"o\t{cache.outputs}\n"] + [f"c\t{_escape(path)}\n" for path in sorted(cache.closed)]
    for folder, (mtime, inode) in cache.folders.items():
        lines.append(f"d\t{mtime}\t{inode}\t{_escape(folder)}\n")
        names = cache.files.get(folder, {})
        escape = _escape if any("\\" in n or "\n" in n for n in names) else str
        lines += [
            f"f\t{size}\t{mtime}\t{inode}\t{digest}\t{escape(name)}\n"
            for name, (size, mtime, inode, digest) in names.items()
        ]
    return "".join(lines)


def _escape(path: str) -> str:
    """A name on one line, as sha256sum writes it: backslash and newline escaped."""
    if "\\" not in path and "\n" not in path:
        return path
    return path.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(name: str) -> str:
    if "\\" not in name:
        return name
    out, chars = [], iter(name)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append({"n": "\n", "\\": "\\"}.get(following, "\\" + following))
        else:
            out.append(char)
    return "".join(out)
