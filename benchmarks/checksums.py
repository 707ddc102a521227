"""The archive's checksums (SHA256SUMS) at 100,000 files: written the first time (every file
read), brought up to date after a publish of 1 and of 100 changed articles (newsvault reads
only what changed, from its cache of sizes, mtimes and folders: kept in memory by a
long-running process, the `watch` daemon, and read from newsvault.sums by a command), and
checked in full by `newsvault verify`; beside GNU `sha256sum`, which has no cache: it reads
every file to write the list again, and `sha256sum -c` reads every file to check it.

The archive is synthetic, laid out as a real one: articles/ and site/ (40% of the files each,
about 2 KB), media/ under 256 folders (20%, about 20 KB), lists/ and four capture files of
8 MB, the newest open for appending.

    .venv/bin/python benchmarks/checksums.py [--files 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from newsvault.files import write_atomic  # noqa: E402
from newsvault.publish import checksums  # noqa: E402
from newsvault.publish.checksums import SUMS, write_checksums  # noqa: E402
from newsvault.verify import verify  # noqa: E402

SOURCES = 20


def lay_out(root: Path, files: int, rng: random.Random) -> list[Path]:
    """The archive's files; returns its article files."""
    articles = []
    for n in range(files * 2 // 5):
        path = root / "articles" / f"s{n % SOURCES}" / f"{1048574 - n // SOURCES}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(2000))
        articles.append(path)
        page = root / "site" / "a" / f"s{n % SOURCES}" / f"{n // SOURCES}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(rng.randbytes(2500))
    for _ in range(files // 5 - SOURCES - 4):
        digest = rng.randbytes(32).hex()
        image = root / "media" / digest[:2] / f"{digest}.jpg"
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(rng.randbytes(20_000))
    for n in range(SOURCES):
        (root / "lists").mkdir(exist_ok=True)
        (root / "lists" / f"s{n}.md").write_bytes(rng.randbytes(30_000))
    (root / "captures").mkdir()
    for n in range(1, 5):
        (root / "captures" / f"{n:05d}.warc.gz").write_bytes(rng.randbytes(8 << 20))
    return articles


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def sha256sum_all(root: Path) -> None:
    """The list written again by GNU sha256sum: every file read."""
    listing = subprocess.run(
        "find articles lists media site captures -type f -print0 | sort -z "
        "| xargs -0 sha256sum > /tmp/SHA256SUMS.peer",
        shell=True,
        cwd=root,
        check=True,
    )
    listing.check_returncode()


def sha256sum_check(root: Path) -> None:
    subprocess.run(["sha256sum", "-c", "--quiet", SUMS], cwd=root, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    console = Console(width=120)
    rng = random.Random(5)
    table = Table(title=f"the archive's checksums, {args.files:,} files")
    for column in ("work", "newsvault", "files read", "sha256sum (no cache)", "ratio"):
        table.add_column(column, justify="left" if column == "work" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "news"
        console.print(f"laying out {args.files:,} files…")
        articles = lay_out(root, args.files, rng)
        time.sleep(checksums.RACY_NS / 1e9)  # as an archive is: written a while ago
        rows: list[tuple[str, float, int, float]] = []
        report = write_checksums(root)
        first = report.seconds
        peer_full = seconds(lambda: sha256sum_all(root))
        rows.append(("first list (every file read)", first, report.hashed, peer_full))
        for changed, process in ((0, "daemon"), (1, "daemon"), (100, "daemon"), (1, "command")):
            for path in rng.sample(articles, changed):
                write_atomic(path, rng.randbytes(2000))  # as the markdown publisher writes
            page = root / "site" / "index.html"
            if changed:
                write_atomic(page, rng.randbytes(3000))
            time.sleep(checksums.RACY_NS / 1e9)
            if process == "command":  # a new process: the cache read from newsvault.sums
                checksums._kept.clear()
            report = write_checksums(root)
            peer = seconds(lambda: sha256sum_all(root))
            work = f"{process}: a publish of {changed} article{'' if changed == 1 else 's'}"
            rows.append((work, report.seconds, report.hashed, peer))
        report = write_checksums(root, full=True)
        rows.append(("every file looked at (full)", report.seconds, report.hashed, peer_full))
        checked = seconds(lambda: verify(root))
        rows.append(
            ("verify, every file read", checked, args.files, seconds(lambda: sha256sum_check(root)))
        )
        for work, ours, read, peer in rows:
            table.add_row(
                work, f"{ours:.2f} s", f"{read:,}", f"{peer:.2f} s", f"{peer / ours:.1f}×"
            )
    console.print(table)
    console.print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
