"""`newsvault serve`: the static site (rebuilt after each archived submission), plus what a
static site cannot do: search, URL submission with its progress, and a JSON API.

Every response carries strict security headers; archived content and media get a
Content-Security-Policy with `sandbox`, so nothing in them can run. Only files inside site/
(and media/) are served; request targets and bodies are capped before they are read whole.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlencode

import uvicorn
from fastapi import Depends, FastAPI, Form, Header, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from newsvault.archive import Archive
from newsvault.days import parse_day
from newsvault.discover import new_source
from newsvault.errors import NewsvaultError
from newsvault.logs import EventLog
from newsvault.models import to_ms
from newsvault.publish.checksums import publishing
from newsvault.publish.site import CONTENT_CSP, build_site, templates
from newsvault.stories.search import list_stories, search
from newsvault.watch.daemon import KINDS, SERVE_KINDS, BackgroundWatcher, Watcher
from newsvault.watch.history import watch_fields
from newsvault.web.guards import ForwardedClient, HeadAsGet, RequestLimits, networks
from newsvault.web.status import register_status
from newsvault.web.submissions import RateLimit, Refused, submit, validate_url

APP_CSP = (
    "default-src 'none'; img-src 'self' https: http: data:; style-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
DOCS_FILES = "/docs-files"
MEDIA_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
SITE_FILES = re.compile(
    r"^(?:style\.css|favicon\.(?:svg|ico)|index\.html"
    r"|(?:articles|sources|days|stories|deleted|edited)/[\w./-]+\.html"
    r"|feeds/[\w-]+\.atom|captures/\d+\.warc\.gz|media/[0-9a-f]{2}/[0-9a-f]{64}\.\w+)$"
)
TYPES = {".atom": "application/atom+xml", ".gz": "application/warc", ".css": "text/css"}
PER_PAGE = 20  # search results on one page
MAX_PAGES = 20  # search ranks the newest 400 matches
MAX_ID = 2**63 - 1  # the largest id SQLite stores; beyond it nothing can exist
MAX_SIZE = 2**31 - 1  # a story's size is an INTEGER column: PostgreSQL's are 32-bit
MAX_HEAD = 256 << 10  # request line and headers read whole, so a long target gets its 414


class SubmissionIn(BaseModel):
    url: str


class SourceIn(BaseModel):
    """A source to follow, as `sources add` takes it: checked (fetched once) unless `check`
    is false; name and slug default to the feed's title and one made from the host."""

    url: str
    name: str | None = None
    slug: str | None = None
    category: str | None = None
    check: bool = True


