"""Is an archived article still there? One re-fetch of its URL -> live, gone or unreachable.

The re-check of archived articles calls `judge` (or `recheck`, which fetches as well) with
what was archived (the URL and the stored plain text) and what re-fetching that URL gave (a
Response or a FetchError), and gets a `Verdict`:

    status   live | gone | unreachable
    code     a short stable code for machines (to count, filter, store); "" when live
    detail   words for a person: "http 451: unavailable for legal reasons"
    reason   "<code>: <detail>" ("" when live), for one-line reports and logs

    gone         http-404, http-410, http-451   the server says so
                 home-redirect                  redirected to the site's home page
                 list-redirect                  redirected to a list page or a section root
                 notice                         a deletion or takedown notice (notices.toml)
                 empty                          the page holds no article any more
    unreachable  http-429, http-5xx             busy or broken: try again later
                 http-4xx, http-other           other refusals (401, 403 ...), odd statuses
                 timeout, dns, network          no answer, a name that does not resolve,
                                                a refused, reset or broken connection
                 refused                        the SSRF guard refused the address
                 too-large, bad-response        the fetcher could not use the answer
                 fetch-error                    any other fetch failure

Unreachable is never gone: one failed try proves nothing, the caller retries. Everything
else is conservative too, since a wrong "gone" is worse than a late one. In order:

1. A page that still shows the archived text (half of its shingles) is live, whatever its
   status or URL: a redirect to the canonical URL, to https, to a trailing slash, a server
   answering 404 with the article in the body.
2. 404, 410 and 451 are gone; other failures are unreachable (the table above).
3. A redirect (any hop) to the home page of the same site is gone: same registrable domain
   (www., m., news. alike), path "/" or index.html, default.aspx ..., the query ignored
   unless the article itself was addressed by a query on a home path. So is a redirect to a
   list page: one where the extractor finds only link titles, or a section root (a directory
   above the article's own path on the same site: /news/ for /news/2024/1.html).
4. A deletion notice is gone when it stands on its own (the title, a heading or a short
   block: the notice and at most NOTICE_SLACK more characters; link text never counts) and
   the article is missing, or short (under SHORT_ARTICLE units) and at most half the archived
   one. An article quoting "页面不存在" in its body is live.
5. No article on the page (extract raises NoArticle, or under MIN_TEXT_UNITS) is gone.
6. Anything else is live, an edited article included.
"""

from __future__ import annotations

import re
import socket
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import lxml.etree

from newsvault.errors import (
    BadResponse,
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    NoArticle,
    TooLarge,
)
from newsvault.extract import Extraction, RuleSet, extract, load_page
from newsvault.extract.extractor import MIN_TEXT_UNITS
from newsvault.fetch.client import Fetcher, Response
from newsvault.fetch.guard import ip_literal
from newsvault.normalize import canonical_url, chinese_converter
from newsvault.pages import PAGE_ACCEPT
from newsvault.stories.fold import fold as fold_names
from newsvault.stories.fold import tokens

Status = Literal["live", "gone", "unreachable"]

NOTICES = Path(__file__).with_name("notices.toml")
SAME_TEXT = 0.5  # this share of the archived text's shingles on the page: the article is there
SHINGLE = 3  # tokens per shingle (a CJK token is a character pair, so about four characters)
SHORT_ARTICLE = 200  # units (CJK characters plus words): a notice may stand beside less text
NOTICE_SLACK = 40  # characters a block may hold besides a notice and still be the notice's
GONE_STATUSES = frozenset({404, 410, 451})
# The extractor's list-page judgement, as its NoArticle reason words it.
LIST_PAGE_REASON = "mostly link titles"

_SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "co", "ac", "idv"})
_HOME_FILE = re.compile(
    r"(?:index|default)(?:\.(?:s?html?|php|aspx?|jsp))?|home\.(?:s?html?|php|aspx?|jsp)", re.I
)
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "iframe", "button", "select")
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "center", "dd", "div", "dl",
    "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th",
    "title", "tr", "ul",
})  # fmt: skip
_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")
_DNS_WORDS = re.compile(
    r"name or service not known|nodename nor servname|getaddrinfo failed"
    r"|temporary failure in name resolution|no address associated with hostname",
    re.I,
)
_ERROR_CODES: tuple[tuple[type[FetchError], str], ...] = (
    (BlockedAddress, "refused"),
    (FetchTimeout, "timeout"),
    (TooLarge, "too-large"),
    (BadResponse, "bad-response"),
    (NetworkError, "network"),
)


