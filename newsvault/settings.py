"""Settings: one typed table. Each setting lives in newsvault.toml as `section.key`, may be
overridden by an environment variable, and is documented here (README lists them all;
tests/test_settings.py keeps the two in step)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from newsvault.errors import ArchiveError
from newsvault.fetch.client import USER_AGENT, FetchOptions


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    help: str
    env: str | None = None
    choices: tuple[str, ...] = ()  # the values a text setting may take, when few

    @property
    def kind(self) -> type:
        return type(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database",
        "",
        "The archive's database, at the top of newsvault.toml: a PostgreSQL URL "
        "(postgresql://USER@HOST/NAME); empty: SQLite, newsvault.db in the archive.",
        env="NEWSVAULT_DATABASE",
    ),
    Setting("fetch.timeout", 30.0, "Deadline in seconds for one response, body included."),
    Setting("fetch.connect_timeout", 10.0, "Seconds to wait for a TCP/TLS connection."),
    Setting("fetch.max_bytes", 15_000_000, "Largest body read, before and after decompression."),
    Setting("fetch.max_redirects", 5, "Redirects followed before giving up."),
    Setting("fetch.retries", 2, "Retries after a network error, timeout or 5xx/429."),
    Setting(
        "fetch.backoff",
        1.0,
        "Seconds before the first retry; doubles each time. A 429 or 503 with Retry-After "
        "waits what it asks, up to 120 s (longer: not retried).",
    ),
    Setting("fetch.concurrency", 16, "Requests in flight at once."),
    Setting("fetch.per_host", 2, "Requests in flight at once to one host."),
    Setting(
        "fetch.host_delay",
        1.0,
        "Least seconds between the starts of two requests to one host (a robots.txt "
        "Crawl-delay, up to 60 s, where longer).",
    ),
    Setting(
        "fetch.respect_robots",
        True,
        "Honour robots.txt (token newsvault): a URL it disallows is not fetched, but for URLs "
        "submitted by a person (newsvault archive, the web form).",
    ),
    Setting(
        "fetch.max_items",
        1000,
        "Items taken from one feed document per poll, newest first; the rest wait for the "
        "next poll.",
    ),
    Setting("fetch.user_agent", USER_AGENT, "The User-Agent header sent."),
    Setting(
        "fetch.allow_private_networks",
        False,
        "Allow private, loopback and link-local addresses (off: SSRF guard).",
        env="NEWSVAULT_ALLOW_PRIVATE_NETWORKS",
    ),
    Setting(
        "fetch.allowed_addresses",
        [],
        "Exact addresses allowed even where private ones are refused (one intranet host, "
        "or 127.0.0.1 for tests); the guard still refuses every other private address, for "
        "fetches and submitted URLs alike.",
    ),
    Setting("captures.rotate_bytes", 1_000_000_000, "Start a new WARC file past this size."),
    Setting(
        "captures.compression",
        "fast",
        "How the WARC records are compressed (standard gzip, each record its own member): "
        "fast (ISA-L at level 2: a tenth of zlib's CPU, files 15% larger) or small (zlib-ng "
        "at 6: half of zlib's CPU, zlib's size).",
        choices=("fast", "small"),
    ),
    Setting(
        "captures.directory",
        "",
        "Where the capture files (WARC) are kept: a directory, absolute or relative to the "
        "archive; empty: captures/ in the archive. Workers on several machines may share one.",
        env="NEWSVAULT_CAPTURES",
    ),
    Setting("publish.list_size", 300, "Articles on each lists/<name>.md page."),
    Setting(
        "publish.image_proxy",
        "https://images.weserv.nl?url=${href_ue}",
        'Template for sources with images = "proxy": ${href} is the image URL, '
        "${href_ue} the same URL-encoded.",
    ),
    Setting(
        "publish.media_max_bytes",
        10_000_000,
        "Largest image mirrored into media/; a larger one keeps its original URL.",
    ),
    Setting("publish.git.remotes", [], "Git remotes `publish git` pushes to (paths or URLs)."),
    Setting("publish.git.branch", "main", "The branch `publish git` commits to and pushes."),
    Setting("publish.git.site", False, "Commit site/ too, not only articles/ and lists/."),
    Setting(
        "site.language",
        "zh",
        "Interface language of the site and the web app: zh (Simplified Chinese), zh-Hant "
        "(Traditional Chinese) or en.",
    ),
    Setting(
        "watch.interval",
        "30m",
        "How often `watch` polls a source's feed (s, m, h, d); a source's own `interval` "
        "in its [[sources]] table overrides it.",
    ),
    Setting(
        "watch.max_interval",
        "6h",
        "The longest `watch` waits between polls of a source while it backs off: the wait "
        "doubles after each failed poll and each poll that brings nothing new.",
    ),
    Setting("watch.workers", 8, "Jobs `watch` runs at once (polls, re-checks, submissions)."),
    Setting(
        "watch.lease",
        "10m",
        "How long a job stays with the `watch` or `worker` process that took it: one whose "
        "process died is taken again by another once this is over (s, m, h, d).",
    ),
    Setting(
        "watch.recheck",
        ["1h", "6h", "1d", "3d", "7d", "30d"],
        "When each archived article is re-checked, counted from when it was archived "
        "(s, m, h, d); after the last, no more.",
    ),
    Setting(
        "watch.health_misses",
        3,
        "Pages in a row whose site rule missed (the generic extractor ran instead) before "
        "`status` and `sources list` say the rule no longer matches.",
    ),
    Setting(
        "watch.health_failures",
        5,
        "Pages in a row of one source that held no article, with none extracted between, "
        "before `status` and `sources list` say its extraction fails.",
    ),
    Setting(
        "watch.silent_after",
        "3d",
        "A feed that answers but brings no new item for this long (s, m, h, d) is reported "
        "as silent.",
    ),
    Setting("site.title", "newsvault", "The site's name, shown on every page and feed."),
    Setting("site.base_url", "", "Absolute URL the site is served from (for feed links)."),
    Setting(
        "serve.admin_token",
        "",
        "Token for administrative API calls (removing articles, editing sources); empty: none.",
        env="NEWSVAULT_ADMIN_TOKEN",
    ),
    Setting("serve.submissions_per_minute", 6, "URL submissions one client may make a minute."),
    Setting(
        "serve.trusted_proxies",
        [],
        "Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed.",
    ),
    Setting("serve.queue_max", 100, "Submissions queued or running at once; beyond: 503."),
    Setting("serve.max_body_bytes", 1_048_576, "Largest request body accepted; beyond: 413."),
    Setting(
        "recover.auto",
        False,
        "Look for a copy in the web archives when a re-check finds an article gone or its "
        "page answers 404, 410 or 451 (off: asking an archive tells it what you look for).",
    ),
    Setting(
        "recover.wayback_url",
        "https://web.archive.org",
        "The Wayback Machine: its CDX API, snapshots and Save Page Now are under it; empty: "
        "not asked.",
    ),
    Setting(
        "recover.archive_today_url",
        "https://archive.ph",
        "archive.today: its TimeMap and copies are under it; empty: not asked.",
    ),
    Setting(
        "recover.save_to",
        [],
        'Web archives `watch` asks to save each newly archived URL: ["wayback"] (Save Page '
        "Now); empty: none.",
    ),
    Setting(
        "recover.save_interval",
        "30s",
        "The least time between two Save Page Now requests (s, m, h, d).",
    ),
    Setting(
        "recover.wayback_keys",
        "",
        "ACCESS:SECRET of an archive.org account's S3 keys for Save Page Now (higher limits); "
        "empty: anonymous.",
        env="NEWSVAULT_WAYBACK_KEYS",
    ),
    Setting(
        "intake.github_api",
        "https://api.github.com",
        "The GitHub REST API `intake github` talks to (GitHub Enterprise: https://HOST/api/v3).",
    ),
    Setting(
        "intake.github",
        [],
        'Repositories whose open issues `watch` answers, as "OWNER/REPO" (token: GITHUB_TOKEN).',
    ),
    Setting(
        "intake.interval",
        "5m",
        "How often `watch` reads the open issues of each intake.github repository.",
    ),
)

_BY_KEY = {s.key: s for s in SETTINGS}
SAVE_TO = ("wayback",)  # the web archives recover.save_to may name
REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
DATABASE_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Settings:
    """Values from newsvault.toml, then the environment, over the defaults in SETTINGS."""

    def __init__(
        self, document: dict[str, Any] | None = None, environ: dict[str, str] | None = None
    ):
        environ = dict(os.environ) if environ is None else environ
        self._values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = _lookup(document or {}, setting.key.split("."), setting.default)
            if setting.env and setting.env in environ:
                raw = environ[setting.env]
            self._values[setting.key] = _coerce(setting, raw)
        sections = {s.key.split(".")[0] for s in SETTINGS}
        unknown = [
            key
            for section, table in (document or {}).items()
            if section in sections and isinstance(table, dict)
            for key in _leaf_keys(section, table)
            if key not in _BY_KEY
        ]
        self.recheck_schedule()  # a bad duration is refused when the archive opens
        for key in ("watch.interval", "watch.max_interval", "watch.lease"):
            duration_ms(self[key], key)
        for key in ("recover.save_interval", "intake.interval"):
            duration_ms(self[key], key)
        for name in self["recover.save_to"]:
            if name not in SAVE_TO:
                raise ArchiveError(
                    f"newsvault.toml: recover.save_to: {name!r} is not a web archive newsvault "
                    f"saves to; use {', '.join(map(repr, SAVE_TO))}"
                )
        if "wayback" in self["recover.save_to"] and not self["recover.wayback_url"]:
            raise ArchiveError(
                'newsvault.toml: recover.save_to names "wayback" but recover.wayback_url is empty'
            )
        for repo in self["intake.github"]:
            if not REPO_NAME.fullmatch(repo):
                raise ArchiveError(
                    f"newsvault.toml: intake.github: {repo!r} is not a repository; write "
                    '"OWNER/REPO"'
                )
        duration_ms(self["watch.silent_after"], "watch.silent_after")
        database = self["database"]
        if database and not database.startswith(DATABASE_SCHEMES):
            raise ArchiveError(
                f"database: {database.split('://')[0]!r} is not a database newsvault keeps an "
                'archive in; write "postgresql://USER@HOST/NAME", or leave it out for SQLite'
            )
        if unknown:
            raise ArchiveError(
                f"newsvault.toml: unknown setting {unknown[0]!r}; "
                "see the README's 'Settings' for the list"
            )

    def recheck_schedule(self) -> list[int]:
        """watch.recheck in ms after archiving, in order."""
        return sorted(duration_ms(step, "watch.recheck") for step in self["watch.recheck"])

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def items(self) -> list[tuple[str, Any]]:
        return list(self._values.items())

    def fetch_options(self) -> FetchOptions:
        names = {f.name for f in fields(FetchOptions)}
        options: dict[str, Any] = {
            name: frozenset(value) if isinstance(value, list) else value
            for key, value in self._values.items()
            if key.startswith("fetch.") and (name := key.split(".", 1)[1]) in names
        }
        return FetchOptions(**options)


_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str, setting: str) -> int:
    """ "90s", "30m", "6h", "7d" in milliseconds; ArchiveError names the setting otherwise."""
    value = text.strip().lower()
    number, unit = value[:-1], value[-1:]
    if unit not in _UNITS or not number.replace(".", "", 1).isdigit():
        raise ArchiveError(
            f"newsvault.toml: {setting}: {text!r} is not a duration; write e.g. 30m, 6h or 7d"
        )
    return round(float(number) * _UNITS[unit])


def _lookup(document: dict[str, Any], path: list[str], default: Any) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _leaf_keys(prefix: str, table: dict[str, Any]) -> Iterator[str]:
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict) and any(s.key.startswith(key + ".") for s in SETTINGS):
            yield from _leaf_keys(key, value)
        else:
            yield key


def _coerce(setting: Setting, raw: Any) -> Any:
    kind = setting.kind
    try:
        if kind is list:
            if isinstance(raw, str):
                raw = [part.strip() for part in raw.split(",") if part.strip()]
            if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
                return list(raw)
            raise ValueError(raw)
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(raw)
        if kind is float and isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if kind is int and isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if kind is str and isinstance(raw, str):
            if setting.choices and raw not in setting.choices:
                where = f"environment variable {setting.env}" if setting.env else "newsvault.toml"
                raise ArchiveError(
                    f"{where}: {setting.key} = {raw!r} is not one of {', '.join(setting.choices)}"
                )
            return raw
        if isinstance(raw, str):
            return kind(raw)
        raise ValueError(raw)
    except ValueError:
        where = f"environment variable {setting.env}" if setting.env else "newsvault.toml"
        raise ArchiveError(
            f"{where}: {setting.key} = {raw!r} is not a valid {kind.__name__}"
        ) from None
