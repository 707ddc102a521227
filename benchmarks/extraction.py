"""Extraction benchmark: newsvault against trafilatura, readability-lxml, gne and resiliparse.

Every extractor gets the same pages, already decoded to text by newsvault's charset rules (so
the comparison is about extraction; decoding is newsvault's own advantage on GB2312/Big5
pages and is left out here). Body text is scored with the scrapinghub benchmark's metric: token
4-shingles (tokens are \\w+ runs), precision/recall per page normalised, averaged over pages,
F1 of the averages; the CJK variant makes each Chinese character a token, so Chinese text (no
spaces) is measured fairly. Title, author, date (to the minute where the page prints a time)
and day (the date right in UTC+8) where labels exist; pages per CPU second
(process time: every extractor runs in this one process, on one core, each after reading a few
pages to warm up, the fastest of PASSES passes, so other work on the machine moves the figures
less than wall time would).

Every figure is given three ways. unseen: real Chinese pages of sites that have no rule, kept in
benchmarks/data/unseen/ with the labels in benchmarks/data/unseen-labels.json, never looked at
while building or tuning the extractor (weights chosen on all of gne-pages); gne-pages without
site rules, leave-one-site-out (for each site, the body finder's weights are the ones of
FINDER_GRID that score best on the other sites, so no site is scored with weights tuned on it);
scrapinghub (English, weights chosen on all of gne-pages, so none of them on it). gne-pages with
the site rules, which were written from these very pages, is what a site with a rule gets, not a
blind test. The peers run in the same process on the same pages, one after another. The metric
and the sets are in benchmarks/scoring.py, shared with the quality gate of `make test`
(tests/test_extraction_quality.py); `--pin-floors` re-measures that gate's floors.

    .venv/bin/python benchmarks/extraction.py [--dataset unseen|gne-pages|scrapinghub]
        [--only NAME] [--folds]  (which weights each left-out site got) [--pin-floors]

Datasets: ../shared/datasets/scrapinghub (labels included), ../shared/datasets/gne-pages with
the labels in benchmarks/data/gne-labels.json, and benchmarks/data/unseen (all labels written by
reading the pages, see benchmarks/data/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring import (
    Page,
    Result,
    Score,
    gne_pages,
    newsvault_with,
    page_f1,
    pin_floors,
    prf,
    score_outputs,
    scrapinghub,
    unseen_pages,
)

from newsvault.extract.finder import DEFAULT, FinderParams
from newsvault.extract.metadata import parse_date

# -- the extractors -----------------------------------------------------------------------


# The body finder's weights the leave-one-site-out runs choose among (the first: the defaults).
FINDER_GRID = [
    DEFAULT,
    FinderParams(sibling_share=0.2),
    FinderParams(sibling_share=0.1),
    FinderParams(hint=10.0),
    FinderParams(list_links=0.5),
    FinderParams(density=0.0),
    FinderParams(min_paragraph=10),
]


def trafilatura_body(page: Page) -> Result:
    import trafilatura

    return Result(trafilatura.extract(page.html, url=page.url) or "")


def trafilatura_meta(page: Page) -> Result:
    import trafilatura

    doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
    if doc is None:
        return Result()
    published = parse_date(doc.date) if doc.date else None
    return Result(doc.text or "", doc.title, doc.author, published)


def readability(page: Page) -> Result:
    import lxml.html
    from readability import Document

    document = Document(page.html)
    summary = lxml.html.fromstring(document.summary(html_partial=True))
    return Result(_block_text(summary), document.short_title())


def gne(page: Page) -> Result:
    from gne import GeneralNewsExtractor

    try:
        found = GeneralNewsExtractor().extract(page.html)
    except Exception:  # gne raises bare exceptions on pages it cannot read
        return Result()
    published = parse_date(found.get("publish_time") or "")
    return Result(found.get("content") or "", found.get("title"), found.get("author"), published)


def resiliparse(page: Page) -> Result:
    from resiliparse.extract.html2text import extract_plain_text

    return Result(extract_plain_text(page.html, main_content=True))


def _block_text(element) -> str:
    for block in element.iter("p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr"):
        block.tail = "\n" + (block.tail or "")
    return "\n".join(line.strip() for line in element.text_content().split("\n") if line.strip())


LOSO = "newsvault, no site rules"  # leave-one-site-out on gne-pages, weights from it elsewhere
EXTRACTORS: dict[str, Callable[[Page], Result]] = {
    LOSO: newsvault_with(False),
    "newsvault, no rules, peers' body": newsvault_with(False, "peers"),
    "newsvault, site rules": newsvault_with(True),
    "trafilatura": trafilatura_body,
    "trafilatura + metadata": trafilatura_meta,
    "readability-lxml": readability,
    "gne": gne,
    "resiliparse": resiliparse,
}


def site(page: Page) -> str:
    return page.name.split("/")[0]


WARM_UP = 5  # pages each extractor reads before it is timed (imports, caches, compiled patterns)
PASSES = 3  # timed passes over the pages; the fastest counts (as timeit does)


def outputs_of(
    pages: list[Page], run: Callable[[Page], Result], passes: int = PASSES
) -> tuple[list[Result], float]:
    for page in pages[:WARM_UP]:
        run(page)
    fastest = float("inf")
    for _ in range(passes):
        started = time.process_time()
        outputs = [run(page) for page in pages]
        fastest = min(fastest, time.process_time() - started)
    return outputs, fastest


def chosen_weights(pages: list[Page], runs: list[list[Result]], held_out: str | None) -> int:
    """The index in FINDER_GRID of the weights scoring best (mean body F1, CJK chars, then
    title, author and date) on the pages not of site `held_out`."""

    def quality(k: int) -> tuple[float, int]:
        rows = [(p, r) for p, r in zip(pages, runs[k], strict=True) if site(p) != held_out]
        return (statistics.mean(page_f1(p, r) for p, r in rows), -k)

    return max(range(len(runs)), key=quality)


def leave_one_site_out(
    pages: list[Page], folds: dict[str, int] | None = None
) -> tuple[list[Result], float]:
    """Each site's pages as extracted with the weights chosen on the other sites; the seconds
    of the default weights' run."""
    runs, seconds = [], 0.0
    for k, params in enumerate(FINDER_GRID):
        outputs, spent = outputs_of(pages, newsvault_with(False, params), PASSES if k == 0 else 1)
        runs.append(outputs)
        seconds = spent if k == 0 else seconds
    choice = {name: chosen_weights(pages, runs, name) for name in sorted({site(p) for p in pages})}
    if folds is not None:
        folds.update(choice)
    return [runs[choice[site(p)]][i] for i, p in enumerate(pages)], seconds


