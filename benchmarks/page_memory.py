"""Peak memory of newsvault on the largest pages it accepts, against trafilatura alone.

Every page kind of tests/test_memory.py, generated at about 14 MB (fetch.max_bytes lets 15 MB
through), is archived by newsvault (`newsvault archive URL` from a 127.0.0.1 server: fetch,
capture, extract, store), extracted by it (`newsvault extract FILE`), and given as bytes to
trafilatura.extract with its default settings; each in a child process of its own, whose peak
resident memory (VmHWM) is read when it exits.

    .venv/bin/python benchmarks/page_memory.py [--size BYTES] [--only KIND] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.loopback import LoopbackServer, Route  # noqa: E402
from tests.conftest import make_archive  # noqa: E402
from tests.test_memory import NEWSVAULT, PAGES, REPORT_PEAK, SIZE, URL, reported_peak  # noqa: E402

TRAFILATURA = (
    REPORT_PEAK
    + "import trafilatura\ntrafilatura.extract(open(sys.argv[1], 'rb').read(), url=sys.argv[2])\n"
)


def measure(code: str, args: list[str], timeout: float) -> str:
    """'peak MiB, seconds' of `code` run with `args` in a child process, or why there is none."""
    started = time.perf_counter()
    try:
        child = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return f"over {timeout:g} s"
    seconds = time.perf_counter() - started
    if "VmHWM " not in child.stderr:
        return f"crashed ({child.returncode})"
    note = "" if child.returncode == 0 else " (no article)"
    return f"{reported_peak(child.stderr)} MiB, {seconds:.1f} s{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=SIZE, help="bytes per page")
    parser.add_argument("--only", action="append", choices=sorted(PAGES), help="page kinds")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per child")
    args = parser.parse_args()
    table = Table(title=f"Peak resident memory on pages of about {args.size / 1e6:.0f} MB")
    for column in ("page", "size", "newsvault archive", "newsvault extract", "trafilatura alone"):
        table.add_column(column, justify="left" if column == "page" else "right")
    console = Console()
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        for kind in args.only or list(PAGES):
            body = PAGES[kind](args.size)
            page = Path(tmp) / f"{kind}.html"
            page.write_bytes(body)
            charset = "gb2312" if kind == "chinese-gb18030" else "utf-8"
            headers = {"Content-Type": f"text/html; charset={charset}"}
            server.set(f"/{kind}.html", Route(body, headers=headers))
            archive = Path(tmp) / f"{kind}-archive"
            make_archive(archive, [], timeout=args.timeout)
            url = server.url(f"/{kind}.html")
            cells = [
                measure(NEWSVAULT, ["-a", str(archive), "archive", url], args.timeout),
                measure(NEWSVAULT, ["extract", "--url", URL, str(page)], args.timeout),
                measure(TRAFILATURA, [str(page), URL], args.timeout),
            ]
            table.add_row(kind, f"{len(body) / 1e6:.1f} MB", *cells)
            server.remove(f"/{kind}.html")
            console.print(f"{kind}: {' | '.join(cells)}", highlight=False)
    console.print(table)


if __name__ == "__main__":
    main()
