"""The database schema: append-only migrations, and the tables as SQLAlchemy Core objects.

A migration, once released, is never edited: a new one is appended. The schema version is
the number of migrations applied (`schema_version` table). `tests/test_store.py` checks that
the tables below match what the migrations build.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

# `{pk}` becomes the dialect's auto-incrementing integer key.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE sources (
            id {pk},
            slug TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            url TEXT NOT NULL DEFAULT '',
            list_name TEXT,
            etag TEXT,
            last_modified TEXT,
            last_fetched BIGINT,
            last_success BIGINT,
            last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE captures (
            id {pk},
            url TEXT NOT NULL,
            status INTEGER NOT NULL,
            content_type TEXT,
            digest TEXT NOT NULL,
            warc_file TEXT NOT NULL,
            warc_offset BIGINT NOT NULL,
            warc_length BIGINT NOT NULL,
            fetched BIGINT NOT NULL
        )""",
        "CREATE INDEX captures_url_digest ON captures (url, digest)",
        """CREATE TABLE articles (
            id {pk},
            source_id INTEGER NOT NULL REFERENCES sources (id),
            number INTEGER NOT NULL,
            key TEXT NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            author TEXT,
            origin TEXT,
            lang TEXT,
            published BIGINT NOT NULL,
            fetched BIGINT NOT NULL,
            html TEXT NOT NULL,
            text TEXT NOT NULL,
            images TEXT NOT NULL DEFAULT '[]',
            capture_id INTEGER REFERENCES captures (id),
            content_hash TEXT NOT NULL,
            UNIQUE (source_id, key),
            UNIQUE (source_id, number)
        )""",
        "CREATE INDEX articles_source_url ON articles (source_id, url)",
        """CREATE TABLE versions (
            id {pk},
            article_id INTEGER NOT NULL REFERENCES articles (id),
            seen BIGINT NOT NULL,
            title TEXT NOT NULL,
            html TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            capture_id INTEGER REFERENCES captures (id),
            UNIQUE (article_id, content_hash)
        )""",
    ],
    [
        # Every page archived on request or for a feed item's full text, and what came of it.
        """CREATE TABLE pages (
            id {pk},
            url TEXT NOT NULL,
            capture_id INTEGER REFERENCES captures (id),
            article_id INTEGER REFERENCES articles (id),
            outcome TEXT NOT NULL,
            seen BIGINT NOT NULL
        )""",
        "CREATE INDEX pages_url ON pages (url)",
    ],
    [
        # Stories: near-duplicates (copy_of), story clusters, the search index.
        "ALTER TABLE articles ADD COLUMN copy_of INTEGER REFERENCES articles (id)",
        "ALTER TABLE articles ADD COLUMN story_id INTEGER",
        "ALTER TABLE articles ADD COLUMN grouped INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX articles_grouped ON articles (grouped)",
        """CREATE TABLE stories (
            id {pk},
            title TEXT NOT NULL,
            first_article INTEGER NOT NULL REFERENCES articles (id),
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            size INTEGER NOT NULL
        )""",
        "CREATE INDEX stories_last_seen ON stories (last_seen)",
        """CREATE TABLE story_terms (
            term TEXT NOT NULL,
            story_id INTEGER NOT NULL REFERENCES stories (id),
            PRIMARY KEY (term, story_id)
        )""",
        """CREATE TABLE minhash_bands (
            band INTEGER NOT NULL,
            hash BIGINT NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles (id)
        )""",
        "CREATE INDEX minhash_bands_hash ON minhash_bands (hash)",
        """CREATE TABLE term_df (
            term TEXT PRIMARY KEY,
            n INTEGER NOT NULL
        )""",
        "sqlite" + "::" + "CREATE VIRTUAL TABLE search USING fts5(title, body, "
        "tokenize = 'unicode61 remove_diacritics 0')",
    ],
    [
        # An article taken down by an administrator stays in the database (and its capture in
        # captures/) but is no longer published.
        "ALTER TABLE articles ADD COLUMN removed BIGINT",
        "CREATE INDEX articles_published ON articles (published)",  # the newest, everywhere
        # a submitted URL is looked up in every source at once
        "CREATE INDEX articles_url ON articles (url)",
        "CREATE INDEX articles_key ON articles (key)",
        """CREATE TABLE media (
            url TEXT PRIMARY KEY,
            digest TEXT,
            mime TEXT,
            size INTEGER,
            outcome TEXT NOT NULL,
            fetched BIGINT NOT NULL
        )""",
        """CREATE TABLE submissions (
            id {pk},
            url TEXT NOT NULL,
            client TEXT NOT NULL,
            status TEXT NOT NULL,
            article_id INTEGER REFERENCES articles (id),
            message TEXT,
            created BIGINT NOT NULL,
            updated BIGINT NOT NULL
        )""",
        "CREATE INDEX submissions_status ON submissions (status)",
    ],
    [
        # What the last successful poll of a source could not take: skipped items, items
        # left for the next poll.
        "ALTER TABLE sources ADD COLUMN note TEXT",
    ],
    [
        # The jobs stage: every unit of work is a row, taken by a worker under a lease.
        """CREATE TABLE jobs (
            id {pk},
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            due BIGINT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            lease_owner TEXT,
            lease_until BIGINT,
            created BIGINT NOT NULL,
            finished BIGINT,
            UNIQUE (kind, target)
        )""",
        "CREATE INDEX jobs_due ON jobs (finished, due)",
        # The feed's own content hash of an item, apart from the stored content, which may
        # come from the item's page: feed items are compared with feed items.
        "ALTER TABLE articles ADD COLUMN feed_hash TEXT",
    ],
    [
        # Re-checks: what the last look at an article's page found, and every change of it.
        """CREATE TABLE article_status (
            article_id INTEGER PRIMARY KEY REFERENCES articles (id),
            status TEXT NOT NULL,
            reason TEXT,
            last_seen BIGINT,
            gone_since BIGINT,
            checked BIGINT NOT NULL,
            checks INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            capture_id INTEGER REFERENCES captures (id),
            etag TEXT,
            last_modified TEXT
        )""",
        "CREATE INDEX article_status_status ON article_status (status, gone_since)",
        """CREATE TABLE status_events (
            id {pk},
            article_id INTEGER NOT NULL REFERENCES articles (id),
            at BIGINT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT
        )""",
        "CREATE INDEX status_events_article ON status_events (article_id)",
        # a version is an edit (counted) or the first look at the page of an article whose
        # text came from its feed (not counted: the baseline pages are compared with)
        "ALTER TABLE versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'feed'",
        "ALTER TABLE versions ADD COLUMN counted INTEGER NOT NULL DEFAULT 1",
        # every archived article is re-checked, the first time an hour after it was archived
        "INSERT INTO jobs (kind, target, due, created) "
        "SELECT 'recheck', CAST(id AS TEXT), fetched + 3600000, fetched FROM articles",
    ],
    [
        # Extraction health: per source and check (rule_missed, extraction_failed,
        # silent_feed), the bad outcomes in a row, since when, and the last bad and good.
        """CREATE TABLE health (
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            bad INTEGER NOT NULL DEFAULT 0,
            since BIGINT,
            last_bad BIGINT,
            last_good BIGINT,
            detail TEXT,
            PRIMARY KEY (source, kind)
        )""",
    ],
    [
        # A copy recovered from a web archive is a version that says where it came from (the
        # archive, the copy's address there) and when the archive captured it.
        "ALTER TABLE versions ADD COLUMN recovered_from TEXT",
        "ALTER TABLE versions ADD COLUMN recovered_url TEXT",
        "ALTER TABLE versions ADD COLUMN recovered_at BIGINT",
        # Save Page Now: each article archived since saving began, asked for once per web
        # archive (a "start" row marks where that was), and what came of it.
        """CREATE TABLE saves (
            id {pk},
            service TEXT NOT NULL,
            article_id INTEGER NOT NULL,
            url TEXT NOT NULL,
            state TEXT NOT NULL,
            job_id TEXT,
            snapshot TEXT,
            message TEXT,
            requested BIGINT NOT NULL,
            updated BIGINT NOT NULL,
            UNIQUE (service, article_id)
        )""",
        # Intake: the issues of a repository answered, and each URL taken from them; every
        # step is written down before and after it is taken, so none is taken twice.
        """CREATE TABLE intake_issues (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            state TEXT NOT NULL,
            author TEXT,
            comment_id BIGINT,
            labels TEXT,
            created BIGINT NOT NULL,
            updated BIGINT NOT NULL,
            PRIMARY KEY (repo, number)
        )""",
        """CREATE TABLE intake_urls (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            position INTEGER NOT NULL,
            url TEXT NOT NULL,
            state TEXT NOT NULL,
            submission_id INTEGER REFERENCES submissions (id),
            article_id INTEGER REFERENCES articles (id),
            message TEXT,
            PRIMARY KEY (repo, number, position)
        )""",
        "CREATE INDEX intake_urls_url ON intake_urls (url, state)",
        "CREATE INDEX submissions_client ON submissions (client, url)",
    ],
    [
        # The editor and the photographers a page names, apart from its author (an image's
        # photographer is kept with the image, in images).
        "ALTER TABLE articles ADD COLUMN editor TEXT",
        "ALTER TABLE articles ADD COLUMN photographer TEXT",
    ],
    [
        # Search on PostgreSQL (store/search.py): each article's index tokens and a tsvector
        # of them; articles grouped before it (state 3) are indexed by the next stories pass.
        """postgresql::CREATE TABLE search (
            id BIGINT PRIMARY KEY REFERENCES articles (id),
            source_id INTEGER NOT NULL,
            published BIGINT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            doc TSVECTOR NOT NULL
        )""",
        "postgresql::CREATE INDEX search_doc ON search USING gin (doc)",
        "postgresql::UPDATE articles SET grouped = 3 WHERE grouped = 1",
    ],
    [
        # The lowest and highest article id published in each hour (store/search.py): a
        # search within a time span walks only the ids that can hold it.
        """CREATE TABLE published_hours (
            hour BIGINT PRIMARY KEY,
            first_id BIGINT NOT NULL,
            last_id BIGINT NOT NULL
        )""",
        "INSERT INTO published_hours (hour, first_id, last_id) "
        "SELECT published / 3600000, MIN(id), MAX(id) FROM articles GROUP BY published / 3600000",
    ],
    [
        # What a search checks of each match, in a few index pages instead of each match's
        # row (its text and HTML): a filtered search reads thousands (store/search.py).
        "sqlite::CREATE INDEX articles_found ON articles (id, removed, source_id, published)",
    ],
]
ONLY_ON = "::"  # "sqlite::CREATE ..." runs on SQLite only