@dataclass(frozen=True)
class Verdict:
    status: Status
    code: str = ""
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}" if self.code else ""


LIVE = Verdict("live")


@dataclass(frozen=True)
class Notice:
    text: str  # as written in notices.toml
    kind: str  # deleted_by_author, censored, not_found, account_banned ...
    folded: str  # what is matched


@cache
def notices() -> tuple[Notice, ...]:
    """The notices table, the most specific (longest) entry first."""
    data = tomllib.loads(NOTICES.read_text(encoding="utf-8"))
    table = [Notice(entry["text"], entry["kind"], fold(entry["text"])) for entry in data["notice"]]
    return tuple(sorted(table, key=lambda notice: len(notice.folded), reverse=True))


def fold(text: str) -> str:
    """Text as notices are matched: NFKC, simplified script, case folded, no whitespace,
    帐 read as 账 (帐号 and 账号 are both in use, and t2s makes 帳號 帐号)."""
    folded = chinese_converter("t2s").convert(unicodedata.normalize("NFKC", text)).casefold()
    return re.sub(r"\s+", "", folded.replace("帐", "账"))


async def recheck(
    fetcher: Fetcher, archived_url: str, archived_text: str, *, rules: RuleSet | None = None
) -> Verdict:
    """Fetch `archived_url` once and judge what came back."""
    try:
        outcome: Response | FetchError = await fetcher.get(archived_url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        outcome = exc
    return judge(archived_url, archived_text, outcome, rules=rules)


def judge(
    archived_url: str,
    archived_text: str,
    outcome: Response | FetchError,
    extraction: Extraction | NoArticle | None = None,
    *,
    rules: RuleSet | None = None,
) -> Verdict:
    """The verdict on one re-fetch of `archived_url` (the rules in the module docstring).

    `extraction` is what extract() made of the response, when the caller has it already;
    otherwise a successful response is extracted here with `rules` (the shipped ones by
    default: pass the archive's, as archiving did)."""
    response = outcome if isinstance(outcome, Response) else getattr(outcome, "response", None)
    lines = _visible_lines(response) if response is not None else []
    failure = _failure(outcome)
    if failure is not None:
        return LIVE if _still_there(archived_text, lines, None) else failure
    assert isinstance(outcome, Response)
    if outcome.not_modified:
        return LIVE
    found = extraction if extraction is not None else _extract(outcome, rules)
    if _still_there(archived_text, lines, found):
        return LIVE
    landed = [hop.url for hop in outcome.history[1:]] + [outcome.url] if outcome.history else []
    home = next((url for url in landed if is_home_page(url, archived_url)), None)
    if home is not None:
        return Verdict("gone", "home-redirect", f"redirected to the site's home page ({home})")
    if landed and not same_page(outcome.url, archived_url):
        listed = isinstance(found, NoArticle) and LIST_PAGE_REASON in found.reason
        if listed or is_section_root(outcome.url, archived_url):
            return Verdict("gone", "list-redirect", f"redirected to a list page ({outcome.url})")
    notice = _notice(lines, found, archived_text)
    if notice is not None:
        return Verdict("gone", "notice", f"deletion notice ({notice.kind}): {notice.text}")
    if isinstance(found, NoArticle):
        return Verdict("gone", "empty", f"the page holds no article any more ({found.reason})")
    if (units := _units(found.text)) < MIN_TEXT_UNITS:
        return Verdict("gone", "empty", f"the page holds no article any more ({units} words)")
    return LIVE


# -- URLs ----------------------------------------------------------------------------------


def site(url: str) -> str:
    """The registrable domain, roughly: news.sina.com.cn -> sina.com.cn, m.bbc.co.uk ->
    bbc.co.uk; an IP address or a one-label host as it is."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if ip_literal(host) or "." not in host:
        return host
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def same_page(url: str, other: str) -> bool:
    """The same page: same site, path (case and a trailing slash aside) and query (tracking
    parameters aside); the scheme and the www./m. host do not matter."""
    a, b = urlsplit(canonical_url(url)), urlsplit(canonical_url(other))
    return (
        site(url) == site(other)
        and a.path.rstrip("/").lower() == b.path.rstrip("/").lower()
        and a.query == b.query
    )


def is_home_page(url: str, original_url: str) -> bool:
    """`url` is the home page of the site `original_url` is on (and another page than it)."""
    if site(url) != site(original_url) or same_page(url, original_url) or not _home_path(url):
        return False
    # An article addressed as /?p=123 or /index.php?id=5: only its query-less home is home.
    return not (_home_path(original_url) and urlsplit(url).query)


def is_section_root(url: str, original_url: str) -> bool:
    """`url` is a directory above `original_url`'s path on the same site (not the root):
    /news/ or /news/index.html for /news/2024/1.html, never /news/2024/1.html/."""
    if site(url) != site(original_url):
        return False
    path = urlsplit(url).path
    segments = _segments(path)
    if segments and _HOME_FILE.fullmatch(segments[-1]):
        segments = segments[:-1]
    elif not path.endswith("/"):
        return False
    above = _segments(urlsplit(original_url).path)
    return 0 < len(segments) < len(above) and segments == above[: len(segments)]


def _segments(path: str) -> list[str]:
    return [segment.lower() for segment in path.split("/") if segment]


def _home_path(url: str) -> bool:
    segments = _segments(urlsplit(url).path)
    return not segments or (len(segments) == 1 and bool(_HOME_FILE.fullmatch(segments[0])))


# -- failures --------------------------------------------------------------------------------


def _failure(outcome: Response | FetchError) -> Verdict | None:
    """The verdict an error or a status gives by itself; None for a success."""
    if isinstance(outcome, HTTPStatusError):
        return _by_status(outcome.status)
    if isinstance(outcome, Response):
        success = 200 <= outcome.status < 300 or outcome.not_modified
        return None if success else _by_status(outcome.status)
    if isinstance(outcome, NetworkError) and _dns_failure(outcome):
        host = urlsplit(outcome.url).hostname or outcome.url
        return Verdict("unreachable", "dns", f"name does not resolve: {host}")
    code = next((code for kind, code in _ERROR_CODES if isinstance(outcome, kind)), "fetch-error")
    return Verdict("unreachable", code, outcome.reason)


def _by_status(status: int) -> Verdict:
    try:
        words = f"http {status}: {HTTPStatus(status).phrase.lower()}"
    except ValueError:
        words = f"http {status}"
    if status in GONE_STATUSES:
        return Verdict("gone", f"http-{status}", words)
    if status == 429:
        code = "http-429"
    elif 500 <= status <= 599:
        code = "http-5xx"
    elif 400 <= status <= 499:
        code = "http-4xx"
    else:
        code = "http-other"
    return Verdict("unreachable", code, words)


def _dns_failure(exc: BaseException) -> bool:
    """The fetcher's NetworkError hides aiohttp's error as its context: look for gaierror."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, socket.gaierror) or isinstance(
            getattr(seen, "os_error", None), socket.gaierror
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return bool(_DNS_WORDS.search(str(exc)))


# -- the page --------------------------------------------------------------------------------


def _extract(response: Response, rules: RuleSet | None) -> Extraction | NoArticle:
    try:
        return extract(response.body, response.url, response.content_type, rules=rules)
    except NoArticle as exc:
        return exc


def _visible_lines(response: Response) -> list[str]:
    """The page's visible text, one line per block (title, heading, paragraph, cell ...),
    link text left out: a list of headlines never reads as a notice."""
    try:
        tree = load_page(response.body, response.url, response.content_type).tree
    except NoArticle:
        return []
    lxml.etree.strip_elements(tree, *_INVISIBLE, with_tail=False)
    for link in list(tree.iter("a")):
        link.drop_tree()
    for element in tree.iter():
        if element.tag in _BLOCKS:
            element.text = "\n" + (element.text or "")
            element.tail = "\n" + (element.tail or "")
    text = "".join(tree.itertext())
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def _units(text: str) -> int:
    return len(_UNITS.findall(text))


def _shingles(text: str) -> set[tuple[str, ...]]:
    found = tokens(fold_names(text))
    if len(found) < SHINGLE:
        return {tuple(found)} if found else set()
    return {tuple(found[i : i + SHINGLE]) for i in range(len(found) - SHINGLE + 1)}


def _still_there(
    archived_text: str, lines: list[str], found: Extraction | NoArticle | None
) -> bool:
    wanted = _shingles(archived_text)
    if not wanted:
        return False
    shown = "\n".join(lines) + ("\n" + found.text if isinstance(found, Extraction) else "")
    return len(wanted & _shingles(shown)) >= SAME_TEXT * len(wanted)


def _notice(lines: list[str], found: Extraction | NoArticle, archived_text: str) -> Notice | None:
    if isinstance(found, Extraction):
        size = _units(found.text)
        if size >= SHORT_ARTICLE or size > _units(archived_text) / 2:
            return None
    folded = [fold(line) for line in lines]
    for notice in notices():
        for line in folded:
            if notice.folded in line and len(line) <= len(notice.folded) + NOTICE_SLACK:
                return notice
    return None
