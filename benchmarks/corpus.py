"""Real Chinese article text for the stories and search benchmarks.

The articles newsvault extracts from ../shared/datasets/gne-pages (with the site rules) and the
two seed documents; `sentences()` cuts them into sentences for building synthetic archives.
"""

from __future__ import annotations

import random
import re
import sys
import warnings
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.errors import NoArticle  # noqa: E402
from newsvault.extract import extract, leading_url  # noqa: E402
from newsvault.publish.markdown import parse_article  # noqa: E402

PAGES = ROOT.parent / "shared" / "datasets" / "gne-pages"
SEED = ROOT / "tests" / "data" / "voa-1048574.md"
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]")


@cache
def articles() -> list[tuple[str, str]]:
    """(title, text) of every real article we hold."""
    warnings.filterwarnings("ignore")
    found = []
    for path in sorted(PAGES.glob("*/*.html")):
        raw = path.read_bytes()
        try:
            article = extract(raw, leading_url(raw) or "https://example.com/")
        except NoArticle:
            continue
        if len(article.text) > 200:
            found.append((article.title, article.text))
    from newsvault.normalize import text_and_images

    seed = parse_article(SEED.read_text(encoding="utf-8"), "seed")
    found.append((seed.title, text_and_images(seed.content)[0]))
    return found


@cache
def sentences() -> list[str]:
    return [s.strip() for _, text in articles() for s in _SENTENCE.findall(text) if len(s) > 8]


def synthetic(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """`count` articles of real sentences in random order, about 1.6 KB each."""
    rng = random.Random(seed)
    pool = sentences()
    made = []
    for _ in range(count):
        body = "".join(rng.choice(pool) for _ in range(rng.randint(14, 22)))
        made.append((rng.choice(pool)[:30], body))
    return made
