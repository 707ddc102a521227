"""Every error newsvault raises on purpose, in one tree.

    NewsvaultError                 a problem a user can act on; the CLI prints it as one line
    ├── ArchiveError               no archive here, a broken newsvault.toml, a locked archive
    ├── SourceError                an unknown slug, a duplicate source, a bad OPML file
    ├── ImportFormatError          a file that is not in the markdown archive format
    ├── FetchError                 one URL could not be fetched; `url` names it
    │   ├── BlockedAddress         the host resolves to a private/loopback/link-local address
    │   ├── FetchTimeout           no complete response before the deadline
    │   ├── NetworkError           refused, reset, DNS failure, broken TLS
    │   ├── HTTPStatusError        the server answered 4xx/5xx; `status` holds it
    │   ├── TooLarge               the body (or its decompressed form) passed the size limit
    │   ├── BadResponse            too many redirects, a bad URL, an unusable encoding
    │   └── RobotsDisallowed       robots.txt disallows the URL, or answered 5xx: not requested
    ├── FeedError                  the bytes are not a feed we can read (HTML, empty, broken XML)
    ├── NoArticle                  a page holds no article we can extract; `reason` says why
    └── RuleError                  a site rule file that cannot be used

Each message is one line that names the input and says what to do where that is not obvious.
"""

from __future__ import annotations


class NewsvaultError(Exception):
    """Base of every error meant for the user."""


class ArchiveError(NewsvaultError):
    pass


class SourceError(NewsvaultError):
    pass


class ImportFormatError(NewsvaultError):
    pass


class FetchError(NewsvaultError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class BlockedAddress(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


class NetworkError(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int, reason: str | None = None) -> None:
        super().__init__(url, reason or f"HTTP {status}")
        self.status = status


class TooLarge(FetchError):
    pass


class BadResponse(FetchError):
    pass


class RobotsDisallowed(FetchError):
    """Not requested at all: the site's robots.txt forbids it (fetch.respect_robots)."""


class FeedError(NewsvaultError):
    pass


class NoArticle(NewsvaultError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"no article found: {reason}")
        self.reason = reason


class RuleError(NewsvaultError):
    pass


def one_line(text: str, limit: int = 300) -> str:
    """`text` on one line (whitespace folded), at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(exc: BaseException, limit: int = 300) -> str:
    """An exception nobody foresaw, in one line: its type, then its message."""
    text = one_line(str(exc), limit)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
