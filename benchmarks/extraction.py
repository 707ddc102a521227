"""Extraction benchmark: newsvault against trafilatura, readability-lxml, gne and resiliparse.

Every extractor gets the same pages, already decoded to text by newsvault's charset rules (so
the comparison is about extraction; decoding is newsvault's own advantage on GB2312/Big5
pages and is left out here). Body text is scored with the scrapinghub benchmark's metric: token
4-shingles (tokens are \\w+ runs), precision/recall per page normalised, averaged over pages,
F1 of the averages; the CJK variant makes each Chinese character a token, so Chinese text (no
spaces) is measured fairly. Title/author/date accuracy where labels exist; pages per CPU second
(process time: every extractor runs in this one process, on one core, each after reading a few
pages to warm up, the fastest of PASSES passes, so other work on the machine moves the figures
less than wall time would).

Every figure is given three ways: gne-pages without site rules, leave-one-site-out (for each
site, the body finder's weights are the ones of FINDER_GRID that score best on the other sites,
so no site is scored with weights tuned on it); scrapinghub (English, weights chosen on all of
gne-pages, so none of them on it); and gne-pages with the site rules, which were written from
these very pages (what a site with a rule gets, not a blind test). The peers run in the same
process on the same pages, one after another.

    .venv/bin/python benchmarks/extraction.py [--dataset scrapinghub|gne-pages] [--only NAME]
        [--folds]  (which weights each left-out site got)

Datasets: ../shared/datasets/scrapinghub (labels included) and ../shared/datasets/gne-pages
with the labels in benchmarks/data/gne-labels.json (written by reading the pages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"
LABELS = ROOT / "benchmarks" / "data" / "gne-labels.json"
FOLDERS = {"netease": "163"}  # rule slug -> gne-pages folder, where they differ

from newsvault.errors import NoArticle  # noqa: E402
from newsvault.extract import extract, shipped_rules  # noqa: E402
from newsvault.extract.finder import DEFAULT, FinderParams  # noqa: E402
from newsvault.extract.metadata import parse_date  # noqa: E402
from newsvault.fetch.charset import decode  # noqa: E402
from newsvault.models import CHINA_TIME  # noqa: E402

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(r"\w+")
_WORD_OR_CJK = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


@dataclass
class Page:
    name: str
    url: str
    html: str
    body: str
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO 8601, date only when the page shows only a date
    labelled_meta: bool = False
    # scrapinghub's labels leave image captions out of the body, ours (gne-pages) keep them:
    # newsvault keeps captions apart (images[].caption), so its text follows each convention.
    captions_in_body: bool = False


@dataclass
class Result:
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: int | None = None  # ms


@dataclass
class Score:
    words: list[tuple[float, float, float]] = field(default_factory=list)
    chars: list[tuple[float, float, float]] = field(default_factory=list)
    title: list[bool] = field(default_factory=list)
    author: list[bool] = field(default_factory=list)
    date: list[bool] = field(default_factory=list)
    seconds: float = 0.0


# -- the metric ---------------------------------------------------------------------------


def shingle_counts(true: str, pred: str, token: re.Pattern[str]) -> tuple[float, float, float]:
    def shingles(text: str) -> Counter[tuple[str, ...]]:
        tokens = token.findall(text or "")
        return Counter(tuple(tokens[i : i + 4]) for i in range(max(1, len(tokens) - 3)) if tokens)

    t, p = shingles(true), shingles(pred)
    tp, fp, fn = sum((t & p).values()), sum((p - t).values()), sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def prf(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean([precision(*r) for r in rows if r[0] + r[1] > 0] or [0.0])
    r = statistics.mean([recall(*r) for r in rows if r[0] + r[2] > 0] or [0.0])
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def same_text(a: str | None, b: str | None) -> bool:
    def norm(s: str | None) -> str:
        return re.sub(r"[\s\u3000]+", "", s or "")

    return norm(a) == norm(b)


def same_date(label: str | None, found: int | None) -> bool:
    """The day right (in UTC+8); when the label has a time of day, the minute right too."""
    if not label:
        return found is None
    if found is None:
        return False
    expected = parse_date(label)
    if expected is None:
        return False
    day = dt.datetime.fromtimestamp(found / 1000, CHINA_TIME).date()
    if "T" not in label and " " not in label:
        return day == dt.date.fromisoformat(label[:10])
    return abs(found - expected) < 60_000


# -- datasets -----------------------------------------------------------------------------


def scrapinghub() -> list[Page]:
    folder = DATASETS / "scrapinghub"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        Page(
            name=key,
            url=item["url"],
            html=gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes()).decode(),
            body=item["articleBody"],
        )
        for key, item in sorted(truth.items())
    ]


def sample_urls() -> dict[str, str]:
    """ "<folder>/<file>.html" -> the URL the shipped rule's sample of that page gives it (for
    the pages saved without their address)."""
    urls = {}
    for rule in shipped_rules().rules:
        for sample in rule.samples:
            slug, _, stem = sample.file.name.removesuffix(".html.gz").rpartition("-")
            urls[f"{FOLDERS.get(slug, slug)}/{stem}.html"] = sample.url
    return urls


def gne_pages() -> list[Page]:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    known = sample_urls()
    pages = []
    for name, label in sorted(labels.items()):
        if not label.get("body"):
            continue  # labelled as not an article
        raw = (DATASETS / "gne-pages" / name).read_bytes()
        pages.append(
            Page(
                name=name,
                url=label["url"] or known.get(name) or f"http://{name.split('/')[0]}.invalid/",
                html=decode(raw, None, kind="html").text,
                body=label["body"],
                title=label.get("title"),
                author=label.get("author"),
                published=label.get("published"),
                labelled_meta=True,
                captions_in_body=True,
            )
        )
    return pages


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


def newsvault_with(
    use_rules: bool, finder: FinderParams | str | None = None
) -> Callable[[Page], Result]:
    def run(page: Page) -> Result:
        try:
            article = extract(page.html, page.url, use_rules=use_rules, finder=finder)
        except NoArticle:
            return Result()
        text = article.text
        if not page.captions_in_body:
            captions = {image["caption"] for image in article.images}
            text = "\n".join(line for line in text.split("\n") if line not in captions)
        return Result(text, article.title, article.author, article.published)

    return run


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


def page_f1(page: Page, found: Result) -> float:
    tp, fp, fn = shingle_counts(page.body, found.text, _WORD_OR_CJK)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


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


def score_outputs(pages: list[Page], outputs: list[Result], seconds: float) -> Score:
    result = Score(seconds=seconds)
    for page, found in zip(pages, outputs, strict=True):
        result.words.append(shingle_counts(page.body, found.text, _WORD))
        result.chars.append(shingle_counts(page.body, found.text, _WORD_OR_CJK))
        if page.labelled_meta:
            result.title.append(same_text(page.title, found.title))
            result.author.append(same_text(page.author, found.author))
            result.date.append(same_date(page.published, found.published))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["scrapinghub", "gne-pages"], action="append")
    parser.add_argument("--only", action="append", help="run only these extractors")
    parser.add_argument("--folds", action="store_true", help="print each site's weights")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    loaders = {"gne-pages": gne_pages, "scrapinghub": scrapinghub}
    chosen = {k: v for k, v in EXTRACTORS.items() if not args.only or k in args.only}
    console = Console(width=160)  # the whole table, in a log file too
    gne = gne_pages()
    folds: dict[str, int] = {}
    for dataset in args.dataset or list(loaders):
        pages = gne if dataset == "gne-pages" else loaders[dataset]()
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
                    all_runs = [
                        outputs_of(gne, newsvault_with(False, p), 1)[0] for p in FINDER_GRID
                    ]
                    weights = FINDER_GRID[chosen_weights(gne, all_runs, None)]
                    scores[name] = score(pages, newsvault_with(False, weights))
                else:
                    scores[name] = score(pages, run)
                progress.advance(task)
        console.print(_table(dataset, len(pages), scores))
    if args.folds and folds:
        for name, k in folds.items():
            console.print(f"{name}: {FINDER_GRID[k]}")


def _table(dataset: str, count: int, scores: dict[str, Score]) -> Table:
    table = Table(title=f"{dataset}: {count} pages")
    columns = ["extractor", "F1", "precision", "recall", "F1 (CJK chars)"]
    labelled = any(s.title for s in scores.values())
    if labelled:
        columns += ["title", "author", "date"]
    columns.append("pages/s")
    for column in columns:
        table.add_column(column, justify="left" if column == "extractor" else "right")
    for name, s in scores.items():
        p, r, f1 = prf(s.words)
        row = [name, f"{f1:.3f}", f"{p:.3f}", f"{r:.3f}", f"{prf(s.chars)[2]:.3f}"]
        if labelled:
            row += [_share(s.title), _share(s.author), _share(s.date)]
        row.append(f"{len(s.words) / s.seconds:.1f}")
        table.add_row(*row)
    return table


def _share(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.2f}" if values else "-"


if __name__ == "__main__":
    main()