PRIMARY_KEYS = {"sqlite": "INTEGER PRIMARY KEY", "postgresql": "BIGSERIAL PRIMARY KEY"}

metadata = MetaData()

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("list_name", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetched", BigInteger),
    Column("last_success", BigInteger),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False),
    Column("note", Text),
)

captures = Table(
    "captures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("content_type", Text),
    Column("digest", Text, nullable=False),
    Column("warc_file", Text, nullable=False),
    Column("warc_offset", BigInteger, nullable=False),
    Column("warc_length", BigInteger, nullable=False),
    Column("fetched", BigInteger, nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("origin", Text),
    Column("lang", Text),
    Column("published", BigInteger, nullable=False),
    Column("fetched", BigInteger, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("images", Text, nullable=False),
    Column("capture_id", Integer, ForeignKey("captures.id")),
    Column("content_hash", Text, nullable=False),
    Column("copy_of", Integer, ForeignKey("articles.id")),
    Column("story_id", Integer),
    Column("grouped", Integer, nullable=False, server_default="0"),
    Column("removed", BigInteger),
    Column("feed_hash", Text),
    Column("editor", Text),
    Column("photographer", Text),
    UniqueConstraint("source_id", "key"),
    UniqueConstraint("source_id", "number"),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False),
    Column("seen", BigInteger, nullable=False),
    Column("title", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("capture_id", Integer, ForeignKey("captures.id")),
    Column("origin", Text, nullable=False, server_default="feed"),
    Column("counted", Integer, nullable=False, server_default="1"),
    Column("recovered_from", Text),
    Column("recovered_url", Text),
    Column("recovered_at", BigInteger),
    UniqueConstraint("article_id", "content_hash"),
)

pages = Table(
    "pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("capture_id", Integer, ForeignKey("captures.id")),
    Column("article_id", Integer, ForeignKey("articles.id")),
    Column("outcome", Text, nullable=False),
    Column("seen", BigInteger, nullable=False),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("first_article", Integer, ForeignKey("articles.id"), nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),
)

story_terms = Table(
    "story_terms",
    metadata,
    Column("term", Text, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id"), primary_key=True),
)

minhash_bands = Table(
    "minhash_bands",
    metadata,
    Column("band", Integer, nullable=False),
    Column("hash", BigInteger, nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False),
)

term_df = Table(
    "term_df",
    metadata,
    Column("term", Text, primary_key=True),
    Column("n", Integer, nullable=False),
)

media = Table(
    "media",
    metadata,
    Column("url", Text, primary_key=True),
    Column("digest", Text),
    Column("mime", Text),
    Column("size", Integer),
    Column("outcome", Text, nullable=False),
    Column("fetched", BigInteger, nullable=False),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("client", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id")),
    Column("message", Text),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("due", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("lease_owner", Text),
    Column("lease_until", BigInteger),
    Column("created", BigInteger, nullable=False),
    Column("finished", BigInteger),
    UniqueConstraint("kind", "target"),
)

article_status = Table(
    "article_status",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id"), primary_key=True),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("last_seen", BigInteger),
    Column("gone_since", BigInteger),
    Column("checked", BigInteger, nullable=False),
    Column("checks", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("capture_id", Integer, ForeignKey("captures.id")),
    Column("etag", Text),
    Column("last_modified", Text),
)

status_events = Table(
    "status_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
)


health = Table(
    "health",
    metadata,
    Column("source", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("bad", Integer, nullable=False, server_default="0"),
    Column("since", BigInteger),
    Column("last_bad", BigInteger),
    Column("last_good", BigInteger),
    Column("detail", Text),
)

saves = Table(
    "saves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("service", Text, nullable=False),
    Column("article_id", Integer, nullable=False),
    Column("url", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("job_id", Text),
    Column("snapshot", Text),
    Column("message", Text),
    Column("requested", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("service", "article_id"),
)

intake_issues = Table(
    "intake_issues",
    metadata,
    Column("repo", Text, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("state", Text, nullable=False),
    Column("author", Text),
    Column("comment_id", BigInteger),
    Column("labels", Text),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

intake_urls = Table(
    "intake_urls",
    metadata,
    Column("repo", Text, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("submission_id", Integer, ForeignKey("submissions.id")),
    Column("article_id", Integer, ForeignKey("articles.id")),
    Column("message", Text),
)

published_hours = Table(
    "published_hours",
    metadata,
    Column("hour", BigInteger, primary_key=True),
    Column("first_id", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
)
