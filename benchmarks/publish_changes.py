"""Publishing a change beside publishing everything: in an archive of 100,000 articles (20
sources, the site and the markdown archive built), a change of 1 and of 100 new articles
published by the publishers told what changed (`publish_changes`), and the same number of new
articles published in full: `publish_markdown(only_missing=True)` (what `run` does) and
`build_site` (what `publish site` does; it too writes only the pages whose inputs changed).

The site publisher is timed as the `watch` daemon runs it, kept from one publish to the next
(it follows the site's manifest instead of reading it again), and new, as a command would run
it (reading the manifest of every page once).

    .venv/bin/python benchmarks/publish_changes.py [--articles 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ROOT, synthetic

sys.path.insert(0, str(ROOT))
from newsvault.archive import Archive
from newsvault.models import Article
from newsvault.publish.changes import Change
from newsvault.publish.markdown import publish_markdown
from newsvault.publish.publishers import MarkdownPublisher, SitePublisher, publish_changes
from newsvault.publish.site import build_site
from newsvault.store import Store

T0 = 1718800000000
SOURCES = 20
MINUTE = 60_000


class Newsroom:
    """Articles for the archive's sources, one a minute, round the sources in turn."""

    def __init__(self, store: Store, texts: list[tuple[str, str]]) -> None:
        self.store = store
        self.texts = iter(texts)
        self.serial = count()
        self.slugs = {store.ensure_source(f"s{n}", f"来源{n}"): f"s{n}" for n in range(SOURCES)}
        self.sources = list(self.slugs)

    def add(self, number: int) -> Change:
        """Store `number` new articles; the change they make."""
        per_source: dict[int, list[Article]] = {source: [] for source in self.sources}
        for _ in range(number):
            n = next(self.serial)
            title, text = next(self.texts)
            per_source[self.sources[n % SOURCES]].append(
                Article(
                    source="",
                    key=f"item-{n}",
                    url=f"https://news{n % SOURCES}.example/{n}.html",
                    title=title,
                    html="".join(f"<p>{s}。</p>" for s in text.split("。") if s),
                    text=text,
                    published=T0 + n * MINUTE,
                    fetched=T0,
                )
            )
        change = Change()
        for source, found in per_source.items():
            for start in range(0, len(found), 2000):
                stored = self.store.add_articles(source, found[start : start + 2000], None)
                for item in stored.new:
                    change.article(item.id, self.slugs[source])
        return change


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args()
    console = Console(width=120)
    table = Table(title=f"publishing new articles into an archive of {args.articles:,}")
    for column in ("new", "output", "publish_changes", "new publisher", "full", "full / change"):
        table.add_column(column, justify="left" if column == "output" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "news"
        archive = Archive.init(root, config_text="")
        store = archive.store()
        newsroom = Newsroom(store, synthetic(args.articles + 1000, seed=11))
        console.print(f"storing {args.articles:,} articles…")
        newsroom.add(args.articles)
        console.print("building the site and the markdown archive in full…")
        build_site(store, root, archive.settings, [])
        publish_markdown(store, root)
        markdown, site = MarkdownPublisher(root), SitePublisher(archive)
        publish_changes(store, newsroom.add(1), [markdown, site])  # the daemon's first publish
        for new in (1, 100):
            console.print(f"{new} new…")
            change = newsroom.add(new)
            warm_markdown = seconds(lambda c=change: markdown.publish(store, c))
            warm_site = seconds(lambda c=change: site.publish(store, c))
            change = newsroom.add(new)
            cold_site = seconds(lambda c=change: SitePublisher(archive).publish(store, c))
            newsroom.add(new)
            full_markdown = seconds(lambda: publish_markdown(store, root, only_missing=True))
            full_site = seconds(lambda: build_site(store, root, archive.settings, []))
            for output, ours, cold, full in (
                ("markdown", warm_markdown, None, full_markdown),
                ("site", warm_site, cold_site, full_site),
            ):
                table.add_row(
                    f"{new:,}",
                    output,
                    f"{ours:.3f}",
                    "" if cold is None else f"{cold:.3f}",
                    f"{full:.2f}",
                    f"{full / ours:,.0f}×",
                )
        store.close()
    console.print(table)
    console.print("seconds; `new publisher`: a SitePublisher made for this one publish")


if __name__ == "__main__":
    main()
