"""Extract: a page -> a clean article (title, author, published, origin, body, images)."""

from newsvault.extract.document import Page, leading_url, load_page, read_file
from newsvault.extract.extractor import Extraction, extract, shipped_rules
from newsvault.extract.rules import Rule, RuleSet

__all__ = [
    "Extraction",
    "Page",
    "Rule",
    "RuleSet",
    "extract",
    "leading_url",
    "load_page",
    "read_file",
    "shipped_rules",
]
