"""Checking site rules against their recorded sample pages (`newsvault rules test`)."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field

from newsvault.errors import NoArticle
from newsvault.extract.document import read_file
from newsvault.extract.extractor import Extraction, extract
from newsvault.extract.metadata import parse_date
from newsvault.extract.rules import Rule, RuleSet, Sample


@dataclass
class SampleResult:
    rule: Rule
    sample: Sample
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def check_rules(rules: RuleSet, host: str | None = None) -> list[SampleResult]:
    chosen = rules.for_host(host) if host else rules.rules
    return [check_sample(rules, rule, sample) for rule in chosen for sample in rule.samples]


def check_sample(rules: RuleSet, rule: Rule, sample: Sample) -> SampleResult:
    result = SampleResult(rule, sample)
    try:
        data = read_file(sample.file.read_bytes())
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        result.failures.append(f"sample file unreadable: {exc}")
        return result
    try:
        article = extract(data, sample.url, rules=rules)
    except NoArticle as exc:
        result.failures.append(str(exc))
        return result
    if article.rule != rule.path.name:
        result.failures.append(f"extracted with {article.rule or 'the generic extractor'}")
    result.failures += _differences(article, sample)
    return result


def _differences(article: Extraction, sample: Sample) -> list[str]:
    failures = []
    for name, expected in sample.expected.items():
        got = getattr(article, name)
        if name == "published":
            same = got == (parse_date(expected) if expected else None)
            shown = article.to_json()["published"]
        else:
            same = (got or "") == expected
            shown = got
        if not same:
            failures.append(f"{name}: expected {expected!r}, got {shown!r}")
    captions = [image["caption"] for image in article.images if image.get("caption")]
    if sample.captions is not None and captions != sample.captions:
        failures.append(f"captions: expected {sample.captions!r}, got {captions!r}")
    for text in sample.contains:
        if text not in article.text:
            failures.append(f"body lacks {text!r}")
    for text in sample.excludes:
        if text in article.text:
            failures.append(f"body holds {text!r}")
    return failures
