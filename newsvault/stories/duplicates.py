"""Near-duplicates: the same text published again (a reprint in other boilerplate, in the other
script, with a few sentences changed) is marked as a copy of the first one seen.

Each article's folded text is cut into character 5-grams; a MinHash (rensa: six times faster
than datasketch here, see benchmarks/stories.py) is split into bands whose hashes go into
`minhash_bands`, so candidates come from an indexed lookup however large the archive is. A
candidate is confirmed on the exact shingle sets: Jaccard similarity, or containment of the
shorter text in the longer (a reprint that adds a notice keeps all of the original).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rensa import RMinHash

from newsvault.store.stories import StoryBatch
from newsvault.stories.fold import CJK

SHINGLE = 5
PERMUTATIONS = 128
BANDS, ROWS = 42, 3  # 126 of the 128 values; candidates from about 0.3 similarity on
JACCARD = 0.5
CONTAINMENT = 0.8
MIN_SHARED_BANDS = 2  # one shared band happens by chance in a large archive
CANDIDATES = 8  # the most similar few are checked exactly; the first seen of them wins
MIN_SHINGLES = 40  # shorter texts (a caption, a one-line brief) are never called copies
_NOT_TEXT = re.compile(rf"[^{CJK}\w]+")


def shingles(folded: str) -> set[str]:
    compact = _NOT_TEXT.sub("", folded)
    return {compact[i : i + SHINGLE] for i in range(len(compact) - SHINGLE + 1)}


def band_hashes(grams: set[str]) -> list[int]:
    minhash = RMinHash(num_perm=PERMUTATIONS, seed=20240620)
    minhash.update(list(grams))
    digest = minhash.digest()
    return [hash(tuple(digest[b * ROWS : (b + 1) * ROWS])) for b in range(BANDS)]


def similar(a: set[str], b: set[str]) -> bool:
    if min(len(a), len(b)) < MIN_SHINGLES:
        return False
    shared = len(a & b)
    return shared / len(a | b) >= JACCARD or shared / min(len(a), len(b)) >= CONTAINMENT


def find_original(
    batch: StoryBatch, article_id: int, grams: set[str], folded_text_of: Callable[[int], str]
) -> int | None:
    """The first article this one copies (following copies to their original), and record
    this article's bands either way."""
    original = None
    if len(grams) >= MIN_SHINGLES:
        bands = band_hashes(grams)
        found = batch.sharing_bands(article_id, bands, MIN_SHARED_BANDS, CANDIDATES)
        for candidate in sorted(found):
            if similar(grams, shingles(folded_text_of(candidate))):
                original = batch.copy_of(candidate) or candidate
                break
        batch.add_bands(article_id, bands)
    return original
