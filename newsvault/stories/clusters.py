"""Stories: articles from any outlet about the same event, grouped as they arrive.

An article is described by its salient terms: the character pairs of its folded headline and
the most frequent pairs of its opening text, weighed by how rare they are in the archive
(`term_df`). It joins the story, active within WINDOW of its publication, whose terms carry
the largest share of its own weight, if that share reaches JOIN; otherwise it starts a story.
Copies join their original's story. Only a few indexed lookups per article: the cost of
adding one does not grow with the archive.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

from newsvault.store.stories import StoryBatch
from newsvault.stories.fold import TOKEN_KINDS

WINDOW = 4 * 24 * 3600 * 1000  # ms either side of a story's first and last article
JOIN = 0.3
HEAD_TERMS, BODY_TERMS = 24, 24
PROBE_TERMS, CANDIDATE_STORIES = 12, 10
BODY_CHARS = 1500
# Pairs holding one of these are grammar, not subject ("的是", "了一"): never salient.
_FUNCTION_CHARS = set(
    "的了是在和与也就都而及或被为这那我你他她它们个一不有中上下年月日时说将对从到以等"
)


def salient_terms(folded_title: str, folded_text: str) -> Counter[str]:
    head = content_terms(folded_title)[:HEAD_TERMS]
    body = Counter(content_terms(folded_text[:BODY_CHARS]))
    terms = Counter({t: 3 for t in head})
    for term, count in body.most_common(BODY_TERMS):
        terms[term] += count
    return terms


def content_terms(folded: str) -> list[str]:
    """The index tokens (fold.tokens) that can be salient, in order: no single characters,
    numbers or pairs holding a function character. A Chinese run is cut at its function
    characters and paired within the pieces, instead of each pair tested (the pairs are
    the same, in half the time)."""
    found: list[str] = []
    for chinese, other in TOKEN_KINDS.findall(folded):
        if chinese:
            for piece in _FUNCTION_CHAR.split(chinese):
                if len(piece) > 1:
                    found.extend(map(str.__add__, piece, piece[1:]))
        elif len(other) > 1 and not other.isdigit():
            found.append(other)
    return found


_FUNCTION_CHAR = re.compile(f"[{''.join(sorted(_FUNCTION_CHARS))}]")


def assign_story(
    batch: StoryBatch,
    article_id: int,
    title: str,
    published: int,
    terms: Counter[str],
    original: int | None,
    total: int,
) -> tuple[int, bool]:
    """The story the article joins, and whether it is a new one."""
    story_id = None
    if original is not None:
        story_id = batch.story_of(original)
    if story_id is None and terms:
        story_id = _best_story(batch, published, terms, total)
    created = story_id is None
    if story_id is None:
        story_id = batch.new_story(title, article_id, published)
    batch.join(story_id, article_id, title, published, list(terms))
    batch.count_terms(list(terms))  # a one-character headline and no text: nothing to count
    return story_id, created


def _best_story(batch: StoryBatch, published: int, terms: Counter[str], total: int) -> int | None:
    names = list(terms)
    df = batch.document_frequency(names)
    # Smoothed: in a small archive every term still weighs something; rare ones weigh more.
    idf = {t: 1.0 + math.log((total + 1) / (df.get(t, 0) + 1)) for t in names}
    # Stories are found through the rarest terms other articles have used: short posting
    # lists, so the lookup costs the same in a large archive as in a small one.
    probes = sorted((t for t in names if df.get(t)), key=lambda t: df[t])[:PROBE_TERMS]
    candidates = batch.stories_with(
        probes, published - WINDOW, published + WINDOW, CANDIDATE_STORIES
    )
    if not candidates:
        return None
    weight = {t: idf[t] * (2.0 if terms[t] >= 3 else 1.0) for t in names}
    total_weight = sum(weight.values()) or 1.0
    share: defaultdict[int, float] = defaultdict(float)
    for story_id, term in batch.terms_of(candidates, names):
        share[story_id] += weight[term] / total_weight
    best, best_share = max(share.items(), key=lambda item: (item[1], item[0]), default=(None, 0.0))
    return best if best_share >= JOIN else None
