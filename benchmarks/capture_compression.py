"""How capture records are compressed: each `captures.compression` choice beside the stdlib's
zlib at its default level (what newsvault used before) and at 9 (warcio's own), on the 243
recorded pages of gne-pages and scrapinghub, each page its own gzip member as a capture is:
CPU milliseconds a page, and the compressed size as a share of the raw one.

    .venv/bin/python benchmarks/capture_compression.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from zlib_ng import zlib_ng

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT))

from newsvault.captures import COMPRESSORS, GZIP_WBITS  # noqa: E402


def pages() -> list[bytes]:
    gne = sorted((DATASETS / "gne-pages").glob("*/*.html"))
    scrapinghub = sorted((DATASETS / "scrapinghub" / "html").glob("*.html.gz"))
    return [p.read_bytes() for p in gne] + [gzip.decompress(p.read_bytes()) for p in scrapinghub]


def measure(make: Callable[[], object], bodies: list[bytes], repeat: int) -> tuple[float, int]:
    """(fastest CPU ms a page, compressed bytes), every member checked to decompress back."""
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.process_time()
        members = []
        for body in bodies:
            compressor = make()
            members.append(compressor.compress(body) + compressor.flush())  # type: ignore[attr-defined]
        best = min(best, (time.process_time() - started) * 1000 / len(bodies))
        size = sum(map(len, members))
    for body, member in zip(bodies, members, strict=True):
        assert gzip.decompress(member) == body
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, the fastest kept")
    args = parser.parse_args()
    bodies = pages()
    if not bodies:
        sys.exit(f"no pages under {DATASETS}: the benchmark needs ../shared/datasets")
    raw = sum(map(len, bodies))
    candidates: dict[str, Callable[[], object]] = {
        "zlib at 6 (before)": lambda: zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS),
        "zlib at 9 (warcio's)": lambda: zlib.compressobj(9, zlib.DEFLATED, GZIP_WBITS),
        "zlib-ng at 9": lambda: zlib_ng.compressobj(9, zlib_ng.DEFLATED, GZIP_WBITS),
        **{f"captures.compression = {name}": make for name, make in COMPRESSORS.items()},
    }
    average = raw / len(bodies) / 1000
    table = Table(title=f"capture compression: {len(bodies)} pages, {average:.0f} KB on average")
    for column in ("compressor", "CPU ms / page", "size / raw", "× zlib at 6 CPU"):
        table.add_column(column, justify="left" if column == "compressor" else "right")
    baseline = None
    for name, make in candidates.items():
        ms, size = measure(make, bodies, args.repeat)
        baseline = baseline or ms
        table.add_row(name, f"{ms:.2f}", f"{size / raw:.1%}", f"{ms / baseline:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
