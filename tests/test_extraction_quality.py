"""The quality gate: generic extraction (no site rules) on the labelled sets holds its floors.

Floors are in benchmarks/data/quality-floors.json, a small margin below the figures measured
when they were pinned, each with the SHA-256 of the set it was measured on (as trafilatura's
evaluation gate does): a change that loses body text, titles, authors or dates on these pages
fails here. The unseen set lives in the repository, so this always runs; gne-pages lives in
../shared and is skipped where that is missing. Scoring is benchmarks/scoring.py, the
benchmark's own. Re-pin after a deliberate change with
`.venv/bin/python benchmarks/extraction.py --pin-floors`.
"""

from __future__ import annotations

import gzip
import json
import re
import warnings

import lxml.html
import pytest

from benchmarks import scoring
from newsvault.fetch.charset import decode


def _pinned(dataset: str) -> dict:
    floors = json.loads(scoring.FLOORS.read_text(encoding="utf-8"))
    if dataset not in floors:
        pytest.fail(f"{scoring.FLOORS.name} has no floors for {dataset}: pin them")
    return floors[dataset]


@pytest.mark.parametrize("dataset", scoring.GATED)
def test_generic_extraction_holds_its_floors(dataset: str) -> None:
    if dataset == "gne-pages" and not scoring.has_gne_pages():
        pytest.skip("../shared/datasets/gne-pages is not here")
    pinned = _pinned(dataset)
    assert scoring.corpus_sha256(dataset) == pinned["sha256"], (
        f"{dataset} changed since its floors were pinned: re-pin them"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figures = scoring.generic_figures(dataset)
    below = {
        name: f"{figures.get(name, 0.0):.3f} < {floor}"
        for name, floor in pinned["floors"].items()
        if figures.get(name, 0.0) < floor
    }
    assert not below, f"{dataset}: below the floor: {below}"


def test_the_gate_fails_a_worse_extraction() -> None:
    """The same comparison, fed a run that loses the body of every page, is caught."""
    pages = scoring.unseen_pages()
    lost = scoring.score_outputs(pages, [scoring.Result() for _ in pages]).figures()
    floors = _pinned("unseen")["floors"]
    assert any(lost.get(name, 0.0) < floor for name, floor in floors.items())
    assert lost["body_f1"] < floors["body_f1"]


def test_every_unseen_label_is_text_of_its_page() -> None:
    """The labels were written by reading the pages: each title and body line is in its page's
    text as a browser shows it (whitespace collapsed), and each stored page has a label."""
    labels = json.loads(scoring.UNSEEN_LABELS.read_text(encoding="utf-8"))
    stored = {str(p.relative_to(scoring.UNSEEN))[:-3] for p in scoring.UNSEEN.rglob("*.html.gz")}
    assert stored == set(labels)
    for name, label in labels.items():
        raw = gzip.decompress((scoring.UNSEEN / f"{name}.gz").read_bytes())
        page = lxml.html.fromstring(decode(raw, None, kind="html").text)
        text = re.sub(r"\s+", " ", page.text_content())
        lines = [label.get("title") or "", *(label.get("body") or "").split("\n")]
        assert [line for line in lines if line not in text] == [], name
