"""End-to-end benchmark: summary-only feeds -> page fetch -> WARC -> extract -> store -> index ->
near-duplicates -> markdown, newsvault against the stack a user would glue together.

A loopback server serves RSS feeds whose items carry a one-line summary and link to real
article pages, served as recorded: half the feeds link to the Chinese gne-pages, half to the
English scrapinghub pages, every item at a URL of its own (a page shows up again under
another address once a set runs out: a reprint, which both stacks mark as a near-duplicate).
Each stack runs in a process of its own, cold (interpreter start-up and imports included),
and is charged the CPU time of that process and its children (getrusage RUSAGE_CHILDREN, so
the server's own work, in this process, is not counted):

- newsvault: `newsvault -a ARCHIVE run` (images kept at their address: nothing to fetch from
  the internet; the naive stack does not mirror images either).
- the naive stack: feedparser reads the feeds, aiohttp fetches the pages (16 at once), warcio
  writes the responses to a WARC file, trafilatura.extract with metadata (JSON output), sqlite3
  with an FTS5 index (the trigram tokenizer: unicode61 would index a run of Chinese as one
  word, so a user archiving Chinese picks trigram), datasketch MinHash (128 permutations,
  character 5-grams) in a MinHashLSH (threshold 0.5) for near-duplicates, one markdown file
  per article.
- the floors: each stack with extraction taken out (the feed's summary stored instead), what
  everything else costs.

`--profile` samples newsvault's run instead (SIGPROF on CPU time, every 2 ms, each
sample charged to the stage of the innermost newsvault frame) and prints where the time goes.
`--instructions` counts the instructions of newsvault's run (and of `--compare-with`'s) with
valgrind's callgrind, all at once: a count the machine's load does not move, where CPU seconds
on a shared machine move by a sixth between runs (about five minutes under valgrind).

    .venv/bin/python benchmarks/end_to_end.py [--feeds 8] [--items 50] [--profile]
        [--instructions] [--repeat N] [--compare-with CHECKOUT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gzip
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
START = dt.datetime(2024, 6, 19, 13, 39, 24, tzinfo=dt.UTC)
HTML = {"Content-Type": "text/html; charset=utf-8"}  # every recorded page is UTF-8
SUMMARY = {"zh": "这是新闻摘要", "en": "The summary of story"}  # an article still holding it
# has no full text: its page could not be had or held no article


# -- the feeds and pages ------------------------------------------------------------------


def recorded_pages() -> dict[str, list[bytes]]:
    gne = sorted((DATASETS / "gne-pages").glob("*/*.html"))
    scrapinghub = sorted((DATASETS / "scrapinghub" / "html").glob("*.html.gz"))
    if not gne or not scrapinghub:
        sys.exit(f"end_to_end.py: no recorded pages in {DATASETS} (put ../shared beside it)")
    return {
        "zh": [p.read_bytes() for p in gne],
        "en": [gzip.decompress(p.read_bytes()) for p in scrapinghub],
    }


def summary_feed(name: str, base: str, items: int, lang: str) -> bytes:
    """An RSS 2.0 feed, newest first, each item a title, a link and a one-line summary."""
    entries = []
    for n in reversed(range(items)):
        published = format_datetime(START + dt.timedelta(minutes=n), usegmt=True)
        summary = f"{SUMMARY[lang]} {n}"
        entries.append(
            f"<item><title>{escape(name)} {n}</title><link>{base}/{name}/{n}.html</link>"
            f"<guid>{base}/{name}/{n}.html</guid><pubDate>{published}</pubDate>"
            f"<description>{escape(summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(name)}</title><link>{base}/</link><language>{lang}</language>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def serve(server, feeds: int, items: int) -> list[str]:
    """Put the feeds and their pages on `server`; the feeds' URLs."""
    from newsvault.loopback import Route

    pages = recorded_pages()
    urls = []
    for f in range(feeds):
        lang = "zh" if f % 2 == 0 else "en"
        chosen, name = pages[lang], f"{lang}{f:03d}"
        for n in range(items):
            page = chosen[((f // 2) * items + n) % len(chosen)]
            server.set(f"/{name}/{n}.html", Route(page, headers=HTML))
        server.set(f"/{name}.xml", Route(summary_feed(name, server.base_url, items, lang)))
        urls.append(server.url(f"/{name}.xml"))
    return urls


def newsvault_config(feed_urls: list[str]) -> str:
    lines = ["[fetch]", "allow_private_networks = true", "per_host = 16", "host_delay = 0"]
    for url in feed_urls:
        slug = url.rsplit("/", 1)[1].removesuffix(".xml")
        lines += ["[[sources]]", f'slug = "{slug}"', f'url = "{url}"', 'images = "keep"']
    return "\n".join(lines) + "\n"


# -- running a stack in a process of its own ----------------------------------------------


def cpu_of(command: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of running `command` to its end, its children included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _newsvault_archive(folder: Path, feed_urls: list[str], checkout: Path | None = None) -> Path:
    """A new archive following the feeds, made by this newsvault or the one in `checkout`."""
    config = folder.with_suffix(".toml")
    config.write_text(newsvault_config(feed_urls))
    code = "import sys; from newsvault.archive import Archive; "
    code += "Archive.init(__import__('pathlib').Path(sys.argv[1]), config_text=sys.argv[2])"
    env = {**os.environ, "PYTHONPATH": str(checkout)} if checkout else None
    subprocess.run(
        [sys.executable, "-c", code, str(folder), config.read_text()], check=True, env=env
    )
    return folder


def _me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def newsvault_from_child(checkout: str, archive: str) -> None:
    """`newsvault run` with the code of another checkout (before a change, say)."""
    sys.path.insert(0, checkout)
    try:  # as its installed command enters
        from newsvault.entry import main
    except ImportError:  # a checkout from before newsvault.entry
        from newsvault.cli import main

    sys.argv = ["newsvault", "-a", archive, "run"]
    main()


def newsvault_floor_child(archive: str) -> None:
    """`newsvault run` with extraction taken out: every page "holds no article", so each
    item keeps its feed's summary (fetched, captured, stored, indexed and written all the
    same)."""
    from newsvault import entry, pages, pipeline
    from newsvault.errors import NoArticle

    def no_extraction(*args, **kwargs):
        raise NoArticle("no article: extraction left out (the benchmark's floor)")

    pages.extract = pipeline.extract = no_extraction
    sys.argv = ["newsvault", "-a", archive, "run"]
    entry.main()


# -- the naive stack -----------------------------------------------------------------------


def naive_child(out: str, feeds_file: str, extract: bool) -> None:
    asyncio.run(naive(Path(out), Path(feeds_file).read_text().split(), extract))


async def naive(out: Path, feed_urls: list[str], extract: bool) -> None:
    import sqlite3
    from io import BytesIO

    import aiohttp
    import feedparser
    import trafilatura
    from datasketch import MinHash, MinHashLSH
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    (out / "markdown").mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(out / "articles.db")
    db.executescript(
        "CREATE TABLE IF NOT EXISTS articles (id INTEGER PRIMARY KEY, url TEXT UNIQUE, "
        "title TEXT, author TEXT, date TEXT, text TEXT, duplicate_of INTEGER);"
        "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(title, text, content='articles', "
        "content_rowid='id', tokenize='trigram');"
    )
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    warc_file = (out / "pages.warc.gz").open("ab")
    warc = WARCWriter(warc_file, gzip=True)
    not_text = re.compile(r"\W+")
    limit = asyncio.Semaphore(16)

    def keep(url: str, response: aiohttp.ClientResponse, body: bytes) -> None:
        headers = StatusAndHeaders(
            f"{response.status} {response.reason}",
            [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"],
            protocol="HTTP/1.1",
        )
        warc.write_record(
            warc.create_warc_record(url, "response", payload=BytesIO(body), http_headers=headers)
        )

    async def get(session: aiohttp.ClientSession, url: str) -> bytes:
        async with limit, session.get(url) as response:
            body = await response.read()
            keep(url, response, body)
            return body

    def store(entry, html: bytes) -> None:
        found = {}
        if extract:
            result = trafilatura.extract(
                html, url=entry.link, with_metadata=True, output_format="json"
            )
            found = json.loads(result) if result else {}
        text = found.get("text") or entry.get("summary", "")
        title = found.get("title") or entry.get("title", "")
        row = (entry.link, title, found.get("author"), found.get("date"), text)
        cursor = db.execute(
            "INSERT OR IGNORE INTO articles (url, title, author, date, text) VALUES (?,?,?,?,?)",
            row,
        )
        if not cursor.rowcount:
            return  # archived before
        rowid = cursor.lastrowid
        db.execute("INSERT INTO search (rowid, title, text) VALUES (?, ?, ?)", (rowid, title, text))
        compact = not_text.sub("", text)
        grams = {compact[i : i + 5].encode() for i in range(len(compact) - 4)}
        minhash = MinHash(num_perm=128)
        minhash.update_batch(list(grams))
        copies = lsh.query(minhash)
        if copies:
            db.execute("UPDATE articles SET duplicate_of = ? WHERE id = ?", (min(copies), rowid))
        lsh.insert(rowid, minhash)
        front = {"title": title, "url": entry.link, "author": found.get("author")}
        front["date"] = found.get("date")
        lines = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in front.items()]
        path = out / "markdown" / f"{rowid:06d}.md"
        path.write_text("---\n" + "\n".join(lines) + f"\n---\n\n# {title}\n\n{text}\n")

    async def one_feed(session: aiohttp.ClientSession, url: str) -> None:
        feed = feedparser.parse(await get(session, url))
        pages = [asyncio.ensure_future(get(session, e.link)) for e in feed.entries]
        for entry, page in zip(feed.entries, pages, strict=True):
            store(entry, await page)
        db.commit()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one_feed(session, url) for url in feed_urls))
    db.close()
    warc_file.close()


# -- where newsvault's time goes -------------------------------------------------------------

# The innermost frame of newsvault's own code decides a sample's stage (file under newsvault/
# -> stage), except for the helpers of several stages (HTML sanitizing, URLs, the database
# engine), whose samples go to the stage that called them. A sample with no newsvault frame
# is the event loop's (aiohttp reading and parsing responses). The interpreter hands a signal
# to Python code only between bytecodes, so a long C call (lxml parsing a page) is charged
# with the time it took when it returns: to its caller's stage, or, from a generator's
# consumer, to the generator's (charset decoding is counted with parsing for that reason).
DECODE = "extract: decode and parse (charset, lxml)"
SANITIZE = "feed items: sanitize, text, language"
STAGES = [
    ("extract/finder.py", "extract: body finder"),
    ("extract/metadata.py", "extract: metadata (bylines, dates, sources)"),
    ("extract/document.py", DECODE),
    ("fetch/charset.py", DECODE),
    ("extract/", "extract: rules, clean-up, captions"),
    ("fetch/", "fetch: HTTP client"),
    ("captures.py", "WARC captures"),
    ("feeds.py", "feed parse"),
    ("normalize.py", SANITIZE),
    ("links.py", SANITIZE),
    ("store/engine.py", "store: articles, captures, pages (SQL)"),
    ("store/stories.py", "stories: SQL (bands, terms, stories, search index)"),
    ("store/search.py", "stories: SQL (bands, terms, stories, search index)"),
    ("store/", "store: articles, captures, pages (SQL)"),
    ("stories/", "stories: fold, near-duplicates, terms, clusters"),
    ("publish/", "markdown"),
    ("watch/", "extraction health, history"),
    ("cli", "CLI output"),
    ("", "pipeline glue (pipeline, pages, ingest, settings)"),
]
HELPERS = ("normalize.py", "links.py", "store/engine.py")  # charged to the stage calling them
EXTRACT_SANITIZE = "extract: sanitize, text, images (nh3, lxml)"
IMPORTS = "start-up: interpreter and imports"
LOOP = "fetch: event loop, aiohttp"


def profile_child(archive: str, out: str) -> None:
    """Run `newsvault run` sampled on CPU time; write {stage: samples} to `out`."""
    import signal

    package = str(ROOT / "newsvault") + os.sep
    counts: Counter[str] = Counter()  # stage -> CPU seconds
    started = resource.getrusage(resource.RUSAGE_SELF)
    before_imports = started.ru_utime + started.ru_stime

    def stage_of(frame) -> str:
        helper = None  # the stage of a helper the sample was taken in
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith("<frozen importlib"):
                return IMPORTS
            if frame.f_code.co_name == "_run" and name.endswith("asyncio/events.py"):
                return helper or LOOP  # a callback of the loop's own: aiohttp reading
            if name.startswith(package):
                inner = name[len(package) :]
                stage = next(stage for prefix, stage in STAGES if inner.startswith(prefix))
                if inner.startswith(HELPERS):
                    helper = helper or stage
                elif helper == SANITIZE:
                    return EXTRACT_SANITIZE if stage.startswith("extract") else SANITIZE
                else:
                    return stage
            frame = frame.f_back
        return helper or LOOP

    last = [time.process_time()]

    def sample(signum, frame) -> None:
        # a signal is handled between bytecodes: after a long C call (lxml parsing a page)
        # one sample stands for all the CPU time since the last
        now = time.process_time()
        counts[stage_of(frame)] += now - last[0]
        last[0] = now

    signal.signal(signal.SIGPROF, sample)
    signal.setitimer(signal.ITIMER_PROF, 0.002, 0.002)
    from newsvault import entry  # as the installed command enters

    sys.argv = ["newsvault", "-a", archive, "run"]
    with contextlib.suppress(SystemExit):  # its exit status is not what is measured
        entry.main()
    signal.setitimer(signal.ITIMER_PROF, 0, 0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # the interpreter's own start, before this function ran, was not sampled: add it
    counts[IMPORTS] += before_imports
    cpu = usage.ru_utime + usage.ru_stime
    Path(out).write_text(json.dumps({"cpu": cpu, "samples": dict(counts)}))


def full_text(files: list[Path]) -> tuple[int, int]:
    """(articles written, how many of them hold their page's text, not the feed's summary)."""
    summaries = re.compile("|".join(SUMMARY.values()))
    return len(files), sum(not summaries.search(f.read_text(encoding="utf-8")) for f in files)


# -- the run --------------------------------------------------------------------------------


def compiled(*checkouts: Path) -> None:
    """Each checkout's modules compiled to bytecode before it runs, as an installed package's
    are (pip compiles the naive stack's libraries when it installs them): where
    PYTHONDONTWRITEBYTECODE is set, a checkout would be compiled again at every start."""
    import compileall

    for checkout in checkouts:
        compileall.compile_dir(checkout / "newsvault", quiet=1)


def compare(feed_urls: list[str], total: int, tmp: Path, repeat: int, other: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    compiled(ROOT, *([other] if other is not None else []))
    feeds_file = tmp / "feeds.txt"
    feeds_file.write_text("\n".join(feed_urls))
    newsvault = str(Path(sys.executable).parent / "newsvault")

    def articles(folder: Path) -> list[Path]:
        return sorted((folder / "articles").rglob("*.md")) or sorted(folder.glob("markdown/*.md"))

    # what -> how to run it into a fresh folder (a new archive, a new output directory)
    runs: dict[str, Callable[[Path], list[str]]] = {
        "newsvault run": lambda out: [
            newsvault, "-a", str(_newsvault_archive(out, feed_urls)), "run"
        ],
        "naive stack": lambda out: _me("--naive", str(out), str(feeds_file)),
        "floor: newsvault run, no extraction": lambda out: _me(
            "--newsvault-floor", str(_newsvault_archive(out, feed_urls))
        ),
        "floor: naive stack, no extraction": lambda out: _me(
            "--naive-floor", str(out), str(feeds_file)
        ),
    }  # fmt: skip
    if other is not None:
        runs[f"newsvault run, {other}"] = lambda out: _me(
            "--newsvault-from", str(other), str(_newsvault_archive(out, feed_urls, other))
        )
    best: dict[str, tuple[float, float, Path]] = {}
    console = Console(width=120)
    for attempt in range(repeat):  # interleaved, so that the machine's load hits each alike
        for n, (what, command) in enumerate(runs.items()):
            out = tmp / f"{attempt}-{n}"
            with console.status(f"{what} ({total} items, run {attempt + 1} of {repeat})"):
                cpu, wall = cpu_of(command(out))
            if what not in best or cpu < best[what][0]:
                best[what] = (cpu, wall, out)
    naive_cpu, _, naive_out = best["naive stack"]
    naive_rate = len(articles(naive_out)) / naive_cpu
    table = Table(
        title=f"end to end: {len(feed_urls)} summary-only feeds, {total} items"
        + (f", the fastest of {repeat} runs" if repeat > 1 else ""),
        caption="naive stack: feedparser, aiohttp, warcio, trafilatura (with metadata), "
        "SQLite FTS5 (trigram), datasketch MinHashLSH, a markdown file each",
    )
    columns = ("what", "articles", "full text", "CPU s", "wall s", "articles / CPU s", "× naive")
    for column in columns:
        table.add_column(column, justify="left" if column == "what" else "right")
    for what, (cpu, wall, out) in best.items():
        files, fuller = full_text(articles(out))
        rate = files / cpu
        table.add_row(
            what, str(files), str(fuller), f"{cpu:.2f}", f"{wall:.2f}", f"{rate:,.1f}",
            f"{rate / naive_rate:.2f}",
        )  # fmt: skip
    console.print(table)


def profile(feed_urls: list[str], total: int, tmp: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    compiled(ROOT)
    out = tmp / "profile.json"
    archive = _newsvault_archive(tmp / "profiled", feed_urls)
    cpu_of(_me("--profile-child", str(archive), str(out)))
    found = json.loads(out.read_text())
    samples: dict[str, float] = found["samples"]
    whole = sum(samples.values())
    table = Table(
        title=f"where newsvault run's time goes: {total} articles, {found['cpu']:.2f} CPU s "
        f"({total / found['cpu']:.1f} articles / CPU s, sampled)"
    )
    for column in ("stage", "CPU s", "share"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage, count in sorted(samples.items(), key=lambda kv: -kv[1]):
        table.add_row(stage, f"{count:.2f}", f"{count / whole:.1%}")
    Console(width=120).print(table)


def instructions(feed_urls: list[str], total: int, tmp: Path, other: Path | None) -> None:
    """Instructions of `newsvault run` (this checkout's, and `other`'s) under callgrind, the
    runs side by side (the count does not depend on what else the machine is doing)."""
    import shutil

    from rich.console import Console
    from rich.table import Table

    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (Debian's package valgrind): not found")
    trees = {"newsvault run": ROOT}
    if other is not None:
        trees[f"newsvault run, {other}"] = other
    compiled(*trees.values())
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dictionaries' order every run
    running = {}
    for n, (what, checkout) in enumerate(trees.items()):
        archive = _newsvault_archive(tmp / f"counted-{n}", feed_urls, checkout)
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp / f'counted-{n}.out'}",
            *_me("--newsvault-from", str(checkout), str(archive)),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        running[what] = (archive, process)
    table = Table(title=f"instructions of newsvault run: {len(feed_urls)} feeds, {total} items")
    for column in ("what", "articles", "billions of instructions", "× this checkout"):
        table.add_column(column, justify="left" if column == "what" else "right")
    counts: dict[str, tuple[int, int]] = {}
    with Console(width=120).status(f"{len(running)} runs under valgrind (minutes)"):
        for what, (archive, process) in running.items():
            _, errors = process.communicate()
            found = re.search(r"Collected : (\d+)", errors)
            if process.returncode != 0 or found is None:
                sys.exit(f"{what} under valgrind failed ({process.returncode}):\n{errors[-3000:]}")
            counts[what] = (int(found.group(1)), len(list((archive / "articles").rglob("*.md"))))
    ours = counts["newsvault run"][0]
    for what, (count, files) in counts.items():
        table.add_row(what, str(files), f"{count / 1e9:.2f}", f"{count / ours:.3f}")
    Console(width=120).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=8, help="half Chinese, half English")
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--profile", action="store_true", help="where newsvault's time goes")
    parser.add_argument(
        "--instructions", action="store_true", help="instructions counted by valgrind instead"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the fastest kept")
    parser.add_argument(
        "--compare-with", type=Path, metavar="CHECKOUT", help="newsvault's code there too"
    )
    for child in ("--naive", "--naive-floor"):  # the stacks' own processes
        parser.add_argument(child, nargs=2, metavar=("OUT", "FEEDS"), help=argparse.SUPPRESS)
    parser.add_argument("--newsvault-floor", metavar="ARCHIVE", help=argparse.SUPPRESS)
    parser.add_argument("--newsvault-from", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive or args.naive_floor:
        naive_child(*(args.naive or args.naive_floor), extract=bool(args.naive))
        return
    sys.path.insert(0, str(ROOT))
    if args.newsvault_from:
        newsvault_from_child(*args.newsvault_from)
        return
    if args.newsvault_floor:
        newsvault_floor_child(args.newsvault_floor)
        return
    if args.profile_child:
        profile_child(*args.profile_child)
        return

    from newsvault.loopback import LoopbackServer

    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        feed_urls = serve(server, args.feeds, args.items)
        total = args.feeds * args.items
        if args.profile:
            profile(feed_urls, total, Path(tmp))
        elif args.instructions:
            instructions(feed_urls, total, Path(tmp), args.compare_with)
        else:
            compare(feed_urls, total, Path(tmp), args.repeat, args.compare_with)


if __name__ == "__main__":
    main()
