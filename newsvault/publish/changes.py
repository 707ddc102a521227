"""What a batch of work changed, told to the publishers so that they bring their output up to
date at a cost that grows with the change, not with the archive."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Change:
    """Articles that are new or got a new version (`articles`), articles whose watch status
    changed (`statuses`: gone, back, unreachable), and the sources those belong to."""

    articles: set[int] = field(default_factory=set)
    statuses: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    def article(self, article_id: int | None, source: str) -> None:
        if article_id is not None:
            self.articles.add(article_id)
            self.sources.add(source)

    def status(self, article_id: int, source: str) -> None:
        self.statuses.add(article_id)
        self.sources.add(source)

    def merge(self, other: Change) -> None:
        self.articles |= other.articles
        self.statuses |= other.statuses
        self.sources |= other.sources

    def __bool__(self) -> bool:
        return bool(self.articles or self.statuses)