def create_app(root: Path, *, watch: bool = False, events: EventLog | None = None) -> FastAPI:
    """The app; its watcher archives submissions (with `watch`, it does all the watch
    daemon's work: polls and re-checks too) and keeps the site it serves up to date."""
    archive = Archive(root)
    store = archive.store()
    settings = archive.settings
    env = templates(settings["site.language"], settings["site.title"])
    env.globals.update(app=True, csp=APP_CSP.replace("; frame-ancestors 'none'", ""))
    words = cast(dict[str, str], env.globals["w"])  # Jinja2 types its globals as object
    limit = RateLimit(settings["serve.submissions_per_minute"])
    site_lock = threading.Lock()

    def rebuild_site() -> None:
        with site_lock, publishing(archive):
            build_site(store, archive.root, settings, archive.sources())

    watcher = BackgroundWatcher(
        Watcher(
            archive.root, events or EventLog(), kinds=KINDS if watch else SERVE_KINDS, site=True
        )
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if not (archive.root / "site" / "index.html").exists():
            rebuild_site()
        watcher.start()
        yield
        watcher.stop()
        store.close()

    app = FastAPIOffline(  # /docs from the package's own files: no request leaves the site
        title="newsvault",
        summary="A news archive: read, search, and submit pages to archive.",
        lifespan=lifespan,
        redoc_url=None,
        static_url=DOCS_FILES,
    )
    # inside the security headers (added below, so outside these): refusals carry them too
    app.add_middleware(RequestLimits, max_body=settings["serve.max_body_bytes"])
    app.add_middleware(ForwardedClient, trusted=networks(settings["serve.trusted_proxies"]))
    app.add_middleware(HeadAsGet)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        path = request.url.path
        archived = path.startswith(("/articles/", "/media/", "/captures/"))
        if path.startswith("/media/"):
            policy = MEDIA_CSP
        elif archived:
            policy = CONTENT_CSP
        else:
            policy = APP_CSP
        if path.startswith("/docs"):  # Swagger UI (and its files): no archived content
            policy = DOCS_CSP
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def page(
        template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        html = env.get_template(template).render(root="/", sources=_names(), **context)
        return HTMLResponse(html, status_code=status, headers=headers)

    def _names() -> dict[str, str]:
        return {s.slug: s.name for s in archive.sources()} | store.source_names()

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def admin(authorization: Annotated[str | None, Header()] = None) -> None:
        token = settings["serve.admin_token"]
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "administrative call: send Authorization: Bearer <token>")

    def accept(url: str, client: str):
        limit.check(client)
        checked = validate_url(
            url,
            allow_private=settings["fetch.allow_private_networks"],
            allowed=frozenset(settings["fetch.allowed_addresses"]),
        )
        return submit(store, checked, client, capacity=settings["serve.queue_max"])

    # -- pages ----------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        latest = list(store.articles(limit=50, with_content=False))
        told = list_stories(store, limit=10, min_size=2)
        counts = store.article_counts()
        watched = {
            "deleted": store.watch.counts().get("gone", 0),
            "edited": len(store.watch.edited(limit=1_000_000)),
        }
        return page(
            "index.html", latest=latest, stories=told, source_counts=counts, watch_counts=watched
        )

    @app.get("/search", response_class=HTMLResponse)
    def search_page(
        q: str = "", source: str = "", since: str = "", until: str = "", page_number: int = 1
    ) -> HTMLResponse:
        hits, error, more = [], None, False
        number = max(1, min(page_number, MAX_PAGES))
        if q.strip():
            try:
                found = search(
                    store, q, source=source or None, since=parse_day(since, words["since"]),
                    until=parse_day(until, words["until"], end=True),
                    limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE,
                )  # fmt: skip
                hits, more = found[:PER_PAGE], len(found) > PER_PAGE
            except NewsvaultError as exc:
                error = str(exc)
        shown = {"q": q, "source": source, "since": since, "until": until}
        links = {
            name: "/search?" + urlencode({**shown, "page_number": n})
            for name, n in (("newer", number - 1), ("older", number + 1))
            if n >= 1 and (name == "newer" or more)
        }
        return page(
            "search.html", query=q, hits=hits, error=error, marked=_marked, chosen=shown,
            first=(number - 1) * PER_PAGE + 1, links=links,
        )  # fmt: skip

    @app.get("/submit", response_class=HTMLResponse)
    def submit_page() -> HTMLResponse:
        return page("submit.html", errors=[])

    @app.post("/submit")
    def submit_form(request: Request, urls: Annotated[str, Form()] = ""):
        accepted, refused = [], []
        for url in [u for u in urls.split() if u][:10] or [""]:
            try:
                accepted.append(accept(url, client_of(request)))
            except Refused as exc:
                refused.append((url, exc))
        ids = ",".join(str(s.id) for s in accepted)
        if not refused:
            return RedirectResponse(f"/submissions?ids={ids}", status_code=303)
        errors = [f"{url}: {exc.said_in(words)}" if url else exc.said_in(words)
                  for url, exc in refused]  # fmt: skip
        if accepted:  # the good ones are being archived: say so beside what was refused
            return page(
                "submit.html", errors=errors, urls="\n".join(url for url, _ in refused),
                accepted=f"/submissions?ids={ids}", accepted_count=len(accepted),
            )  # fmt: skip
        worst = max((exc for _, exc in refused), key=lambda exc: exc.status)  # a full queue: 503
        return page("submit.html", worst.status, worst.headers, errors=errors, urls=urls)

    @app.get("/submissions", response_class=HTMLResponse)
    def submissions_page(ids: str = "") -> HTMLResponse:
        numbers = [n for n in map(_id, ids.split(",")) if n][:10]
        jobs = [job for job in (store.submissions.get(n) for n in numbers) if job]
        if not jobs:
            return page("message.html", status=404, message=words["not_found"])
        pending = any(job.status in ("queued", "running") for job in jobs)
        found = {job.article_id: store.article(job.article_id) for job in jobs if job.article_id}
        return page(
            "submissions.html", jobs=jobs, articles=found, refresh=pending,
            said=lambda message: _said(message, words),
        )  # fmt: skip

    # -- the JSON API -----------------------------------------------------------------------

    @app.post("/api/submissions", status_code=202)
    def api_submit(body: SubmissionIn, request: Request) -> JSONResponse:
        try:
            job = accept(body.url, client_of(request))
        except Refused as exc:
            return JSONResponse({"detail": str(exc)}, exc.status, exc.headers)
        return JSONResponse(job.to_json(), status_code=200 if job.status == "done" else 202)

    @app.get("/api/submissions/{submission_id}")
    def api_submission(submission_id: int) -> dict[str, Any]:
        job = store.submissions.get(submission_id) if 0 < submission_id <= MAX_ID else None
        if job is None:
            raise HTTPException(404, f"no submission {submission_id}")
        return job.to_json()

    @app.get("/api/articles/{article_id}")
    def api_article(article_id: int) -> dict[str, Any]:
        article = store.article(article_id) if 0 < article_id <= MAX_ID else None
        if article is None or article.removed:
            raise HTTPException(404, f"no article {article_id}")
        return article.to_json() | watch_fields(store, article)

    @app.delete("/api/articles/{article_id}", dependencies=[Depends(admin)])
    def api_remove(article_id: int) -> dict[str, Any]:
        if not 0 < article_id <= MAX_ID or not store.remove_article(article_id, to_ms(time.time())):
            raise HTTPException(404, f"no article {article_id} to remove")
        rebuild_site()
        return {"id": article_id, "removed": True}

    @app.get("/api/search")
    def api_search(q: str, limit: int = 20) -> dict[str, Any]:
        try:
            hits = search(store, q, limit=max(1, min(limit, 100)))
        except NewsvaultError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"query": q, "results": [hit.to_json() for hit in hits]}

    @app.get("/api/stories")
    def api_stories(limit: int = 50, min_size: int = 2) -> dict[str, Any]:
        told = list_stories(
            store, limit=max(1, min(limit, 500)), min_size=max(0, min(min_size, MAX_SIZE))
        )
        return {"stories": [story.to_json() for story in told]}

    @app.get("/api/sources")
    def api_sources() -> dict[str, Any]:
        return {"sources": [s.__dict__ for s in archive.sources()]}

    @app.post("/api/sources", status_code=201, dependencies=[Depends(admin)])
    def api_add_source(body: SourceIn) -> dict[str, Any]:
        try:  # a plain def: run in a worker thread, so the check's own event loop is its own
            added, checked = new_source(
                archive, body.url, name=body.name, slug=body.slug, category=body.category,
                check=body.check,
            )  # fmt: skip
        except NewsvaultError as exc:
            raise HTTPException(400, str(exc)) from None
        return {**added.__dict__, "added": True, "found_in": checked.page if checked else None}

    @app.delete("/api/sources/{slug}", dependencies=[Depends(admin)])
    def api_remove_source(slug: str) -> dict[str, Any]:
        try:
            archive.remove_source(slug)
        except NewsvaultError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"slug": slug, "removed": True}

    register_status(app, store, settings, page)  # GET /status: health, jobs, failing jobs

    # -- the static site ----------------------------------------------------------------------

    app_nav = {
        "<!--newsvault:app-links-->": env.get_template("app_links.html").render(),
        "<!--newsvault:app-search-->": env.get_template("app_search.html").render(),
    }

    @app.get("/index.html")
    def static_home() -> RedirectResponse:  # the app's home shows all the static one does
        return RedirectResponse("/", status_code=308)

    @app.get("/{path:path}")
    def site_file(path: str, if_none_match: Annotated[str | None, Header()] = None):
        # media/ comes from the archive's own copy (the site's may lag behind a new mirror)
        if path.startswith("media/"):
            target = _inside(archive.root / "media", path.removeprefix("media/"))
        else:
            target = _inside(archive.root / "site", path)
        if not SITE_FILES.match(path) or target is None:
            return page("message.html", status=404, message=words["not_found"])
        stat = target.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        if if_none_match and etag in (tag.strip() for tag in if_none_match.split(",")):
            return Response(status_code=304, headers={"ETag": etag})
        if target.suffix != ".html":
            return FileResponse(target, media_type=TYPES.get(target.suffix), headers={"ETag": etag})
        html = target.read_text(encoding="utf-8")
        for marker, links in app_nav.items():  # a page of the site gets the app's search too
            # (an article page's sandbox takes no form: its search box is the link to /search)
            sandboxed = path.startswith("articles/") and marker.endswith("search-->")
            html = html.replace(marker, "" if sandboxed else links, 1)
        return HTMLResponse(html, headers={"ETag": etag})

    return app


