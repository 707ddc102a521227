"""Folding text for matching: one script, one width, one name for each variant.

Search and story matching compare folded text; what is archived and shown is never folded.
Traditional script becomes simplified (OpenCC t2s), full-width forms become half-width and
case is folded (NFKC + casefold), then the variants table (`variants.toml`) maps 普丁 and 蒲亭
to 普京, 川普 to 特朗普, 北韩 to 朝鲜, ... so that each name is one token sequence.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from pathlib import Path

from newsvault.normalize import chinese_converter

VARIANTS = Path(__file__).with_name("variants.toml")
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Runs of Chinese characters, and runs of other letters and digits: (Chinese, other)
TOKEN_KINDS = re.compile(rf"([{CJK}]+)|([^\W{CJK}_]+)")


@cache
def variant_groups() -> list[list[str]]:
    data = tomllib.loads(VARIANTS.read_text(encoding="utf-8"))
    return [[_base(name) for name in group] for group in data["groups"]]


@cache
def _variants() -> tuple[re.Pattern[str], dict[str, str]]:
    canonical = {name: group[0] for group in variant_groups() for name in group[1:]}
    names = sorted(canonical, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names)), canonical


def _base(text: str) -> str:
    return chinese_converter("t2s").convert(unicodedata.normalize("NFKC", text)).casefold()


def fold(text: str) -> str:
    pattern, canonical = _variants()
    return pattern.sub(lambda m: canonical[m.group()], _base(text))


def tokens(folded: str) -> list[str]:
    """Index tokens of folded text: overlapping character pairs for Chinese (so a
    two-character word is a token and a longer one a phrase of tokens), words otherwise."""
    out: list[str] = []
    for chinese, other in TOKEN_KINDS.findall(folded):
        if len(chinese) > 1:
            out.extend(map(str.__add__, chinese, chinese[1:]))
        else:
            out.append(chinese or other)
    return out


def surface_forms(query: str) -> set[str]:
    """The ways a query may be written in archived text: as typed, in either script, and
    every variant of the names it contains (for highlighting matches in the original)."""
    folded = fold(query)
    traditional = chinese_converter("s2t").convert
    forms = {query, folded, traditional(folded)}
    for group in variant_groups():
        if group[0] in folded:
            for name in group:
                forms |= {name, traditional(name)}
    return {f for f in forms if f.strip()}
