"""GitHub's REST API, as intake uses it: a repository's open issues, page by page (the Link
header's rel="next"), an issue's comments, a new comment, labels added, the issue closed.

Every request sends `Accept: application/vnd.github+json`, `X-GitHub-Api-Version:
2022-11-28` and the token (`Authorization: Bearer …`). The rate limits are obeyed as GitHub
documents them: a 403 or 429 with `retry-after` waits that many seconds, one with
`x-ratelimit-remaining: 0` waits until `x-ratelimit-reset` (UTC epoch seconds), and once an
answer says no request remains, none is made before the reset: `RateLimited` says until when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from newsvault.errors import NewsvaultError, one_line
from newsvault.fetch.api import ApiClient, ApiResponse, parse_links

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 open issues read at once, at most; the rest wait for the next look
SECONDARY_WAIT = 60.0  # a rate limit that names no time: wait a minute, as GitHub advises


class GitHubError(NewsvaultError):
    """GitHub refused or failed a request: one line saying which and why."""


class RateLimited(GitHubError):
    def __init__(self, until: float) -> None:
        moment = time.strftime("%H:%M:%S UTC", time.gmtime(until))
        super().__init__(f"GitHub's rate limit: no request before {moment}")
        self.until = until


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str
    author: str | None
    labels: tuple[str, ...]


class GitHub:
    def __init__(self, api: ApiClient, base: str, token: str) -> None:
        self.api = api
        self.base = base.rstrip("/")
        self.headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.until: float | None = None  # no request before this (unix seconds)

    async def open_issues(self, repo: str) -> list[Issue]:
        """The repository's open issues, oldest first (pull requests left out)."""
        url: str | None = (
            f"{self._repo(repo)}/issues?state=open&sort=created&direction=asc&per_page={PER_PAGE}"
        )
        issues: list[Issue] = []
        for _ in range(MAX_PAGES):
            if url is None:
                break
            answer = await self._call("GET", url, what=f"the open issues of {repo}")
            for item in _list(answer):
                if isinstance(item, dict) and "pull_request" not in item and "number" in item:
                    issues.append(_issue(item))
            url = _next(answer)
        return issues

    async def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        url: str | None = f"{self._repo(repo)}/issues/{number}/comments?per_page={PER_PAGE}"
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                break
            answer = await self._call("GET", url, what=f"the comments of {repo}#{number}")
            found += [c for c in _list(answer) if isinstance(c, dict)]
            url = _next(answer)
        return found

    async def comment(self, repo: str, number: int, body: str) -> int:
        """Post a comment; its id."""
        answer = await self._call(
            "POST", f"{self._repo(repo)}/issues/{number}/comments", {"body": body},
            what=f"a comment on {repo}#{number}",
        )  # fmt: skip
        data = answer.json()
        return int(data["id"]) if isinstance(data, dict) and "id" in data else 0

    async def add_labels(self, repo: str, number: int, labels: list[str]) -> None:
        await self._call(
            "POST", f"{self._repo(repo)}/issues/{number}/labels", {"labels": labels},
            what=f"labels on {repo}#{number}",
        )  # fmt: skip

    async def close(self, repo: str, number: int) -> None:
        await self._call(
            "PATCH", f"{self._repo(repo)}/issues/{number}",
            {"state": "closed", "state_reason": "completed"}, what=f"closing {repo}#{number}",
        )  # fmt: skip

    def _repo(self, repo: str) -> str:
        owner, _, name = repo.partition("/")
        return f"{self.base}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    async def _call(self, method: str, url: str, body: Any = None, *, what: str) -> ApiResponse:
        if self.until is not None and time.time() < self.until:
            raise RateLimited(self.until)
        answer = await self.api.request(method, url, json_body=body, headers=self.headers)
        headers = answer.headers
        remaining = headers.get("x-ratelimit-remaining")
        reset = _number(headers.get("x-ratelimit-reset"))
        if answer.status in (403, 429) and (
            "retry-after" in headers or remaining == "0" or "rate limit" in _said(answer)
        ):
            wait = _number(headers.get("retry-after"))
            if wait is not None:
                self.until = time.time() + wait
            elif remaining == "0" and reset is not None:
                self.until = reset
            else:
                self.until = time.time() + SECONDARY_WAIT
            raise RateLimited(self.until)
        if remaining == "0" and reset is not None:
            self.until = reset  # this one was the last: the next waits for the reset
        if answer.status == 401:
            raise GitHubError("GitHub refused the token (HTTP 401): check GITHUB_TOKEN")
        if answer.status == 404:
            raise GitHubError(
                f"GitHub: {what}: not found (HTTP 404): no such repository or issue, or "
                "GITHUB_TOKEN cannot see it"
            )
        if answer.status >= 400:
            raise GitHubError(f"GitHub: {what}: HTTP {answer.status}: {_said(answer)}")
        return answer


def _issue(item: dict[str, Any]) -> Issue:
    user = item.get("user") if isinstance(item.get("user"), dict) else {}
    labels = tuple(
        str(label.get("name")) for label in item.get("labels") or [] if isinstance(label, dict)
    )
    return Issue(
        number=int(item["number"]),
        title=str(item.get("title") or ""),
        body=str(item.get("body") or ""),
        author=str(user.get("login")) if user and user.get("login") else None,
        labels=labels,
    )


def _list(answer: ApiResponse) -> list[Any]:
    data = answer.json()
    if not isinstance(data, list):
        raise GitHubError(f"GitHub: {answer.url}: expected a list, got {type(data).__name__}")
    return data


def _next(answer: ApiResponse) -> str | None:
    for url, params in parse_links(answer.headers.get("Link", "")):
        if "next" in params.get("rel", "").split():
            return url
    return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _said(answer: ApiResponse) -> str:
    try:
        data = answer.json()
    except NewsvaultError:
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    text = message or answer.body.decode("utf-8", "replace")
    return one_line(str(text).strip() or "no reason given", 200)
