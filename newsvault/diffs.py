"""Diffs: what changed between two versions of an article, ready to show.

Outlets edit and rewrite published articles; to watch them, two captured versions are compared
the way a reader compares them: Chinese by the character (a run of Chinese or Japanese script
is split into single characters, since the text has no spaces), other languages by the word
(words, runs of whitespace and each punctuation mark are tokens of their own, so a changed word
shows as that whole word).

The paragraphs (the non-blank lines of the plain text) are aligned first, so that a long
article with one changed sentence costs one diff of one paragraph. Within a run of changed
paragraphs the old and new ones are matched, in order, by likeness of their folded text (so a
paragraph converted to traditional script, or with 普丁 for 普京, is still its old self): a
removed paragraph shows as removed, an edited one as edited, and one paragraph in place of one
as that paragraph edited. Each matched pair is then diffed by token with diff-match-patch
(Google's diff algorithm) and its semantic cleanup: small coincidental equalities inside a
rewritten sentence are folded into the change, so the sentence reads as one deletion and one
insertion instead of confetti. benchmarks/diffs.py compares it with difflib and with the C++
port (fast-diff-match-patch: the same output, faster, but with wheels for few platforms).

`compare` gives a `Diff`; `to_html`, `to_rich` and `to_json` render it. The JSON shape:

    {"changed": bool, "added": int, "removed": int,
     "title": [[kind, text], ...],
     "paragraphs": [[[kind, text], ...], ...]}

where kind is "equal", "insert" or "delete" and the texts of a paragraph's changes, joined,
give the old paragraph (equal and delete) and the new one (equal and insert); a paragraph that
was removed is one delete, one that was added one insert. `added` and `removed` count tokens
other than whitespace: Chinese characters, words and punctuation marks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import chain, pairwise
from typing import Any, Literal, Protocol

from diff_match_patch import diff_match_patch
from rich.text import Text

from newsvault.normalize import CONTROL
from newsvault.stories.fold import CJK, fold

Kind = Literal["equal", "insert", "delete"]

_SCRIPT = CJK + "\u3040-\u30ff"  # Chinese characters, and kana (Japanese has no spaces either)
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u200d\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
# A Chinese character, a word, a run of whitespace or any other single character; combining
# marks, variation selectors and joiners stay with the character before them.
_TOKEN = re.compile(rf"(?:[{_SCRIPT}]|[^\W{_SCRIPT}]+|\s+|.)[{_MARKS}]*", re.DOTALL)
# Paragraphs and tokens are diffed as strings of stand-in characters, one per distinct item:
# private use first (neither letters, digits nor spaces, so diff-match-patch's boundary
# scoring treats every token alike), then the rest of the code points above the surrogates.
_CODE_RANGES = ((0xE000, 0xF900), (0xF0000, 0x110000), (0xF900, 0xF0000))
_TIME_LIMIT = 1.0  # seconds diff-match-patch may spend on one pair before it settles for less
_ALIKE = 0.4  # the likeness from which an old and a new paragraph are versions of each other
_BAND = 8  # how far from the diagonal of a changed run paragraphs are compared for likeness
_MAX_PAIRINGS = 250_000  # beyond that many (old, new) cells a changed run is not matched up


class Versioned(Protocol):
    """What `compare` reads of a version: an Article, a Version, anything with these two."""

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Version:
    """A version given as its two strings, for callers that hold no Article."""

    title: str
    text: str


@dataclass(frozen=True)
class Change:
    kind: Kind
    text: str


@dataclass(frozen=True)
class Diff:
    title: tuple[Change, ...]
    paragraphs: tuple[tuple[Change, ...], ...]
    added: int  # tokens other than whitespace inserted: characters, words, punctuation
    removed: int  # and deleted

    @property
    def changed(self) -> bool:
        return _has_change(self.title) or any(_has_change(p) for p in self.paragraphs)


def changed_only(diff: Diff) -> Diff:
    """The title if it changed and the paragraphs that did: what a reader looks for."""
    return replace(
        diff,
        title=diff.title if _has_change(diff.title) else (),
        paragraphs=tuple(p for p in diff.paragraphs if _has_change(p)),
    )


def _has_change(changes: tuple[Change, ...]) -> bool:
    return any(change.kind != "equal" for change in changes)


def compare(old: Versioned, new: Versioned) -> Diff:
    """What changed from `old` to `new`: the title and the paragraphs (the non-blank lines of
    the text), by character for Chinese and by word otherwise."""
    title = tuple(_tokens_diff(old.title, new.title))
    paragraphs = tuple(tuple(p) for p in _paragraphs_diff(_lines(old.text), _lines(new.text)))
    changes = list(chain(title, *paragraphs))
    return Diff(title, paragraphs, _count(changes, "insert"), _count(changes, "delete"))


def to_html(diff: Diff) -> str:
    """The title as <h1>, each paragraph as <p>, insertions in <ins> and deletions in <del>;
    every text escaped (and stripped of control characters), so any input is safe to embed."""
    lines = [f"<h1>{_html(diff.title)}</h1>"] if diff.title else []
    lines += [f"<p>{_html(p)}</p>" for p in diff.paragraphs]
    return "\n".join(lines)


def to_rich(diff: Diff) -> Text:
    """The diff for a terminal: the title in bold and a blank line, then one line per
    paragraph; insertions green, deletions red and struck through."""
    out = Text()
    if diff.title:
        out.append_text(_rich(diff.title, "bold"))
        out.append("\n\n")
    for number, paragraph in enumerate(diff.paragraphs):
        out.append("\n" if number else "")
        out.append_text(_rich(paragraph))
    return out


def to_json(diff: Diff) -> dict[str, Any]:
    """The shape the module docstring describes."""
    return {
        "changed": diff.changed,
        "added": diff.added,
        "removed": diff.removed,
        "title": [[c.kind, c.text] for c in diff.title],
        "paragraphs": [[[c.kind, c.text] for c in p] for p in diff.paragraphs],
    }


def tokens(text: str) -> list[str]:
    """The units a diff compares: Chinese characters, words, whitespace runs, other marks."""
    return _TOKEN.findall(text)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _paragraphs_diff(old: list[str], new: list[str]) -> Iterator[list[Change]]:
    """Aligns whole paragraphs, then diffs the old and new ones of each changed run."""
    coded = _encode([old, new])
    if coded is None:  # more distinct paragraphs than there are code points
        yield from _run_diff(old, new)
        return
    old_codes, new_codes = coded
    i = j = 0  # positions in old and new
    run_start = (0, 0)
    for op, codes in [*_diff_codes(old_codes, new_codes, semantic=False), ("=", "")]:
        if op == "=":
            yield from _run_diff(old[run_start[0] : i], new[run_start[1] : j])
            yield from ([Change("equal", p)] for p in old[i : i + len(codes)])
            i, j = i + len(codes), j + len(codes)
            run_start = (i, j)
        elif op == "-":
            i += len(codes)
        else:
            j += len(codes)


def _run_diff(old: list[str], new: list[str]) -> Iterator[list[Change]]:
    """A run of changed paragraphs: those alike enough paired and diffed, in order; the rest
    removed (old ones first) or added."""
    # One paragraph in place of one: the same paragraph edited, however heavily.
    pairs = [(0, 0)] if len(old) == len(new) == 1 else _pairs(old, new)
    i = j = 0
    for pi, pj in [*pairs, (len(old), len(new))]:
        yield from ([Change("delete", p)] for p in old[i:pi])
        yield from ([Change("insert", p)] for p in new[j:pj])
        if pi < len(old):
            yield _tokens_diff(old[pi], new[pj])
        i, j = pi + 1, pj + 1


def _pairs(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """The order-keeping matching of old to new paragraphs with the greatest total likeness,
    among pairs alike enough (likeness is only measured near the run's diagonal)."""
    k, m = len(old), len(new)
    if not k or not m or k * m > _MAX_PAIRINGS:
        return []
    a, b = [_shingles(p) for p in old], [_shingles(p) for p in new]
    band = (abs(k - m) + _BAND) * k
    best = [[0.0] * (m + 1) for _ in range(k + 1)]  # best[i][j]: for old[:i] and new[:j]
    for i in range(1, k + 1):
        for j in range(1, m + 1):
            score = max(best[i - 1][j], best[i][j - 1])
            if abs(j * k - i * m) <= band:
                likeness = _likeness(a[i - 1], b[j - 1])
                if likeness >= _ALIKE:
                    score = max(score, best[i - 1][j - 1] + likeness)
            best[i][j] = score
    pairs = []
    i, j = k, m
    while i and j:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        elif best[i][j] == best[i][j - 1]:
            j -= 1
        else:
            i, j = i - 1, j - 1
            pairs.append((i, j))
    return pairs[::-1]


def _shingles(paragraph: str) -> set[str | tuple[str, str]]:
    """Tokens and token pairs of the folded paragraph: a paragraph converted to the other
    script, or with 普丁 for 普京, is still alike its old version."""
    units = [t for t in tokens(fold(CONTROL.sub("", paragraph))) if not t.isspace()]
    return set(units) | set(pairwise(units))


def _likeness(a: set[Any], b: set[Any]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0


def _tokens_diff(old: str, new: str) -> list[Change]:
    if old == new:
        return [Change("equal", old)] if old else []
    if not old or not new:
        return [Change("insert", new) if new else Change("delete", old)]
    old_tokens, new_tokens = tokens(old), tokens(new)
    coded = _encode([old_tokens, new_tokens])
    if coded is None:  # more distinct tokens than there are code points
        return [Change("delete", old), Change("insert", new)]
    old_codes, new_codes = coded
    changes, i, j = [], 0, 0
    for op, codes in _unsplit(_diff_codes(old_codes, new_codes, semantic=True)):
        n = len(codes)
        if op == "=":
            changes.append(Change("equal", "".join(old_tokens[i : i + n])))
            i, j = i + n, j + n
        elif op == "-":
            changes.append(Change("delete", "".join(old_tokens[i : i + n])))
            i += n
        else:
            changes.append(Change("insert", "".join(new_tokens[j : j + n])))
            j += n
    return changes


def _encode(sequences: list[list[str]]) -> list[str] | None:
    """Each sequence as a string with one stand-in character per item (the same for equal
    items); None when there are more distinct items than stand-ins."""
    codes: dict[str, str] = {}
    out = []
    for sequence in sequences:
        for item in sequence:
            if item not in codes:
                code = _code(len(codes))
                if code is None:
                    return None
                codes[item] = code
        out.append("".join(codes[item] for item in sequence))
    return out


def _code(n: int) -> str | None:
    for start, stop in _CODE_RANGES:
        if n < stop - start:
            return chr(start + n)
        n -= stop - start
    return None


_DMP = diff_match_patch()
_DMP.Diff_Timeout = _TIME_LIMIT
_OPS = {0: "=", -1: "-", 1: "+"}


def _diff_codes(a: str, b: str, semantic: bool) -> list[tuple[str, str]]:
    """diff-match-patch's diff of two strings as ("=" | "-" | "+", text) operations, with the
    semantic cleanup for text a reader reads (not for paragraph alignment)."""
    diffs = _DMP.diff_main(a, b, checklines=False)
    if semantic:
        _DMP.diff_cleanupSemantic(diffs)
    return [(_OPS[op], text) for op, text in diffs]


def _unsplit(ops: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Undoes the semantic cleanup's overlap split where the shared part is no longer than
    the edits beside it: a replaced name, <ins>南</ins>韩<del>国</del>, reads better as
    <del>韩国</del><ins>南韩</ins>; a longer shared part (a sentence kept while the ones
    around it change) stays equal."""
    out: list[tuple[str, str]] = []
    for op in ops:
        out.append(op)
        if len(out) < 3:
            continue
        (a, x), (e, y), (b, z) = out[-3:]
        if e == "=" and {a, b} == {"-", "+"} and len(y) <= min(len(x), len(z)):
            old = (x if a == "-" else "") + y + (z if b == "-" else "")
            new = (x if a == "+" else "") + y + (z if b == "+" else "")
            out[-3:] = [("-", old), ("+", new)]
    return out


def _count(changes: list[Change], kind: Kind) -> int:
    return sum(1 for c in changes if c.kind == kind for t in tokens(c.text) if not t.isspace())


def _html(changes: tuple[Change, ...]) -> str:
    parts = []
    for change in changes:
        text = html.escape(CONTROL.sub("", change.text))
        tag = {"equal": "", "insert": "ins", "delete": "del"}[change.kind]
        parts.append(f"<{tag}>{text}</{tag}>" if tag else text)
    return "".join(parts)


def _rich(changes: tuple[Change, ...], style: str = "") -> Text:
    styles = {"equal": "", "insert": "green", "delete": "red strike"}
    out = Text(style=style)
    for change in changes:
        out.append(CONTROL.sub("", change.text), styles[change.kind])
    return out
