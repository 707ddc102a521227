"""The labelled extraction sets and how an extraction of them is scored.

Shared by the benchmark (`benchmarks/extraction.py`) and the quality gate of `make test`
(`tests/test_extraction_quality.py`), so both measure the same way. Body text is scored with the
scrapinghub benchmark's metric: token 4-shingles (tokens are \\w+ runs), precision/recall per
page normalised, averaged over pages, F1 of the averages; the CJK variant makes each Chinese
character a token, so Chinese text (no spaces) is measured fairly. Title, author, date (to the
minute where the page prints a time) and day (the date right in UTC+8) are the share of pages
right, where labels exist.

Sets: `unseen` (benchmarks/data/unseen/, in the repository, labels in
benchmarks/data/unseen-labels.json), `gne-pages` (../shared/datasets/gne-pages, labels in
benchmarks/data/gne-labels.json) and `scrapinghub` (../shared/datasets/scrapinghub, labels
included). Every page is decoded to text by newsvault's charset rules, for every extractor.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data"
DATASETS = ROOT.parent / "shared" / "datasets"
GNE_LABELS = DATA / "gne-labels.json"
UNSEEN = DATA / "unseen"
UNSEEN_LABELS = DATA / "unseen-labels.json"
FLOORS = DATA / "quality-floors.json"
FOLDERS = {"netease": "163"}  # rule slug -> gne-pages folder, where they differ

from newsvault.errors import NoArticle  # noqa: E402
from newsvault.extract import extract, shipped_rules  # noqa: E402
from newsvault.extract.finder import FinderParams  # noqa: E402
from newsvault.extract.metadata import parse_date  # noqa: E402
from newsvault.fetch.charset import decode  # noqa: E402
from newsvault.models import CHINA_TIME  # noqa: E402

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(r"\w+")
WORD_OR_CJK = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


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
    # scrapinghub's labels leave image captions out of the body, ours keep them: newsvault
    # keeps captions apart (images[].caption), so its text follows each convention.
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
    date: list[bool] = field(default_factory=list)  # the minute right where a time is printed
    day: list[bool] = field(default_factory=list)  # the day right, in UTC+8
    seconds: float = 0.0

    def figures(self) -> dict[str, float]:
        """The gate's figures: body F1 (tokens and CJK characters) and, where labelled, the
        share of titles, authors, dates and days right."""
        found = {"body_f1": prf(self.words)[2], "body_f1_cjk": prf(self.chars)[2]}
        meta = {"title": self.title, "author": self.author, "date": self.date, "day": self.day}
        for name, values in meta.items():
            if values:
                found[name] = sum(values) / len(values)
        return found


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


def same_day(label: str | None, found: int | None) -> bool:
    """The day right in UTC+8 (labels are in UTC+8), whatever the time of day."""
    if not label or found is None:
        return not label and found is None
    return dt.datetime.fromtimestamp(found / 1000, CHINA_TIME).date().isoformat() == label[:10]


def page_f1(page: Page, found: Result) -> float:
    tp, fp, fn = shingle_counts(page.body, found.text, WORD_OR_CJK)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def score_outputs(pages: list[Page], outputs: list[Result], seconds: float = 0.0) -> Score:
    result = Score(seconds=seconds)
    for page, found in zip(pages, outputs, strict=True):
        result.words.append(shingle_counts(page.body, found.text, WORD))
        result.chars.append(shingle_counts(page.body, found.text, WORD_OR_CJK))
        if page.labelled_meta:
            result.title.append(same_text(page.title, found.title))
            result.author.append(same_text(page.author, found.author))
            result.date.append(same_date(page.published, found.published))
            result.day.append(same_day(page.published, found.published))
    return result


# -- the sets -----------------------------------------------------------------------------


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
    the gne-pages saved without their address)."""
    urls = {}
    for rule in shipped_rules().rules:
        for sample in rule.samples:
            slug, _, stem = sample.file.name.removesuffix(".html.gz").rpartition("-")
            urls[f"{FOLDERS.get(slug, slug)}/{stem}.html"] = sample.url
    return urls


def _labelled(labels: Path, raw: Callable[[str], bytes], urls: dict[str, str]) -> list[Page]:
    """The pages of a labels file in our conventions (benchmarks/data/README.md), those
    labelled as not an article left out."""
    pages = []
    for name, label in sorted(json.loads(labels.read_text(encoding="utf-8")).items()):
        if not label.get("body"):
            continue
        pages.append(
            Page(
                name=name,
                url=label["url"] or urls.get(name) or f"http://{name.split('/')[0]}.invalid/",
                html=decode(raw(name), None, kind="html").text,
                body=label["body"],
                title=label.get("title"),
                author=label.get("author"),
                published=label.get("published"),
                labelled_meta=True,
                captions_in_body=True,
            )
        )
    return pages


def gne_pages() -> list[Page]:
    return _labelled(GNE_LABELS, _gne_bytes, sample_urls())


def unseen_pages() -> list[Page]:
    return _labelled(UNSEEN_LABELS, _unseen_bytes, {})


def _gne_bytes(name: str) -> bytes:
    return (DATASETS / "gne-pages" / name).read_bytes()


def _unseen_bytes(name: str) -> bytes:
    return gzip.decompress((UNSEEN / f"{name}.gz").read_bytes())


def has_gne_pages() -> bool:
    return (DATASETS / "gne-pages").is_dir()


def corpus_sha256(dataset: str) -> str:
    """The SHA-256 of a labelled set: its labels file and every page's bytes, in name order.
    A floor pinned on other pages or labels says nothing about these."""
    labels, read = (
        (UNSEEN_LABELS, _unseen_bytes) if dataset == "unseen" else (GNE_LABELS, _gne_bytes)
    )
    digest = hashlib.sha256(labels.read_bytes())
    for name in sorted(json.loads(labels.read_text(encoding="utf-8"))):
        digest.update(name.encode() + b"\0" + read(name))
    return digest.hexdigest()


# -- newsvault ----------------------------------------------------------------------------


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


# -- the gate's floors --------------------------------------------------------------------

GATED = ("unseen", "gne-pages")  # the labelled sets `make test` holds to their floors
MARGIN = 0.02  # how far below the figures measured when pinned a floor sits


def generic_figures(dataset: str) -> dict[str, float]:
    """newsvault without site rules, default weights, on a gated set."""
    pages = unseen_pages() if dataset == "unseen" else gne_pages()
    run = newsvault_with(False)
    return score_outputs(pages, [run(page) for page in pages]).figures()


def pin_floors() -> dict[str, dict[str, object]]:
    """Measure the gated sets now and write their floors, MARGIN below, to FLOORS."""
    floors: dict[str, dict[str, object]] = {}
    for dataset in GATED:
        if dataset == "gne-pages" and not has_gne_pages():
            continue
        figures = generic_figures(dataset)
        floors[dataset] = {
            "sha256": corpus_sha256(dataset),
            "measured": {k: round(v, 4) for k, v in figures.items()},
            "floors": {k: max(0.0, round(v - MARGIN, 3)) for k, v in figures.items()},
        }
    FLOORS.write_text(json.dumps(floors, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return floors
