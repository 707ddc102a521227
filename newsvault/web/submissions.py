"""URL submissions: validated and rate-limited on the way in, then a row and a `submission`
job in the database (store/submissions.py), which a watcher archives: the one `serve` runs,
or a `newsvault watch` beside it. A restarted server picks up where it was.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from newsvault.errors import NewsvaultError
from newsvault.fetch.guard import is_allowed
from newsvault.normalize import canonical_url
from newsvault.pages import check_url
from newsvault.store import Store
from newsvault.store.submissions import Submission

MAX_URL = 2048
FULL_RETRY = 60  # seconds a client is told to wait when the queue is full


class Refused(NewsvaultError):
    """A submission not accepted: the message says why and what to do."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        retry_after: int | None = None,
        *,
        key: str,
        **params: object,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.key = key  # the interface's words for it: "refused_" + key, with `params`
        self.params = params

    def said_in(self, words: dict[str, str]) -> str:
        """The refusal in the interface's language (the API's `detail` stays English)."""
        return words["refused_" + self.key].format(**self.params)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


def now() -> int:
    return int(time.time() * 1000)


def validate_url(url: str, *, allow_private: bool, allowed: frozenset[str] = frozenset()) -> str:
    """The URL to archive, or Refused: no non-web schemes, no private or local addresses
    (but those in `allowed`, fetch.allowed_addresses)."""
    url = (url or "").strip()
    if not url:
        raise Refused("give the address of a page to archive", key="empty")
    if len(url) > MAX_URL:
        raise Refused(f"the URL is longer than {MAX_URL} characters", key="long", most=MAX_URL)
    try:
        url = check_url(url)  # http(s) with a host, as `newsvault archive` asks
    except NewsvaultError as exc:
        raise Refused(str(exc), key="scheme") from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise Refused("URLs with a user name or password are not archived", key="credentials")
    try:
        port = parts.port or 443
    except ValueError:
        raise Refused(f"{url!r} has no valid port number", key="port") from None
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(
            f"{host!r} does not resolve; check the address", key="resolve", host=host
        ) from None
    for info in infos:
        address = str(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        if not is_allowed(address, allow_private=allow_private, allowed=allowed):
            raise Refused(
                f"{host} is a private or local address; not archived", key="private", host=host
            )
    return url


class RateLimit:
    """At most `per_minute` submissions per client in any 60 seconds."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        moment = time.monotonic()
        with self._lock:
            seen = self._seen[client]
            while seen and seen[0] <= moment - 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                wait = int(seen[0] + 60 - moment) + 1
                raise Refused(
                    f"too many submissions; try again in {wait} s", 429, wait, key="rate", wait=wait
                )
            seen.append(moment)


def submit(store: Store, url: str, client: str, *, capacity: int) -> Submission:
    """Record a checked URL as a submission with its job, or as done when the page is
    archived already; Refused when `capacity` submissions are waiting."""
    existing = store.article_by_url(url, canonical_url(url))
    added = store.submissions.add(
        url, client, now=now(), article_id=existing.id if existing else None, capacity=capacity
    )
    if added is None:
        raise Refused(
            f"the archiving queue is full ({capacity} pages waiting); try again in {FULL_RETRY} s",
            503,
            FULL_RETRY,
            key="full",
            waiting=capacity,
            wait=FULL_RETRY,
        )
    return added
