"""The static site brought up to date with a change, rewriting only the pages that show it.

For a `Change` (publish/changes.py), the pages evaluated are:

- the page of each of its articles (new, newly versioned, or whose status changed), and the
  versions page of an edited one;
- the pages of the stories those articles are in, and the pages of the other articles of
  those stories (each lists the others);
- for the articles new to the site: their sources' index pages and the pages of 100 they are
  listed on (with the neighbours of a page that is new: their links change), their days'
  pages, and the feeds of their sources; the feeds showing an article of the change;
- deleted/ and edited/ with their feeds, when a status changed or an article shown there is
  in the change;
- always: days/index.html, stories/index.html, index.html and feeds/all.atom.

Each page is named with its digest as a full build names it, and one whose digest did not
change is not rendered again, so the files are the ones a full build would write. What those
pages show of the rest of the archive (articles per day and per source, each source's pages
and feed, the newest stories, the deleted and edited counts) comes from site/.state.json,
which every full build writes and every update brings up to date; what was written is added
to the manifest's log. Without a state (a site built by an earlier version), or when the
site's settings or a source's name or image policy changed since, the update is a full build.

What is not a change: an article removed by an administrator (the web app builds the whole
site then). An article whose image was mirrored since it was published is one (the watcher's
image jobs say so): its page, and the feeds showing it, are made again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from newsvault.publish.changes import Change
from newsvault.publish.images import MirroredImages
from newsvault.publish.site import (
    FEED_SIZE,
    HOME_STORIES,
    LATEST,
    PAGE_SIZE,
    STATE,
    STORY_LIST,
    Row,
    SiteBuilder,
    SiteReport,
    SiteState,
    StoryPage,
    Told,
    article_path,
    bucket_numbers,
    bucket_of,
    day_of,
    day_span,
    neighbours,
    newest_first,
)


class SiteUpdate(SiteBuilder):
    full_build = False  # whether `update` had to build the whole site

    def update(self, change: Change) -> SiteReport:
        self.out.mkdir(parents=True, exist_ok=True)
        self._old = self.manifest.read()
        self.names = self._names()
        state = self._state_now()
        if state is None:
            self.full_build = True
            return self.build()
        self.mirror = MirroredImages(self.store.media)  # type: ignore[assignment]
        rows = self.listings.by_ids(change.articles | change.statuses)
        new = [r for r in rows if r.id in change.articles and article_path(r) not in self._old]
        in_stories = {r.story_id for r in rows if r.story_id is not None}
        told = self._told(self.listings.story_members(in_stories))
        shown = {r.id: r for r in rows}
        for story in told.values():
            shown.update((r.id, r) for r in story.articles)
        by_id = self._with_originals(shown)
        self.watched = self.store.watch.summaries(shown)
        self.report.articles = len(shown)
        self._static_files()
        self._article_pages(sorted(shown.values(), key=newest_first), by_id, told, None)
        self._version_pages(rows)
        feeds = self._sources_of(new, state)
        self._feeds_showing(rows, feeds, state)
        self._days_of(new, state)
        self._story_pages(told, state)
        state.stories = _merged(state.stories, told)
        self._stories_index(state.stories)
        if change.statuses or any(r.id in self.watched for r in rows):
            state.watch = self._watch_lists(by_id)
        latest = self.listings.latest(max(LATEST, FEED_SIZE))
        counts = {slug: shown_of.count for slug, shown_of in state.sources.items()}
        self._home(latest[:LATEST], state.stories[:HOME_STORIES], counts, state.watch)
        self._write_feeds(feeds, latest[:FEED_SIZE])
        self._write_state(state)
        self.manifest.update({p: d for p, d in self._new.items() if self._old.get(p) != d})
        return self.report

    def _days_of(self, new: list[Row], state: SiteState) -> None:
        """The pages of the days of `new` articles (with the days before and after a day new
        to the site: their links change) and the index of days; their counts in `state`."""
        touched = {day_of(r.published) for r in new}
        fresh = touched - set(state.days)
        days = sorted(set(state.days) | touched)
        pages = set(touched)
        for day in fresh:
            pages |= {near for near in neighbours(days, day) if near is not None}
        for day in sorted(pages):
            items = self.listings.published_between(*day_span(day))
            self._day(day, items, days)
            state.days[day] = len(items)
        self._days_index(state.days)

    def _story_pages(self, told: dict[int, StoryPage], state: SiteState) -> None:
        """The pages of the stories `told` (those the change touched), with the stories
        before and after one that is new to the site: their links change."""
        ids = sorted(set(state.told) | set(told))
        fresh = set(told) - set(state.told)
        nearby = {near for sid in fresh for near in neighbours(ids, sid) if near is not None}
        others = self._told(self.listings.story_members(nearby - set(told)))
        for story in [*told.values(), *others.values()]:
            self._story_page(story, neighbours(ids, story.id))
        state.told = ids

    def _state_now(self) -> SiteState | None:
        """The site's state, if the pages were made as they would be now."""
        if STATE not in self._old:
            return None
        try:
            state = SiteState.from_json((self.out / STATE).read_text(encoding="utf-8"))
        except OSError:
            return None
        if state is None or state.config != self.config():
            return None
        for slug, shown in state.sources.items():
            now = (self.names.get(slug, slug), self.images.policy(slug))
            if (shown.name, shown.images, shown.timezone) != (*now, self.timezones.get(slug)):
                return None
        return state

    def _with_originals(self, shown: dict[int, Row]) -> dict[int, Row]:
        """`shown` with the articles those of it are copies of."""
        by_id = dict(shown)
        wanted = {r.copy_of for r in shown.values() if r.copy_of and r.copy_of not in by_id}
        by_id.update((r.id, r) for r in self.listings.by_ids(wanted))
        return by_id

    def _sources_of(self, new: list[Row], state: SiteState) -> dict[str, list[Row]]:
        """The pages of the sources of `new` articles, their counts and feeds in `state`;
        returns each one's feed."""
        by_source: defaultdict[str, list[Row]] = defaultdict(list)
        for row in new:
            by_source[row.source].append(row)
        totals = self.listings.totals(by_source)
        feeds: dict[str, list[Row]] = {}
        for slug, added in sorted(by_source.items()):
            before = state.sources.get(slug)
            known = set(before.buckets) if before else set()
            touched = {bucket_of(row.number) for row in added}
            buckets = known | touched
            pages = set(touched)
            for bucket in touched - known:  # a new page: its neighbours link to it
                pages |= {bucket - 1, bucket + 1} & buckets
            listed = {b: self.listings.numbered(slug, *bucket_numbers(b)) for b in sorted(pages)}
            self._source(slug, buckets, listed, self.listings.newest_numbered(slug, PAGE_SIZE))
            feed = {r.id: r for r in self.listings.by_ids(before.feed if before else [])}
            feed.update((r.id, r) for r in added)
            feeds[slug] = sorted(feed.values(), key=newest_first)[:FEED_SIZE]
            count = totals.get(slug, 0) - state.removed.get(slug, 0)
            state.sources[slug] = self._shown(slug, count, buckets, feeds[slug])
        return feeds

    def _feeds_showing(
        self, rows: list[Row], feeds: dict[str, list[Row]], state: SiteState
    ) -> None:
        """Add to `feeds` those of sources with no new article that show one of `rows` (an
        article edited, or with an image mirrored since it was published)."""
        for slug in sorted({r.source for r in rows} - set(feeds)):
            shown = state.sources.get(slug)
            if shown and {r.id for r in rows if r.source == slug} & set(shown.feed):
                feeds[slug] = sorted(self.listings.by_ids(shown.feed), key=newest_first)

    def _watch_lists(self, by_id: dict[int, Row]) -> dict[str, int]:
        """deleted/ and edited/ with their feeds, from every article re-checks told of."""
        self.watched = self.store.watch.summaries(self.listings.watched_ids())
        by_id.update((r.id, r) for r in self.listings.by_ids(set(self.watched) - set(by_id)))
        return self._watch_pages(by_id)


def _merged(newest: Iterable[Told], told: dict[int, StoryPage]) -> list[Told]:
    """The newest stories, with these as they are now (a story is only ever seen later)."""
    stories = {story.id: story for story in newest}
    stories.update((story_id, story.summary) for story_id, story in told.items())
    return sorted(stories.values(), key=lambda s: (-s.last_seen, -s.id))[:STORY_LIST]