def server_config(
    root: Path, host: str = "127.0.0.1", port: int = 8000, *, watch: bool = False,
    events: EventLog | None = None,
) -> uvicorn.Config:  # fmt: skip
    """uvicorn as `newsvault serve` runs it: forwarding headers are never taken from uvicorn
    (the app reads them from serve.trusted_proxies only), request heads are capped."""
    return uvicorn.Config(
        create_app(root, watch=watch, events=events),
        host=host,
        port=port,
        log_level="warning",
        http="h11",
        proxy_headers=False,
        forwarded_allow_ips="",
        h11_max_incomplete_event_size=MAX_HEAD,
    )


def _inside(folder: Path, path: str) -> Path | None:
    """The file `path` names inside `folder`, or None: no `.`/`..` or empty segment, no
    backslash or NUL, and nothing that resolves (through a symlink) outside `folder`."""
    if "\\" in path or "\x00" in path or {"", ".", ".."} & set(path.split("/")):
        return None
    base = folder.resolve()
    target = (base / path).resolve()
    return target if target.is_relative_to(base) and target.is_file() else None


OUTCOMES = (
    ("failed: ", "outcome_failed"),
    ("no article found: ", "outcome_no_article"),
    ("internal error: ", "outcome_internal"),
)


def _said(message: str, words: dict[str, str]) -> str:
    """A job's one-line outcome in the interface's language: what happened in its words,
    then the reason as the fetcher or the extractor gave it."""
    for prefix, key in OUTCOMES:
        if message.startswith(prefix):
            return words[key] + message.removeprefix(prefix)
    return message


def _id(text: str) -> int | None:
    """A database id written in ASCII digits, or None (out of range included)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def _marked(snippet: str) -> str:
    """A search snippet as HTML: only the <mark> tags search put there survive."""
    parts = re.split(r"(</?mark>)", snippet)
    return "".join(p if p in ("<mark>", "</mark>") else escape(p) for p in parts)
