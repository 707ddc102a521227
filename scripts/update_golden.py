"""Rewrite the golden extraction files in tests/data/golden: generic pages from
../shared/datasets (expected output of `extract(..., use_rules=False)`), and every shipped
site rule's sample pages (`golden/rules/`, expected output with the rules).

Run it after a deliberate change to the extractor or a rule, then read the diff of the JSON
files before committing.

    .venv/bin/python scripts/update_golden.py
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsvault.extract import extract, leading_url, read_file, shipped_rules  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
GOLDEN = ROOT / "tests" / "data" / "golden"
SCRAPINGHUB = ["05844573", "3c5bf8db", "a078b365"]
GNE_PAGES = {  # pages saved without their URL get the site's address instead
    "sina/1.html": None,
    "people/1.html": "http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html",
    "thepaper/1.html": "https://www.thepaper.cn/",
}


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    truth = json.loads((DATASETS / "scrapinghub" / "ground-truth.json").read_text())
    pages: dict[str, tuple[bytes, str]] = {}
    for prefix in SCRAPINGHUB:
        key = next(k for k in truth if k.startswith(prefix))
        raw = gzip.decompress((DATASETS / "scrapinghub" / "html" / f"{key}.html.gz").read_bytes())
        pages[f"scrapinghub-{prefix}"] = (raw, truth[key]["url"])
    for name, url in GNE_PAGES.items():
        raw = (DATASETS / "gne-pages" / name).read_bytes()
        pages["gne-" + name.replace("/", "-").removesuffix(".html")] = (
            raw,
            url or leading_url(raw),
        )
    for stem, (raw, url) in pages.items():
        article = extract(raw, url, use_rules=False).to_json()
        (GOLDEN / f"{stem}.html.gz").write_bytes(gzip.compress(raw, 9, mtime=0))
        text = json.dumps(article, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        (GOLDEN / f"{stem}.json").write_text(text, encoding="utf-8")
        print(stem, article["title"])
    rules_dir = GOLDEN / "rules"
    rules_dir.mkdir(exist_ok=True)
    for old in rules_dir.glob("*.json"):
        old.unlink()
    for rule in shipped_rules().rules:
        for sample in rule.samples:
            data = read_file(sample.file.read_bytes())
            article = extract(data, sample.url).to_json()
            text = json.dumps(article, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
            name = sample.file.name.removesuffix(".html.gz")
            (rules_dir / f"{name}.json").write_text(text, encoding="utf-8")
            print(f"rules/{name}", article["title"])


if __name__ == "__main__":
    main()
