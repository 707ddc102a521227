"""Stories benchmark: near-duplicate precision/recall on a labelled set, MinHash speed against
datasketch, and the cost of grouping a growing archive.

The labelled set is built from the real articles we hold (benchmarks/corpus.py): each one is
reprinted three ways — wrapped in another site's boilerplate, converted to traditional script,
edited in a few sentences — and every other article is a negative for it (the hardest ones
share its outlet, template and topic area). Each reprint must be marked as a copy of its
original and nothing else may be.

    .venv/bin/python benchmarks/stories.py [--sizes 2000,10000,30000]
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import opencc
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, articles, synthetic

sys.path.insert(0, str(ROOT))
from newsvault.models import Article
from newsvault.store import Store
from newsvault.stories.duplicates import shingles, similar
from newsvault.stories.fold import fold
from newsvault.stories.process import process_pending

T0 = 1718800000000
NOTICE = "大陆网友注意：本文中的链接请翻墙后打开。此为文字版，欲看图文完整版请访问原网站。"
RELATED = "相关阅读：美联储宣布降息 市场反应平淡；北京将举办国际车展；南方多地迎来强降雨"


def variants(text: str, rng: random.Random, others: list[str]) -> list[tuple[str, str]]:
    sentences = [s for s in text.split("。") if s]
    edited = list(sentences)
    # A few sentences changed: one in eight replaced by a sentence of another article, and one
    # added (so that an article of one or two sentences is edited too, not replaced).
    for _ in range(max(1, len(edited) // 8) if len(edited) >= 4 else 0):
        edited[rng.randrange(len(edited))] = rng.choice(rng.choice(others).split("。"))
    edited.insert(rng.randrange(len(edited) + 1), rng.choice(rng.choice(others).split("。")))
    return [
        ("rewrapped", f"{NOTICE}\n{text}\n来源：原载媒体\n{RELATED}"),
        ("traditional", opencc.OpenCC("s2t").convert(text)),
        ("edited", "。".join(edited)),
    ]


def near_duplicates(console: Console) -> None:
    rng = random.Random(3)
    originals = []  # the corpus holds one article twice (thepaper 2 and 4): keep it once
    for title, text in articles():
        grams = shingles(fold(text))
        if not any(similar(grams, shingles(fold(t))) for _, t in originals):
            originals.append((title, text))
    texts = [t for _, t in originals]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "db")
        source = store.ensure_source("bench", "bench")
        truth: dict[int, int] = {}  # reprint id -> original id
        kinds: dict[int, str] = {}
        ids = []
        for n, (title, text) in enumerate(originals):
            ids.append(_add(store, source, title, text, T0 + n * 1000, f"o{n}"))
        for n, (title, text) in enumerate(originals):
            for kind, copy in variants(text, rng, texts[:n] + texts[n + 1 :]):
                copy_id = _add(store, source, title, copy, T0 + 10**8 + n * 1000, f"{kind}{n}")
                truth[copy_id], kinds[copy_id] = ids[n], kind
        started = time.perf_counter()
        process_pending(store)
        seconds = time.perf_counter() - started
        marked = {a.id: a.copy_of for a in store.articles() if a.copy_of}
        story_of = {a.id: a.story_id for a in store.articles()}
        store.close()
    true_story = {i: truth.get(i, i) for i in story_of}  # an original and its reprints
    same_true = same_found = both = 0
    for a, b in itertools.combinations(sorted(story_of), 2):
        t, f = true_story[a] == true_story[b], story_of[a] == story_of[b]
        same_true, same_found, both = same_true + t, same_found + f, both + (t and f)
    correct = sum(1 for i, o in marked.items() if truth.get(i) == o)
    table = Table(title=f"near-duplicates: {len(originals)} real articles, {len(truth)} reprints")
    for column in ("kind", "reprints", "found", "recall"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind in ("rewrapped", "traditional", "edited"):
        of_kind = [i for i, k in kinds.items() if k == kind]
        found = sum(1 for i in of_kind if marked.get(i) == truth[i])
        table.add_row(kind, str(len(of_kind)), str(found), f"{found / len(of_kind):.3f}")
    console.print(table)
    console.print(
        f"stories, pairwise: precision {both / max(1, same_found):.3f}, "
        f"recall {both / max(1, same_true):.3f} ({len(set(story_of.values()))} stories)"
    )
    console.print(
        f"precision {correct / max(1, len(marked)):.3f} ({len(marked)} marked, {correct} right); "
        f"recall {correct / len(truth):.3f}; {len(ids) + len(truth)} articles grouped in "
        f"{seconds:.1f} s"
    )


def minhash_speed(console: Console) -> None:
    from datasketch import MinHash
    from rensa import RMinHash

    docs = [shingles(fold(text)) for _, text in synthetic(2000)]
    table = Table(title="MinHash, 128 permutations, character 5-grams of 2,000 articles")
    table.add_column("library")
    table.add_column("docs/s", justify="right")
    started = time.perf_counter()
    for grams in docs:
        rensa = RMinHash(num_perm=128, seed=1)
        rensa.update(list(grams))
        rensa.digest()
    table.add_row("rensa (newsvault)", f"{len(docs) / (time.perf_counter() - started):,.0f}")
    started = time.perf_counter()
    for grams in docs:
        minhash = MinHash(num_perm=128)
        minhash.update_batch([g.encode() for g in grams])
        minhash.digest()
    table.add_row("datasketch", f"{len(docs) / (time.perf_counter() - started):,.0f}")
    console.print(table)


def growth(console: Console, sizes: list[int]) -> None:
    table = Table(title="grouping a growing archive (search index + near-duplicates + stories)")
    for column in ("articles", "seconds", "articles/s", "peak memory MB"):
        table.add_column(column, justify="right")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp) / "db")
            source = store.ensure_source("bench", "bench")
            batch = []
            for n, (title, text) in enumerate(synthetic(size, seed=size)):
                batch.append(_article(title, text, T0 + n * 60_000, f"s{n}"))
                if len(batch) == 1000:
                    store.add_articles(source, batch, None)
                    batch = []
            if batch:
                store.add_articles(source, batch, None)
            started = time.perf_counter()
            process_pending(store)
            seconds = time.perf_counter() - started
            store.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        table.add_row(f"{size:,}", f"{seconds:.1f}", f"{size / seconds:,.0f}", f"{peak:,.0f}")
    console.print(table)


def _article(title: str, text: str, published: int, key: str) -> Article:
    return Article(
        source="bench", key=key, url=f"https://bench.example/{key}", title=title,
        html=f"<p>{text}</p>", text=text, published=published, fetched=published,
    )  # fmt: skip


def _add(store: Store, source: int, title: str, text: str, published: int, key: str) -> int:
    (added,) = store.add_articles(source, [_article(title, text, published, key)], None).new
    return added.id or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,10000,30000")
    args = parser.parse_args()
    console = Console()
    near_duplicates(console)
    minhash_speed(console)
    growth(console, [int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
