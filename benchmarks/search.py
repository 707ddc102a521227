"""Search benchmark: newsvault's index (folded text, character pairs) on SQLite (FTS5) and on
PostgreSQL (tsvector, GIN) side by side, on one synthetic archive of real Chinese sentences
(20 sources), beside the obvious alternative (FTS5 trigram on the raw text) and search as it
was (FTS5's bm25() ranking): build speed, size, query latency for every kind of query, and
whether both databases answer alike.

    .venv/bin/python benchmarks/search.py [--articles 1000000] [--postgres URL]
        [--keep DIR] [--skip-peer]

--keep DIR keeps the built archive (DIR/newsvault.db and the PostgreSQL database) and
reuses it when run again: as it is for the same size, the rest added for a larger one (the
articles are the same either way), so that a million can be reached in steps.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import URL
from sqlalchemy import text as sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, synthetic

sys.path.insert(0, str(ROOT))
from newsvault.models import Article
from newsvault.store import Store
from newsvault.store.search import match_expression
from newsvault.stories.fold import fold, tokens
from newsvault.stories.search import CANDIDATES, query_parts, search, snippet, surface_forms

SOURCES = 20
T0 = 1718800000000
STEP = 1000  # ms between two articles' publication
BATCH = 2000
BULK = 100_000  # a load of this many articles or more builds PostgreSQL's GIN index after it
SLOW = 0.04  # s: a query with a run slower than this is named, with its runs
QUERIES: dict[str, list[tuple[str, dict]]] = {
    "two characters": [
        (q, {}) for q in ("条约", "经济", "朝鲜", "公园", "芯片", "疫情", "股市", "法院")
    ],
    "three or more": [
        (q, {}) for q in ("普京", "金正恩", "共享充电宝", "全面战略", "华为", "人工智能", "监察法")
    ],
    "other script": [(q, {}) for q in ("條約", "經濟", "臺灣", "華為")],
    "name variants": [(q, {}) for q in ("普丁", "北韩", "川普", "蒲亭")],
    "English": [(q, {}) for q in ("iphone", "galaxy", "covid", "windows", "GPU", "OAuth")],
    "mixed": [(q, {}) for q in ("5G 手机", "iPhone 售价", "GDP 增长")],
    "filtered": [
        ("条约", {"source": "s3"}),
        ("iphone", {"source": "s7"}),
        ("经济", {"since": 0.8}),  # the newest fifth of the archive's time
        ("普京", {"until": 0.5}),  # its older half
        ("人工智能", {"source": "s11", "since": 0.5}),
    ],
}
PEER_QUERIES = ("条约", "全面战略", "普丁")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/newsvault_bench_search",
        help="a PostgreSQL database the benchmark may drop and make again",
    )
    parser.add_argument("--keep", type=Path, help="keep the built archive here, and reuse it")
    parser.add_argument("--skip-peer", action="store_true", help="leave out the FTS5 trigram index")
    args = parser.parse_args()
    console = Console(width=120)  # whole tables in a log file too
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        built = where / "built.json"
        timings = json.loads(built.read_text()) if built.exists() else {"articles": 0}
        if timings["articles"] > args.articles:  # a larger archive kept: start again
            timings = {"articles": 0}
        if not timings["articles"]:
            _fresh(where, args.postgres)
        sqlite, postgres = Store.open(where / "newsvault.db"), Store(args.postgres)
        if timings["articles"] < args.articles:  # a smaller one kept: add the rest
            timings = build(sqlite, postgres, timings, args.articles)
            built.write_text(json.dumps(timings))
        sizes = {"SQLite": _sqlite_mb(where), "PostgreSQL": _postgres_mb(args.postgres)}
        latencies: dict[str, dict[str, list[float]]] = {}
        differ: dict[str, int] = {}
        for kind, queries in QUERIES.items():
            latencies[kind] = {"SQLite": [], "PostgreSQL": [], "before": []}
            differ[kind] = 0
            for query, options in queries:
                chosen = _options(options, args.articles)
                ways = {
                    "SQLite": lambda q=query, o=chosen: search(sqlite, q, **o),
                    "PostgreSQL": lambda q=query, o=chosen: search(postgres, q, **o),
                    "before": lambda q=query, o=chosen: before(sqlite, q, **o),
                }
                answers = {name: way() for name, way in ways.items()}  # each warmed once
                runs: dict[str, list[float]] = {name: [] for name in ways}
                for _ in range(3):  # then timed in turn, so that no way warms another's cache
                    for name, way in ways.items():
                        started = time.perf_counter()
                        way()
                        runs[name].append(time.perf_counter() - started)
                for name, seconds in runs.items():
                    latencies[kind][name] += seconds
                slowest = max(runs["SQLite"] + runs["PostgreSQL"])
                if slowest > SLOW:
                    console.print(
                        f"{kind}: {query} {options}: slowest run {slowest * 1000:.1f} ms (SQLite "
                        + ", ".join(f"{t * 1000:.1f}" for t in runs["SQLite"])
                        + "; PostgreSQL "
                        + ", ".join(f"{t * 1000:.1f}" for t in runs["PostgreSQL"])
                        + ")"
                    )
                same = [
                    [(h.article.id, round(h.rank, 6)) for h in answers[name]]
                    for name in ("SQLite", "PostgreSQL")
                ]
                differ[kind] += same[0] != same[1]
        sqlite.close()
        postgres.close()
        peer = None if args.skip_peer else trigram(Path(tmp) / "trigram.db", args.articles)
    report(console, args.articles, timings, sizes, latencies, differ, peer)


def build(sqlite: Store, postgres: Store, timings: dict, count: int) -> dict[str, float]:
    """Both archives get the same articles (the same ids), then each its index, one process
    each so that the two cores build both at once; each folds the text itself (the same
    work, counted in both). A kept archive of fewer articles gets the rest."""
    first = int(timings["articles"])
    bulk = count - first >= BULK
    if bulk:  # one GIN build after the load: inserting into it costs ~100 docs/s here
        with postgres.engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX IF EXISTS search_doc")
    for _, store in _stores(sqlite, postgres):
        store.engine.dispose()  # no connection of this process's goes into the children
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        jobs = {
            name: pool.apply_async(_build_one, (name, store.engine.url, first, count))
            for name, store in _stores(sqlite, postgres)
        }
        seconds = {name: job.get() for name, job in jobs.items()}
    counts = {name: _count(store) for name, store in _stores(sqlite, postgres)}
    assert counts["SQLite"] == counts["PostgreSQL"], f"both archives number alike: {counts}"
    if bulk:
        seconds["PostgreSQL"] = (
            seconds["PostgreSQL"][0],
            seconds["PostgreSQL"][1] + _gin(postgres),
        )
    with sqlite.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    _analyze(postgres)
    text_mb = sum(len(t.encode()) for _, t in synthetic(count, seed=11)) / 1e6
    made = {"fold": timings.get("fold", 0.0) + seconds["SQLite"][0]}
    for name, (_, index) in seconds.items():
        made[name] = timings.get(name, 0.0) + index
    return {
        **made,
        "articles": count,
        "text_mb": text_mb,
        "gin_after": timings.get("gin_after") or bulk,
    }


def _gin(store: Store) -> float:
    """The search index built in one pass over the loaded table: the seconds it took."""
    started = time.perf_counter()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '4GB'")
        conn.exec_driver_sql("CREATE INDEX search_doc ON search USING gin (doc)")
    seconds = time.perf_counter() - started
    print(f"PostgreSQL: GIN index built in {seconds:,.0f} s", flush=True)
    return seconds


def _build_one(name: str, url: URL, first: int, count: int) -> tuple[float, float]:
    """Articles first..count into one archive: the seconds folding and storing+indexing."""
    store = Store(url.render_as_string(hide_password=False))
    texts = synthetic(count, seed=11)
    fold_seconds = index_seconds = 0.0
    for start in range(first, count, BATCH):
        batch = list(enumerate(texts[start : start + BATCH], start))
        started = time.perf_counter()
        ids = _store(store, batch)
        index_seconds += time.perf_counter() - started
        started = time.perf_counter()
        folded = [(tokens(fold(title)), tokens(fold(text))) for _, (title, text) in batch]
        fold_seconds += time.perf_counter() - started
        started = time.perf_counter()
        with store.stories.batch() as indexing:
            for article_id, (title, body) in zip(ids, folded, strict=True):
                indexing.add_to_index(article_id, title, body)
        index_seconds += time.perf_counter() - started
        if (start + BATCH) % 50_000 == 0:
            spent = fold_seconds + index_seconds
            print(f"{name}: {start + BATCH:,} articles, {spent:,.0f} s", flush=True)
    store.close()
    return fold_seconds, index_seconds


def _count(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT COUNT(*), MAX(id) FROM articles").one()
    return row[0], row[1]


def before(store: Store, query: str, source: str | None = None, since=None, until=None) -> int:
    """Search as it was: FTS5 ranking the newest CANDIDATES with bm25() (the headline 4x),
    which first counts every match of every part in the whole index for its IDF."""
    params: dict = {"match": match_expression(query_parts(query)), "limit": CANDIDATES}
    where = ""
    if source:
        where += " AND sources.slug = :source"
        params["source"] = source
    if since:
        where += " AND articles.published >= :since"
        params["since"] = int(since.timestamp() * 1000)
    if until:
        where += " AND articles.published < :until"
        params["until"] = int(until.timestamp() * 1000)
    statement = sql(
        "SELECT search.rowid AS id, bm25(search, 4.0, 1.0) AS rank FROM search "
        "JOIN articles ON articles.id = search.rowid "
        "JOIN sources ON sources.id = articles.source_id "
        f"WHERE search MATCH :match AND articles.removed IS NULL{where} "
        "ORDER BY search.rowid DESC LIMIT :limit"
    )
    with store.engine.connect() as conn:
        newest = conn.execute(statement, params).all()
    ranked = sorted(newest, key=lambda r: (r.rank, -r.id))[:20]
    found = store.articles_by_ids([r.id for r in ranked])
    forms = surface_forms(query)
    return len([snippet(found[r.id].text, forms) for r in ranked if r.id in found])


def _stores(sqlite: Store, postgres: Store) -> list[tuple[str, Store]]:
    return [("SQLite", sqlite), ("PostgreSQL", postgres)]


def _store(store: Store, batch: list[tuple[int, tuple[str, str]]]) -> list[int]:
    by_source: dict[int, list[Article]] = {}
    for n, (title, text) in batch:
        slug = f"s{n % SOURCES}"
        source = store.ensure_source(slug, slug)
        by_source.setdefault(source, []).append(
            Article(
                source=slug,
                key=f"k{n}",
                url=f"https://{slug}.example/{n}",
                title=title,
                html="",
                text=text,
                published=T0 + n * STEP,
                fetched=T0,
            )
        )
    new = [
        a
        for source, items in by_source.items()
        for a in store.add_articles(source, items, None).new
    ]
    order = {a.key: a.id or 0 for a in new}
    return [order[f"k{n}"] for n, _ in batch]


def _options(options: dict, count: int) -> dict:
    """Filters as search takes them: a fraction of the archive's time span becomes a time."""
    import datetime as dt

    made = dict(options)
    for name in ("since", "until"):
        if name in made:
            ms = T0 + int(made[name] * count) * STEP
            made[name] = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return made