def score(pages: list[Page], run: Callable[[Page], Result]) -> Score:
    outputs, seconds = outputs_of(pages, run)
    return score_outputs(pages, outputs, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(DATASETS), action="append")
    parser.add_argument("--only", action="append", help="run only these extractors")
    parser.add_argument("--folds", action="store_true", help="print each site's weights")
    parser.add_argument(
        "--pin-floors",
        action="store_true",
        help="measure the gated sets and write the quality gate's floors, then stop",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    console = Console(width=160)  # the whole table, in a log file too
    if args.pin_floors:
        for dataset, pinned in pin_floors().items():
            console.print(f"{dataset}: floors {pinned['floors']} (measured {pinned['measured']})")
        return
    chosen = {k: v for k, v in EXTRACTORS.items() if not args.only or k in args.only}
    gne = gne_pages()
    folds: dict[str, int] = {}
    weights: FinderParams | None = None  # chosen on all of gne-pages, for the other sets
    for dataset in args.dataset or list(DATASETS):
        pages = gne if dataset == "gne-pages" else DATASETS[dataset]()
        scores: dict[str, Score] = {}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(dataset, total=len(chosen))
            for name, run in chosen.items():
                progress.update(task, description=f"{dataset}: {name}")
                if name == LOSO and dataset == "gne-pages":
                    scores[name + ", leave-one-site-out"] = score_outputs(
                        pages, *leave_one_site_out(pages, folds)
                    )
                elif name == LOSO:
                    if weights is None:
                        runs = [
                            outputs_of(gne, newsvault_with(False, p), 1)[0] for p in FINDER_GRID
                        ]
                        weights = FINDER_GRID[chosen_weights(gne, runs, None)]
                    scores[name] = score(pages, newsvault_with(False, weights))
                else:
                    scores[name] = score(pages, run)
                progress.advance(task)
        console.print(_table(TITLES[dataset], len(pages), scores))
    if args.folds and folds:
        for name, k in folds.items():
            console.print(f"{name}: {FINDER_GRID[k]}")


# In the order they are reported: the pages nobody tuned anything on first.
DATASETS: dict[str, Callable[[], list[Page]]] = {
    "unseen": unseen_pages,
    "gne-pages": gne_pages,
    "scrapinghub": scrapinghub,
}
TITLES = {
    "unseen": "unseen: Chinese pages of sites without a rule, never used to tune anything",
    "gne-pages": "gne-pages: Chinese pages",
    "scrapinghub": "scrapinghub: English pages",
}


def _table(dataset: str, count: int, scores: dict[str, Score]) -> Table:
    table = Table(title=f"{dataset} ({count} pages)")
    columns = ["extractor", "F1", "precision", "recall", "F1 (CJK chars)"]
    labelled = any(s.title for s in scores.values())
    if labelled:
        columns += ["title", "author", "date", "day"]
    columns.append("pages/s")
    for column in columns:
        table.add_column(column, justify="left" if column == "extractor" else "right")
    for name, s in scores.items():
        p, r, f1 = prf(s.words)
        row = [name, f"{f1:.3f}", f"{p:.3f}", f"{r:.3f}", f"{prf(s.chars)[2]:.3f}"]
        if labelled:
            row += [_share(s.title), _share(s.author), _share(s.date), _share(s.day)]
        row.append(f"{len(s.words) / s.seconds:.1f}")
        table.add_row(*row)
    return table


def _share(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.2f}" if values else "-"


if __name__ == "__main__":
    main()
