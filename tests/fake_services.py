"""Loopback stand-ins for the services recovery, Save Page Now and intake talk to, each
answering in the format the real one documents:

- the Wayback Machine: the CDX server (`/cdx/search/cdx?url=…&output=json`, the first row
  naming the fields, `[]` when nothing matches; `from`, `to`, `limit` (negative: the last N),
  `fl` and `filter=field:regex`, gzip-encoded as the real one sends it), snapshots at
  `/web/<timestamp>id_/<url>` (a timestamp it does not hold redirects to the nearest one),
  and Save Page Now 2 (`POST /save` answering `{"url", "job_id"}`, `GET /save/status/<job>`
  answering pending, then success with its timestamp, or an error with `status_ext`);
- archive.today: a Memento TimeMap at `/timemap/<url>` (application/link-format: original,
  self, timegate, first/last memento, each with its datetime; 404 when it holds none) and
  copies at `/<timestamp>/<url>` inside its own page chrome (`#HEADER`);
- GitHub's REST API: `/repos/O/R/issues` (state=open, pull requests among them, pages with
  a Link header of next/prev/first/last), an issue's comments (listed, paginated, posted),
  labels added, the issue closed (PATCH), the token checked, and the rate-limit headers
  (`x-ratelimit-limit`, `-remaining`, `-used`, `-reset`, `-resource`), 403 once none remain,
  or a secondary limit with `retry-after`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web

from newsvault.loopback import LoopbackServer, RequestLog

HTML = "text/html; charset=utf-8"


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def _log(server: LoopbackServer, request: web.Request) -> None:
    server.requests.append(
        RequestLog(request.method, request.path, request.headers.copy(), time.monotonic())
    )


class FakeWayback(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.captures: dict[str, list[tuple[str, bytes]]] = {}  # original URL -> (ts, body)
        self.broken = False  # every answer a 503
        self.saved: list[str] = []  # URLs given to Save Page Now
        self.save_refused: dict[str, str] = {}  # URL -> status_ext of an error answer
        self.save_busy = False  # POST /save answers 429
        self.pending_polls = 1  # status answers "pending" this often before "success"
        self.cdx_queries: list[dict[str, list[str]]] = []  # each CDX query's parameters
        self._jobs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def capture(self, url: str, moment: dt.datetime, body: bytes) -> str:
        ts = stamp(moment)
        self.captures.setdefault(url, []).append((ts, body))
        self.captures[url].sort()
        return ts

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _log(self, request)
        if self.broken:
            return web.Response(status=503, text="Service Unavailable")
        if request.path == "/cdx/search/cdx":
            return self._cdx(request)
        if request.path == "/save" and request.method == "POST":
            return await self._save(request)
        if request.path.startswith("/save/status/"):
            return self._status(request.path.rsplit("/", 1)[-1])
        match = re.match(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$", request.raw_path, re.S)
        if match:
            return self._snapshot(match.group(1), match.group(2) or "", match.group(3))
        return web.Response(status=404, text="not found")

    def _cdx(self, request: web.Request) -> web.Response:
        query = parse_qs(request.query_string, keep_blank_values=True)
        self.cdx_queries.append(query)
        url = query.get("url", [""])[0]
        rows = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]]
        for ts, body in self.captures.get(url, []):
            rows.append([_surt(url), ts, url, "text/html", "200", "SHA1DIGEST", str(len(body))])
        header, data = rows[0], rows[1:]
        low = (query.get("from", [""])[0] + "00000000000000")[:14]
        high = (query.get("to", [""])[0] + "99999999999999")[:14]
        data = [r for r in data if low <= r[1] <= high]
        for rule in query.get("filter", []):
            name, _, pattern = rule.lstrip("!").partition(":")
            keep = not rule.startswith("!")
            column = header.index(name)
            data = [r for r in data if bool(re.fullmatch(pattern, r[column])) == keep]
        limit = int(query.get("limit", ["0"])[0] or 0)
        data = data[limit:] if limit < 0 else data[:limit] if limit else data
        fields = query.get("fl", [",".join(header)])[0].split(",")
        picked = [[r[header.index(f)] for f in fields] for r in data]
        if query.get("output", [""])[0] != "json":
            text = "\n".join(" ".join(r) for r in picked) + ("\n" if picked else "")
            return web.Response(text=text, content_type="text/plain")
        body = json.dumps([fields, *picked] if picked else []).encode()
        return web.Response(
            body=gzip.compress(body),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    def _snapshot(self, ts: str, flag: str, original: str) -> web.Response:
        held = self.captures.get(original, [])
        if not held:
            return web.Response(status=404, text="Wayback Machine has not archived that URL.")
        exact = next((body for t, body in held if t == ts), None)
        if exact is None:  # the nearest capture, as the real one redirects
            nearest = min(held, key=lambda c: abs(int(c[0]) - int(ts.ljust(14, "0"))))[0]
            return web.Response(
                status=302, headers={"Location": f"/web/{nearest}{flag}/{original}"}
            )
        stamped = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        headers = {"Memento-Datetime": email.utils.format_datetime(stamped, usegmt=True)}
        if flag != "id_":  # the replay with its toolbar
            exact = exact.replace(b"<body>", b'<body><div id="wm-ipp-base">Wayback Machine</div>')
        return web.Response(body=exact, content_type="text/html", charset="utf-8", headers=headers)

    async def _save(self, request: web.Request) -> web.Response:
        form = await request.post()
        url = str(form.get("url", ""))
        if self.save_busy:
            return web.json_response(
                {"message": "You have already reached the limit of active sessions."}, status=429
            )
        self.saved.append(url)
        if url in self.save_refused:
            return web.json_response(
                {"status": "error", "status_ext": self.save_refused[url],
                 "message": "This URL is in the Save Page Now service block list."}
            )  # fmt: skip
        job_id = f"spn2-{next(self._ids):040x}"
        self._jobs[job_id] = {"url": url, "polls": 0}
        return web.json_response({"url": url, "job_id": job_id})

    def _status(self, job_id: str) -> web.Response:
        job = self._jobs.get(job_id)
        if job is None:
            return web.json_response(
                {"status": "error", "status_ext": "error:not-found", "message": "no such job"}
            )
        job["polls"] += 1
        if job["polls"] <= self.pending_polls:
            return web.json_response({"status": "pending", "job_id": job_id, "resources": []})
        return web.json_response(
            {"status": "success", "job_id": job_id, "original_url": job["url"],
             "timestamp": stamp(dt.datetime.now(dt.UTC)), "duration_sec": 6.2,
             "resources": [], "outlinks": {}}
        )  # fmt: skip


class FakeArchiveToday(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.copies: dict[str, list[tuple[str, bytes]]] = {}

    def capture(self, url: str, moment: dt.datetime, body: bytes) -> str:
        ts = stamp(moment)
        self.copies.setdefault(url, []).append((ts, body))
        self.copies[url].sort()
        return ts

    def memento(self, url: str, ts: str) -> str:
        return f"{self.base_url}/{ts}/{url}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _log(self, request)
        raw = request.raw_path
        if raw.startswith("/timemap/"):
            return self._timemap(raw.removeprefix("/timemap/"))
        match = re.match(r"^/(\d{14})/(.+)$", raw, re.S)
        if match:
            body = dict(self.copies.get(match.group(2), [])).get(match.group(1))
            if body is not None:
                chrome = (
                    b'<div id="HEADER"><form><input name="q" value="'
                    + match.group(2).encode()
                    + b'"></form>archive.today webpage capture | Saved from</div>'
                )
                return web.Response(
                    body=body.replace(b"<body>", b"<body>" + chrome), content_type="text/html"
                )
        return web.Response(status=404, text="not found")

    def _timemap(self, url: str) -> web.Response:
        held = self.copies.get(url, [])
        if not held:
            return web.Response(status=404, text="TimeMap does not exist.")
        lines = [
            f'<{url}>; rel="original"',
            f'<{self.base_url}/timegate/{url}>; rel="timegate"',
        ]
        for index, (ts, _) in enumerate(held):
            rel = "memento"
            if index == 0:
                rel = "first memento"
            if index == len(held) - 1:
                rel = "last memento" if index else "first last memento"
            moment = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
            when = email.utils.format_datetime(moment, usegmt=True)
            lines.append(f'<{self.memento(url, ts)}>; rel="{rel}"; datetime="{when}"')
        first = email.utils.format_datetime(
            dt.datetime.strptime(held[0][0], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC), usegmt=True
        )
        lines.append(
            f'<{self.base_url}/timemap/{url}>; rel="self"; type="application/link-format"; '
            f'from="{first}"'
        )
        return web.Response(text=",\n".join(lines) + "\n", content_type="application/link-format")


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str | None
    author: str = "reader"
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    pull_request: bool = False


class FakeGitHub(LoopbackServer):
    def __init__(self, token: str = "ghp_test", per_page_cap: int = 100) -> None:
        super().__init__()
        self.token = token
        self.per_page_cap = per_page_cap  # GitHub's is 100; lower, to see pagination
        self.repos: dict[str, dict[int, FakeIssue]] = {}
        self.limit = 5000
        self.remaining = 5000
        self.reset_at = int(time.time()) + 3600
        self.secondary: int = 0  # this many next requests answered 403 with retry-after: 1
        self.delay = 0.0  # seconds before each answer
        self.calls: list[tuple[str, str]] = []  # (method, path) of each request answered
        self._comment_ids = itertools.count(1000)
        self._lock = threading.Lock()

    def repo(self, name: str, issues: list[FakeIssue]) -> None:
        self.repos[name] = {issue.number: issue for issue in issues}

    def issue(self, repo: str, number: int) -> FakeIssue:
        return self.repos[repo][number]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _log(self, request)
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        with self._lock:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return self._json(
                    {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                     "status": "401"}, 401,
                )  # fmt: skip
            if self.secondary:
                self.secondary -= 1
                return self._json(
                    {"message": "You have exceeded a secondary rate limit. Please wait a few "
                     "minutes before you try again.", "status": "403"}, 403,
                    {"retry-after": "1"},
                )  # fmt: skip
            if self.remaining <= 0:
                return self._json(
                    {"message": "API rate limit exceeded for user ID 1.", "status": "403",
                     "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                    403,
                )  # fmt: skip
            self.remaining -= 1
            body = await request.read()
            self.calls.append((request.method, request.path))
            return self._route(request, json.loads(body) if body else None)

    def _json(
        self, data: Any, status: int = 200, extra: dict[str, str] | None = None
    ) -> web.Response:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(self.remaining, 0)),
            "x-ratelimit-used": str(self.limit - max(self.remaining, 0)),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-resource": "core",
            **(extra or {}),
        }
        return web.Response(status=status, body=json.dumps(data).encode(), headers=headers)

    def _route(self, request: web.Request, body: Any) -> web.Response:
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues(?:/(\d+))?(/comments|/labels)?",
                             request.path)  # fmt: skip
        if not match or f"{match.group(1)}/{match.group(2)}" not in self.repos:
            return self._json({"message": "Not Found", "status": "404"}, 404)
        repo = f"{match.group(1)}/{match.group(2)}"
        issues = self.repos[repo]
        if match.group(3) is None:
            if request.method != "GET":
                return self._json({"message": "Not Found", "status": "404"}, 404)
            state = request.query.get("state", "open")
            chosen = [i for n, i in sorted(issues.items()) if state in ("all", i.state)]
            return self._page(request, [self._issue_json(repo, i) for i in chosen])
        issue = issues.get(int(match.group(3)))
        if issue is None:
            return self._json({"message": "Not Found", "status": "404"}, 404)
        if match.group(4) == "/comments":
            if request.method == "POST":
                comment = {
                    "id": next(self._comment_ids), "body": body["body"],
                    "user": {"login": "newsvault-bot", "id": 2}, "created_at": _now_iso(),
                    "html_url": f"https://github.com/{repo}/issues/{issue.number}#issuecomment",
                }  # fmt: skip
                issue.comments.append(comment)
                return self._json(comment, 201)
            return self._page(request, issue.comments)
        if match.group(4) == "/labels" and request.method == "POST":
            for name in body["labels"]:
                if name not in issue.labels:
                    issue.labels.append(name)
            return self._json([{"id": n, "name": name, "color": "ededed", "default": False}
                               for n, name in enumerate(issue.labels)])  # fmt: skip
        if request.method == "PATCH":
            issue.state = body.get("state", issue.state)
            return self._json(self._issue_json(repo, issue))
        return self._json(self._issue_json(repo, issue))

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        per_page = min(int(request.query.get("per_page", "30")), self.per_page_cap)
        page = int(request.query.get("page", "1"))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def at(number: int) -> str:
            query = {**request.query, "page": str(number)}
            return f"<{self.base_url}{request.path}?{urlencode(query)}>"

        if page > 1:
            links += [f'{at(page - 1)}; rel="prev"', f'{at(1)}; rel="first"']
        if page < last:
            links += [f'{at(page + 1)}; rel="next"', f'{at(last)}; rel="last"']
        return self._json(chunk, extra={"Link": ", ".join(links)} if links else None)

    def _issue_json(self, repo: str, issue: FakeIssue) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": f"{self.base_url}/repos/{repo}/issues/{issue.number}",
            "number": issue.number, "title": issue.title, "body": issue.body,
            "state": issue.state, "user": {"login": issue.author, "id": 7},
            "labels": [{"name": name} for name in issue.labels],
            "comments": len(issue.comments),
        }  # fmt: skip
        if issue.pull_request:
            data["pull_request"] = {"url": f"{self.base_url}/repos/{repo}/pulls/{issue.number}"}
        return data


def _surt(url: str) -> str:
    host = re.sub(r"^https?://", "", url).split("/", 1)
    return ",".join(reversed(host[0].split("."))) + ")/" + (host[1] if len(host) > 1 else "")


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
