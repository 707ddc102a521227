"""The web app, served by uvicorn on 127.0.0.1: the JSON API over real HTTP, and the pages in
a real headless Chromium (Debian's, driven by Playwright), with screenshots kept in
test-artifacts/ at phone and desktop width."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from newsvault.loopback import LoopbackServer, Route
from newsvault.stories.process import process_pending
from newsvault.web.app import create_app
from newsvault.web.submissions import Refused, validate_url

from .conftest import make_archive
from .feedgen import rss
from .test_pages import ARTICLE
from .test_publishers import prose
from .test_site import DOMXSS, article, seeded
from .test_site_first_hour import THIRD_TEXT
from .test_site_first_hour import configure as configure_source

ARTIFACTS = Path(
    os.environ.get("NEWSVAULT_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts")
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "s3cret-token"
LEAVES_LOOPBACK = re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*")  # the archive's remote images


@contextmanager
def serving(root: Path) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(root), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def call(method: str, url: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(url, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, data, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers


def wait_done(base: str, submission: int) -> dict:
    deadline = time.monotonic() + 60
    while True:
        status, job, _ = call("GET", f"{base}/api/submissions/{submission}")
        assert status == 200
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def configure(root: Path, text: str) -> None:
    config = root / "newsvault.toml"
    config.write_text(config.read_text() + "\n" + text + "\n")


def test_api_submissions_articles_search_and_admin(tmp_path: Path, server: LoopbackServer) -> None:
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    server.set("/doc.pdf", Route(b"%PDF-1.5", headers={"Content-Type": "application/pdf"}))
    root = tmp_path / "news"
    make_archive(root, [])
    configure(root, f'[serve]\nadmin_token = "{TOKEN}"\nsubmissions_per_minute = 5\n')
    with serving(root) as base:
        status, job, _ = call(
            "POST", f"{base}/api/submissions", {"url": server.url("/news/rain.html")}
        )
        assert status == 202 and job["status"] == "queued"
        done = wait_done(base, job["id"])
        assert done["status"] == "done" and done["article_id"]
        status, article, headers = call("GET", f"{base}/api/articles/{done['article_id']}")
        assert status == 200 and article["title"] == "Rain at last"
        assert headers["X-Content-Type-Options"] == "nosniff"
        again = call("POST", f"{base}/api/submissions", {"url": server.url("/news/rain.html")})
        assert again[0] == 200 and again[1]["article_id"] == done["article_id"]
        failed = wait_done(
            base, call("POST", f"{base}/api/submissions", {"url": server.url("/doc.pdf")})[1]["id"]
        )
        assert failed["status"] == "failed" and "PDF" in failed["message"]

        assert call("POST", f"{base}/api/submissions", {"url": "ftp://example.org/x"})[0] == 400
        assert call("POST", f"{base}/api/submissions", {"url": ""})[0] == 400
        limited = call("POST", f"{base}/api/submissions", {"url": server.url("/news/rain.html")})
        assert limited[0] == 429 and "try again" in limited[1]["detail"]

        status, found, _ = call("GET", f"{base}/api/search?q=reservoirs")
        assert status == 200 and found["results"][0]["title"] == "Rain at last"
        for query in ('"', "NEAR(", "*", "-", "。。。", "x" * 5000):
            assert call("GET", f"{base}/api/search?q={urllib.request.quote(query)}")[0] in (
                200,
                400,
            )
        assert call("GET", f"{base}/api/stories")[0] == 200
        spec = call("GET", f"{base}/openapi.json")[1]
        for path in (
            "/api/submissions",
            "/api/submissions/{submission_id}",
            "/api/search",
            "/api/stories",
        ):
            assert path in spec["paths"], path

        page = f"{base}/articles/127-0-0-1/1048574.html"
        with urllib.request.urlopen(page, timeout=20) as response:
            policy = response.headers["Content-Security-Policy"]
            assert "Rain at last" in response.read().decode()
        assert (
            "sandbox" in policy
            and "default-src 'none'" in policy
            and "form-action 'none'" in policy
        )

        target = f"{base}/api/articles/{done['article_id']}"
        assert call("DELETE", target)[0] == 401
        assert call("DELETE", target, token="wrong")[0] == 401
        assert call("DELETE", target, token=TOKEN)[0] == 200
        assert call("GET", target)[0] == 404
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(page, timeout=20)
        feed = Route(rss("rain", 1), headers={"Content-Type": "application/rss+xml"})
        server.set("/feed.xml", feed)
        source = {"slug": "rain", "name": "Rain", "url": server.url("/feed.xml")}  # fetched once
        assert call("POST", f"{base}/api/sources", source)[0] == 401
        assert call("POST", f"{base}/api/sources", source, token=TOKEN)[0] == 201
        assert [s["slug"] for s in call("GET", f"{base}/api/sources")[1]["sources"]] == ["rain"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pw@example.org/",
        "http://example.org:99999/",
    ],
)
def test_private_and_non_web_addresses_are_refused(url: str) -> None:
    with pytest.raises(Refused):
        validate_url(url, allow_private=False)


def contrast(*colours: str) -> float:
    """The WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(c) for c in colours), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser tests need Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_site_in_a_real_browser(tmp_path: Path, server: LoopbackServer, browser) -> None:
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    archive = seeded(tmp_path / "news")
    store = archive.store()  # DOMPurify's 223 payloads as one stored article, unsanitized
    payloads = "".join(case["payload"] for case in DOMXSS)
    store.add_articles(
        store.ensure_source("rfa", "自由亚洲"), [article("rfa", 7, "载荷", payloads)], None
    )
    # titles of every length around a phone's line: one of them puts the outlet at its end
    title = "台湾立法院今日三读通过新的法案内容"
    headlines = [
        article("bannedbook", n, title[: 11 + n], f"<p>{prose(random.Random(n))}</p>", 40 + n)
        for n in range(8)
    ]
    twice = [
        article("bannedbook", n, f"转载的同一篇报道 {n}", f"<p>{THIRD_TEXT}</p>", 60 + n)
        for n in (8, 9)
    ]
    store.add_articles(store.ensure_source("bannedbook", "禁闻网"), headlines + twice, None)
    process_pending(store)
    store.close()
    configure_source(archive, "rfa", 'timezone = "Asia/Taipei"')
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with serving(archive.root) as base:
        for name, size in (("phone", (390, 844)), ("desktop", (1280, 800))):
            context = browser.new_context(
                viewport=dict(zip(("width", "height"), size, strict=True))
            )
            context.route(LEAVES_LOOPBACK, lambda route: route.abort())
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{base}/")
            assert page.locator("h2").first.is_visible() and page.locator("h1").count() == 1
            assert page.locator("details.copies").count() == 2  # rfa's and bannedbook's copy
            # an outlet's name is never broken inside a word ("禁闻/网"): one line box each
            lines = page.evaluate(
                "[...document.querySelectorAll('ul.articles .outlet')]"
                ".filter(e => !/\\s/.test(e.textContent.trim()))"
                ".map(e => e.getClientRects().length)"
            )
            assert len(lines) > 10 and set(lines) == {1}, lines
            page.screenshot(path=ARTIFACTS / f"home-{name}.png", full_page=True)
            assert page.request.get(f"{base}/favicon.ico").ok
            page.locator("ul.stories a").first.click()
            page.wait_for_url("**/stories/*.html")
            assert page.locator(".tag.first").count() == 1 and page.locator(".tag.copy").count()
            assert "(台北时间)" in page.locator("ol.told").inner_text()
            page.screenshot(path=ARTIFACTS / f"story-{name}.png", full_page=True)
            page.goto(f"{base}/days/2024-06-21.html")
            assert page.locator("nav.pages a").count() == 3  # the day before, all, the day after
            page.screenshot(path=ARTIFACTS / f"day-{name}.png", full_page=True)
            page.goto(f"{base}/days/index.html")
            assert page.locator("main h2").all_inner_texts() == ["2024年6月"]
            page.screenshot(path=ARTIFACTS / f"days-{name}.png", full_page=True)
            page.goto(f"{base}/")
            page.locator('ul.articles a[href$="articles/voa/1048574.html"]').first.click()
            page.wait_for_url("**/articles/voa/1048574.html", wait_until="commit")
            page.wait_for_load_state("load")  # the stylesheet too
            assert "平壤" in page.locator("article .body").inner_text()
            assert page.locator("article .body img").first.get_attribute("alt") == "普京与金正恩"
            assert "存档于" in page.locator("article .meta").first.inner_text()
            width = page.evaluate("getComputedStyle(document.body).maxWidth")
            assert width == "736px"  # the stylesheet loads under the strict policy
            page.screenshot(path=ARTIFACTS / f"article-{name}.png", full_page=True)
            page.goto(f"{base}/articles/rfa/1048573.html")  # the hostile article
            assert "正文" in page.locator("article .body").inner_text()
            page.goto(f"{base}/articles/rfa/1048572.html")  # every DOMPurify payload
            page.wait_for_timeout(500)
            context.close()
        assert dialogs == []  # no script from archived content ran

        page = browser.new_page()
        page.route(LEAVES_LOOPBACK, lambda route: route.abort())
        page.goto(f"{base}/search?q=%E6%99%AE%E4%B8%81")  # 普丁: the other name of 普京
        results = page.locator(".results li")
        assert results.count() == 2 and page.locator("mark").count() >= 2
        page.screenshot(path=ARTIFACTS / "search.png", full_page=True)
        page.emulate_media(color_scheme="dark")  # highlights readable in dark mode too
        colours = page.evaluate(
            "(() => { const s = getComputedStyle(document.querySelector('mark'));"
            " return [s.color, s.backgroundColor]; })()"
        )
        assert contrast(*colours) >= 4.5, colours
        page.screenshot(path=ARTIFACTS / "search-dark.png", full_page=True)
        page.emulate_media(color_scheme="light")

        page.goto(f"{base}/submit")
        page.fill("textarea[name=urls]", server.url("/news/rain.html"))
        page.click("main button[type=submit]")
        page.wait_for_url("**/submissions?ids=*")
        page.locator("li[data-status=done]").wait_for(timeout=60_000)
        page.screenshot(path=ARTIFACTS / "submission.png", full_page=True)
        page.locator("a.result").click()
        assert page.locator("article > h1").inner_text() == "Rain at last"
        with page.expect_download(timeout=20_000) as download:  # the sandbox allows downloads
            page.click("a[download]")
        assert download.value.suggested_filename.endswith(".warc.gz")
        page.goto(f"{base}/docs")  # Swagger UI from the package's own files, offline
        page.locator(".swagger-ui .opblock").first.wait_for(timeout=20_000)
        page.screenshot(path=ARTIFACTS / "docs.png", full_page=True)
        page.close()
