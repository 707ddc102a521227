"""Where copies of a page are: the Wayback Machine's CDX API and archive.today's TimeMap.

The Wayback Machine (recover.wayback_url) answers
`/cdx/search/cdx?url=URL&output=json&...` with a JSON array whose first row names the fields
(`[["timestamp","original","statuscode","mimetype"], ["20240619034512", "https://…", "200",
"text/html"], …]`, `[]` when it holds none); each capture is replayed unchanged (`id_`, no
toolbar, links as they were) at `/web/<timestamp>id_/<original>`. archive.today
(recover.archive_today_url) answers `/timemap/URL` with a Memento TimeMap (RFC 7089) in
application/link-format: `<…/20240619034512/https://…>; rel="memento"; datetime="Wed, 19 Jun
2024 03:45:12 GMT"`, one link per copy, 404 when it holds none.

Each copy is read as the original site's page: `extract` is given the archive's public address
for it (`https://web.archive.org/web/<ts>id_/<original>`, `https://archive.ph/<ts>/<original>`),
which it unwraps into the original URL, its site rule and links, wherever the copy was
really fetched from (the capture keeps that address).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode

from newsvault.errors import FetchError, HTTPStatusError
from newsvault.fetch.api import parse_links
from newsvault.fetch.client import Fetcher

WAYBACK = "web.archive.org"
ARCHIVE_TODAY = "archive.today"
PER_QUERY = 3  # copies asked for on each side of the moment the article went missing


@dataclass(frozen=True)
class Copy:
    service: str  # WAYBACK or ARCHIVE_TODAY
    url: str  # where it is fetched from
    original: str  # the URL the archive captured
    captured: int  # ms since the epoch

    @property
    def timestamp(self) -> str:
        return to_timestamp(self.captured)

    @property
    def public_url(self) -> str:
        """The copy's address at the real archive: what `extract` unwraps into the original's
        URL and site rule."""
        if self.service == WAYBACK:
            return f"https://web.archive.org/web/{self.timestamp}id_/{self.original}"
        return f"https://archive.ph/{self.timestamp}/{self.original}"


@dataclass
class Found:
    copies: list[Copy]  # newest first before the moment, oldest first after it
    problems: list[str]  # "<service>: <why it could not be asked>"


def to_timestamp(ms: int) -> str:
    """A moment as the archives write it: yyyyMMddhhmmss in UTC."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y%m%d%H%M%S")


def from_timestamp(text: str) -> int | None:
    digits = (text.strip() + "00000000000000")[:14] if text.strip().isdigit() else ""
    try:
        moment = dt.datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)


def cdx_url(base: str, url: str, *, before: int | None = None, after: int | None = None) -> str:
    """The CDX query for the newest captures of `url` up to `before`, or the oldest after
    `after`: pages (text/html) that answered 200."""
    params: list[tuple[str, str]] = [
        ("url", url), ("output", "json"), ("fl", "timestamp,original,statuscode,mimetype"),
        ("filter", "statuscode:200"), ("filter", "mimetype:text/html"),
    ]  # fmt: skip
    if before is not None:
        params += [("to", to_timestamp(before)), ("limit", str(-PER_QUERY))]
    elif after is not None:
        params += [("from", to_timestamp(after + 1000)), ("limit", str(PER_QUERY))]
    return f"{base.rstrip('/')}/cdx/search/cdx?{urlencode(params)}"


def parse_cdx(body: bytes, base: str) -> list[Copy]:
    """The captures a CDX JSON answer lists (the first row names the fields)."""
    try:
        rows = json.loads(body or b"[]")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the CDX answer is not JSON") from None
    if not isinstance(rows, list) or not rows:
        return []
    header, copies = rows[0], []
    if not isinstance(header, list) or "timestamp" not in header or "original" not in header:
        raise ValueError("the CDX answer names no timestamp and original fields")
    for row in rows[1:]:
        if not isinstance(row, list) or len(row) != len(header):
            continue  # the empty row before a resumption key, the key itself
        fields = dict(zip(header, row, strict=True))
        captured = from_timestamp(str(fields["timestamp"]))
        if captured is None or str(fields.get("statuscode", "200")) != "200":
            continue
        original = str(fields["original"])
        stamp = to_timestamp(captured)
        where = f"{base.rstrip('/')}/web/{stamp}id_/{original}"
        copies.append(Copy(WAYBACK, where, original, captured))
    return copies


def timemap_url(base: str, url: str) -> str:
    return f"{base.rstrip('/')}/timemap/{quote(url, safe=':/?&=%#+,;@~')}"


def parse_timemap(body: bytes, url: str) -> list[Copy]:
    """The mementos a TimeMap in application/link-format lists."""
    links = parse_links(body.decode("utf-8", "replace"))
    original = next((u for u, p in links if "original" in p.get("rel", "").split()), url)
    copies = []
    for where, params in links:
        if "memento" not in params.get("rel", "").split() or "datetime" not in params:
            continue
        try:
            moment = parsedate_to_datetime(params["datetime"])
        except (TypeError, ValueError, IndexError):
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        copies.append(Copy(ARCHIVE_TODAY, where, original, round(moment.timestamp() * 1000)))
    return copies


async def find_copies(
    fetcher: Fetcher,
    url: str,
    *,
    wayback: str,
    archive_today: str,
    before: int | None = None,
    after: int | None = None,
) -> Found:
    """Copies of `url` in both archives (an empty address: that one is not asked): the
    newest up to `before`, newest first, or the oldest after `after`, oldest first."""
    found = Found([], [])
    if wayback:
        try:
            response = await fetcher.get(
                cdx_url(wayback, url, before=before, after=after),
                accept="application/json", robots=False,
            )  # fmt: skip
            found.copies += parse_cdx(response.body, wayback)
        except (FetchError, ValueError) as exc:
            found.problems.append(f"{WAYBACK}: {_reason(exc)}")
    if archive_today:
        try:
            response = await fetcher.get(
                timemap_url(archive_today, url), accept="application/link-format", robots=False
            )
            found.copies += parse_timemap(response.body, url)
        except HTTPStatusError as exc:
            if exc.status != 404:  # 404: it holds no copy
                found.problems.append(f"{ARCHIVE_TODAY}: {exc.reason}")
        except (FetchError, ValueError) as exc:
            found.problems.append(f"{ARCHIVE_TODAY}: {_reason(exc)}")
    if before is not None:
        wanted = [c for c in found.copies if c.captured <= before]
        found.copies = sorted(wanted, key=lambda c: c.captured, reverse=True)
    elif after is not None:
        wanted = [c for c in found.copies if c.captured > after]
        found.copies = sorted(wanted, key=lambda c: c.captured)
    return found


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, FetchError) else str(exc)
