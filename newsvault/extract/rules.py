"""Site rules: one TOML file per site saying where its article is and what to throw away.

    name = "禁闻网"                      # the outlet's name
    slug = "bannedbook"                  # the source slug archived pages of this site go under
    hosts = ["bannedbook.org"]           # a host and its subdomains
    title = ["h2"]                       # CSS selectors, tried in order, for each field
    author = []
    published = []                       # text, or the element's datetime/content attribute
    origin = ["p.src-info"]
    body = ["div.entry"]                 # the article; several matches are joined in order
    remove = ["ul.op-related-articles"]  # dropped from the page before anything is read
    unwrap = ["a.st_tag"]                # replaced by their content (tag links in sentences)
    caption = ["center + p"]             # in the body: the caption of the image before it
    patterns = ['^作者[:：]\\s*(?P<author>.+)$']  # a body block matching one is taken out and
                                         # its named groups (author, origin, published) kept

    [[samples]]                          # recorded pages with what the rule must yield
    file = "samples/bannedbook-1.html.gz"
    url = "https://www.bannedbook.org/..."
    title = "..."                        # title, author, editor, origin, published: exact
    captions = ["..."]                   # captions the images must have, in order
    contains = ["..."]                   # text the body must hold
    excludes = ["..."]                   # text the body must not hold

Rules ship in the package (`newsvault/rules/`) and an archive may add its own in `rules/`;
an archive's rule for a host wins over the shipped one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
from cssselect import ExpressionError, HTMLTranslator, SelectorSyntaxError

from newsvault.errors import RuleError

PACKAGE_RULES = Path(__file__).resolve().parents[1] / "rules"
_SELECTOR_FIELDS = (
    "title", "author", "published", "origin", "body", "remove", "unwrap", "caption",
)  # fmt: skip
_SAMPLE_FIELDS = {
    "file", "url", "title", "author", "editor", "origin", "published", "contains", "excludes",
    "captions",
}  # fmt: skip
_EMPTY = lxml.html.fromstring("<div></div>")
_TRANSLATOR = HTMLTranslator()
_KEYS = {"name", "slug", "hosts", "patterns", "samples", *_SELECTOR_FIELDS}


@dataclass
class Sample:
    file: Path
    url: str
    expected: dict[str, Any]
    contains: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    captions: list[str] | None = None


@dataclass
class Rule:
    name: str
    slug: str
    hosts: list[str]
    path: Path
    selectors: dict[str, list[str]]  # CSS selectors translated to XPath
    patterns: list[re.Pattern[str]]
    samples: list[Sample]

    def select(self, name: str, tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
        """Every element the first matching selector of field `name` finds."""
        for selector in self.selectors[name]:
            found = tree.xpath(selector)
            if found:
                return found
        return []


def load_rule(path: Path) -> Rule:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleError(f"{path}: not a readable rule file ({exc})") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise RuleError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    hosts = [h.lower().strip(".") for h in _strings(data, "hosts", path)]
    if not hosts:
        raise RuleError(f"{path}: hosts = [...] must name at least one host")
    selectors = {name: _selectors(data, name, path) for name in _SELECTOR_FIELDS}
    patterns = []
    for pattern in _strings(data, "patterns", path):
        try:
            patterns.append(re.compile(pattern))
        except re.error as exc:
            raise RuleError(f"{path}: bad pattern {pattern!r} ({exc})") from None
    return Rule(
        name=str(data.get("name") or hosts[0]),
        slug=str(data.get("slug") or path.stem),
        hosts=hosts,
        path=path,
        selectors=selectors,
        patterns=patterns,
        samples=[_sample(s, path) for s in data.get("samples", [])],
    )


def _strings(data: dict[str, Any], key: str, path: Path) -> list[str]:
    value = data.get(key, [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{path}: {key} must be a string or a list of strings")
    return value


def _selectors(data: dict[str, Any], key: str, path: Path) -> list[str]:
    # Kept as XPath text, evaluated with element.xpath(): compiled lxml XPath objects reused
    # across many documents corrupted memory here (garbage in later errors and results).
    compiled = []
    for selector in _strings(data, key, path):
        try:
            compiled.append(_TRANSLATOR.css_to_xpath(selector))
            _EMPTY.xpath(compiled[-1])  # some selectors become XPath that lxml cannot run
        except (SelectorSyntaxError, ExpressionError, lxml.etree.XPathError) as exc:
            raise RuleError(f"{path}: bad CSS selector {selector!r} in {key} ({exc})") from None
    return compiled


def _sample(data: dict[str, Any], path: Path) -> Sample:
    unknown = sorted(set(data) - _SAMPLE_FIELDS)
    if unknown or "file" not in data or "url" not in data:
        raise RuleError(
            f"{path}: each [[samples]] needs file and url, and knows only {_SAMPLE_FIELDS}"
        )
    expected: dict[str, Any] = {
        k: data[k] for k in ("title", "author", "editor", "origin", "published") if k in data
    }
    return Sample(
        file=path.parent / data["file"],
        url=data["url"],
        expected=expected,
        contains=list(data.get("contains", [])),
        excludes=list(data.get("excludes", [])),
        captions=list(data["captions"]) if "captions" in data else None,
    )


class RuleSet:
    """Rules by host; the most specific host wins, and earlier folders win over later ones."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._by_host: dict[str, Rule] = {}
        for rule in rules:
            for host in rule.hosts:
                self._by_host.setdefault(host, rule)

    @classmethod
    def load(cls, *folders: Path) -> RuleSet:
        rules = []
        for folder in folders:
            if folder.is_dir():
                rules += [load_rule(path) for path in sorted(folder.glob("*.toml"))]
        return cls(rules)

    @classmethod
    def shipped(cls) -> RuleSet:
        return cls.load(PACKAGE_RULES)

    def match(self, url: str) -> Rule | None:
        host = (urlsplit(url).hostname or "").lower()
        while host:
            if host in self._by_host:
                return self._by_host[host]
            host = host.partition(".")[2]
        return None

    def for_host(self, host: str) -> list[Rule]:
        host = host.lower()
        return [r for r in self.rules if any(host == h or host.endswith("." + h) for h in r.hosts)]