def _fresh(where: Path, url: str) -> None:
    for path in where.glob("newsvault.db*"):
        path.unlink()
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def _analyze(store: Store) -> None:
    """What autovacuum does soon after a large load: the GIN index's pending entries merged,
    statistics taken."""
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE search"
        )


def _sqlite_mb(where: Path) -> float:
    return sum(p.stat().st_size for p in where.glob("newsvault.db*")) / 1e6


def _postgres_mb(url: str) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return (row[0] if row else 0) / 1e6


def trigram(db: Path, count: int) -> tuple[float, int, dict[str, tuple[float, int]]]:
    conn = sqlite3.connect(db)
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = 'trigram')")
    started = time.perf_counter()
    conn.executemany("INSERT INTO t (title, body) VALUES (?, ?)", synthetic(count, seed=11))
    conn.commit()
    seconds = time.perf_counter() - started
    answers = {}
    for query in PEER_QUERIES:
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT 20", (f'"{query}"',)
        ).fetchall()
        answers[query] = (time.perf_counter() - started, len(rows))
    conn.close()
    return seconds, db.stat().st_size, answers


def report(
    console: Console,
    count: int,
    timings: dict[str, float],
    sizes: dict[str, float],
    latencies: dict[str, dict[str, list[float]]],
    differ: dict[str, int],
    peer: tuple[float, int, dict[str, tuple[float, int]]] | None,
) -> None:
    text_mb = timings["text_mb"]
    table = Table(title=f"index build: {count:,} articles, {text_mb:,.0f} MB of text")
    for column in ("index", "docs/s (folding included)", "database MB", "× text"):
        table.add_column(column, justify="left" if column == "index" else "right")
    gin = "PostgreSQL tsvector + GIN" + (
        " (built after the load)" if timings.get("gin_after") else ""
    )
    for name, label in (("SQLite", "SQLite FTS5"), ("PostgreSQL", gin)):
        seconds = timings["fold"] + timings[name]
        table.add_row(
            f"newsvault, {label}",
            f"{count / seconds:,.0f}",
            f"{sizes[name]:,.0f}",
            f"{sizes[name] / text_mb:.1f}",
        )
    if peer:
        table.add_row(
            "FTS5 trigram, raw text",
            f"{count / peer[0]:,.0f}",
            f"{peer[1] / 1e6:,.0f}",
            f"{peer[1] / 1e6 / text_mb:.1f}",
        )
    console.print(table)
    table = Table(title="queries (ranked, 20 results with snippets; each run once, then 3 times)")
    columns = ["queries", "SQLite p50 ms", "p95 ms", "PostgreSQL p50 ms", "p95 ms"]
    columns += ["differ", "SQLite before: p50 ms", "p95 ms"]
    for column in columns:
        table.add_column(column, justify="left" if column == "queries" else "right")
    for kind, by_store in latencies.items():
        cells = []
        for name in ("SQLite", "PostgreSQL"):
            cells += [
                f"{_percentile(by_store[name], 50):.1f}",
                f"{_percentile(by_store[name], 95):.1f}",
            ]
        before = [f"{_percentile(by_store['before'], p):.1f}" for p in (50, 95)]
        table.add_row(kind, *cells, f"{differ[kind]} of {len(QUERIES[kind])}", *before)
    console.print(table)
    if peer:
        console.print(
            "FTS5 trigram on the same text: "
            + "; ".join(f"{q}: {n} results in {s * 1000:.1f} ms" for q, (s, n) in peer[2].items())
        )


def _percentile(values: list[float], percent: int) -> float:
    if percent == 50:
        return statistics.median(values) * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


if __name__ == "__main__":
    main()
