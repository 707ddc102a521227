"""Writing files so that a killed process never leaves a half-written one behind."""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`. The temporary's
    name is this write's own: two processes writing one file at once (workers mirroring one
    image, perhaps on two machines) each rename a whole file of theirs."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}")
    temporary.write_bytes(payload)
    os.replace(temporary, path)


def write_if_changed(path: Path, data: bytes | str) -> bool:
    """Write atomically unless the file already holds exactly these bytes; True if written."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.stat().st_size == len(payload) and path.read_bytes() == payload:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, payload)
    return True


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporaries left by a killed writer; returns how many were removed."""
    removed = 0
    for stale in folder.rglob(f".*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed
