"""Diff benchmark: the sequence aligners newsvault.diffs could run on, side by side on the same
edited articles.

The articles are real: the 62 hand-labelled Chinese bodies of benchmarks/data/gne-labels.json
and the six extracted texts of tests/data/golden (three of them English). Each is edited the
ways outlets edit: one sentence rewritten, a paragraph removed, a paragraph added, a number
changed, a name replaced all through (普京 → 普丁 and the like from the variants table; a
capitalised English name), the whole article converted to traditional script (OpenCC s2t),
and one sentence rewritten in a 200-paragraph article. The pipeline (tokens, paragraph
alignment, pairing) is the same for every candidate; only the aligner under it changes:

* difflib: the standard library's SequenceMatcher, autojunk off (with it on, any token more
  frequent than 1% of a long sequence is ignored: every common Chinese character);
* diff-match-patch: the pure-Python port of Google's library, with its semantic cleanup;
* fast-diff-match-patch: the C++ port behind a CPython extension, same cleanup (measured when
  installed: `.venv/bin/pip install fast-diff-match-patch`).

Every diff is checked to give back both versions exactly. "one change per edit" counts the
diffs whose changes form exactly as many contiguous groups (runs of deletions and insertions
with no equal text between them) as the edit made: one for a rewritten sentence, a number or
a paragraph, one per occurrence for a name.

    .venv/bin/python benchmarks/diffs.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from unittest import mock

import opencc
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from newsvault import diffs  # noqa: E402
from newsvault.stories.fold import variant_groups  # noqa: E402

Aligner = Callable[[str, str, bool], list[tuple[str, str]]]
Case = tuple[diffs.Version, diffs.Version, int | None]  # old, new, contiguous changes made
_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?”」]*|[^.!?]+[.!?]+[\"”’)]*\s*")
CHOSEN = "diff-match-patch"  # what newsvault.diffs runs on
_NAME = re.compile(r"(?<![.!?]\s)\b[A-Z][a-z]{3,}\b")


def difflib_aligner(a: str, b: str, semantic: bool) -> list[tuple[str, str]]:
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("=", a[i1:i2]))
            continue
        if i2 > i1:
            ops.append(("-", a[i1:i2]))
        if j2 > j1:
            ops.append(("+", b[j1:j2]))
    return ops


def candidates() -> dict[str, Aligner]:
    found: dict[str, Aligner] = {"difflib": difflib_aligner, CHOSEN: diffs._diff_codes}
    try:
        import fast_diff_match_patch
    except ImportError:
        return found

    def fast(a: str, b: str, semantic: bool) -> list[tuple[str, str]]:
        cleanup = "Semantic" if semantic else "No"
        return fast_diff_match_patch.diff(
            a, b, timelimit=diffs._TIME_LIMIT, checklines=False, cleanup=cleanup, counts_only=False
        )

    found["fast-diff-match-patch"] = fast
    return found


def articles() -> list[tuple[str, str]]:
    labels = json.loads((ROOT / "benchmarks/data/gne-labels.json").read_text(encoding="utf-8"))
    found = [(v["title"] or "", v["body"]) for _, v in sorted(labels.items()) if v["body"]]
    for path in sorted((ROOT / "tests/data/golden").glob("*.json")):
        golden = json.loads(path.read_text(encoding="utf-8"))
        found.append((golden["title"], golden["text"]))
    return found


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE.findall(paragraph) if s.strip()]


def rewrite_sentence(paragraphs: list[str], rng: random.Random, pool: list[str]) -> list[str]:
    """One sentence of a paragraph of several replaced by a sentence of another article."""
    choices = [i for i, p in enumerate(paragraphs) if len(sentences(p)) >= 2] or [0]
    i = rng.choice(choices)
    parts = sentences(paragraphs[i]) or [paragraphs[i]]
    k = rng.randrange(len(parts))
    zh = bool(re.search("[\u4e00-\u9fff]", parts[k]))
    new = rng.choice([s for s in pool if bool(re.search("[\u4e00-\u9fff]", s)) == zh])
    parts[k] = new.strip() + (" " if parts[k].endswith(" ") else "")
    return [*paragraphs[:i], "".join(parts), *paragraphs[i + 1 :]]


def cases(rng: random.Random) -> dict[str, list[Case]]:
    s2t = opencc.OpenCC("s2t").convert
    texts = articles()
    pool = [s for _, text in texts for p in text.split("\n") for s in sentences(p) if len(s) > 12]
    made: dict[str, list[Case]] = {}

    def add(kind: str, title: str, old: list[str], new: list[str], groups: int | None) -> None:
        case = (diffs.Version(title, "\n".join(old)), diffs.Version(title, "\n".join(new)))
        made.setdefault(kind, []).append((*case, groups))

    for title, text in texts:
        paragraphs = [p for p in text.split("\n") if p.strip()]
        add("sentence rewritten", title, paragraphs, rewrite_sentence(paragraphs, rng, pool), 1)
        if len(paragraphs) > 1:
            gone = rng.randrange(len(paragraphs))
            kept = paragraphs[:gone] + paragraphs[gone + 1 :]
            add("paragraph removed", title, paragraphs, kept, 1)
        at = rng.randrange(len(paragraphs) + 1)
        extra = rng.choice(pool)
        add("paragraph added", title, paragraphs, [*paragraphs[:at], extra, *paragraphs[at:]], 1)
        numbers = [(i, m) for i, p in enumerate(paragraphs) for m in re.finditer(r"\d+", p)]
        if numbers:
            i, m = rng.choice(numbers)
            changed = str(int(m.group()) + rng.randint(1, 9))
            edited = list(paragraphs)
            edited[i] = edited[i][: m.start()] + changed + edited[i][m.end() :]
            add("number changed", title, paragraphs, edited, 1)
        name, other = name_edit(text)
        if name:
            edited = [p.replace(name, other) for p in paragraphs]
            add("name replaced", title, paragraphs, edited, text.count(name))
        add("traditional script", title, paragraphs, [s2t(p) for p in paragraphs], None)
    long = [p for _, text in texts for p in text.split("\n") if p.strip()][:200]
    for _ in range(10):
        add("long: 1 of 200 rewritten", "", long, rewrite_sentence(long, rng, pool), 1)
    return made


def name_edit(text: str) -> tuple[str | None, str]:
    """A name the text uses and what to replace it with: a variant from the table (the longest
    found), else its most frequent capitalised word."""
    for group in sorted(variant_groups(), key=lambda g: -len(g[0])):
        for name in group:
            if name in text and not any(n != name and name in n and n in text for n in group):
                return name, next(n for n in group if n != name)
    counts: dict[str, int] = {}
    for word in _NAME.findall(text):
        counts[word] = counts.get(word, 0) + 1
    if counts:
        return max(counts, key=lambda w: counts[w]), "Kowalczyk"
    return None, ""


def groups(diff: diffs.Diff) -> int:
    """Contiguous runs of deletions and insertions, over the title and the paragraphs."""
    count = 0
    for changes in (diff.title, *diff.paragraphs):
        edits = [c.kind != "equal" for c in changes]
        count += sum(1 for before, edit in pairwise([False, *edits]) if edit and not before)
    return count


def check(diff: diffs.Diff, old: diffs.Version, new: diffs.Version) -> None:
    def side(kind: str, changes: tuple[diffs.Change, ...]) -> str:
        return "".join(c.text for c in changes if c.kind in ("equal", kind))

    for kind, version in (("delete", old), ("insert", new)):
        text = [side(kind, p) for p in diff.paragraphs]
        assert [p for p in text if p] == diffs._lines(version.text), f"{kind} side differs"
        assert side(kind, diff.title) == version.title, f"{kind} title differs"


def measure(edited: list[Case], repeat: int) -> list[str]:
    """diffs/s (the best of `repeat` runs), mean HTML size, mean change groups, and how many
    diffs show each edit as one contiguous change."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        results = [diffs.compare(old, new) for old, new, _ in edited]
        best = min(best, time.perf_counter() - start)
    found, exact = [], []
    for diff, (old, new, want) in zip(results, edited, strict=True):
        check(diff, old, new)
        found.append(groups(diff))
        if want is not None:
            exact.append(found[-1] == want)
    return [
        str(len(edited)),
        f"{len(edited) / best:,.0f}",
        f"{statistics.mean(len(diffs.to_html(d).encode()) for d in results):,.0f}",
        f"{statistics.mean(found):.1f}",
        f"{sum(exact)}/{len(exact)}" if exact else "-",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (the best is kept)")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 130))
    made = cases(random.Random(5))
    table = Table(title=f"diffs of {len(articles())} real articles, edited (newsvault: {CHOSEN})")
    columns = ["method", "edit", "diffs", "diffs/s", "mean HTML bytes", "mean changes"]
    for column in [*columns, "one change per edit"]:
        table.add_column(column, justify="left" if column in ("method", "edit") else "right")
    aligners = candidates()
    if "fast-diff-match-patch" not in aligners:
        console.print("fast-diff-match-patch is not installed: left out")
    for name, aligner in aligners.items():
        with mock.patch.object(diffs, "_diff_codes", aligner):
            for kind, edited in made.items():
                table.add_row(name, kind, *measure(edited, args.repeat))
        table.add_section()
    console.print(table)


if __name__ == "__main__":
    main()
