"""Politeness against a loopback server: robots.txt, Crawl-delay, fetch.host_delay and
Retry-After. Timings are lower bounds with slack only (the server logs when each request
arrived); nothing here asserts that anything is fast."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import replace
from email.utils import formatdate
from itertools import pairwise
from pathlib import Path

import pytest

from newsvault.errors import HTTPStatusError, NetworkError, RobotsDisallowed
from newsvault.fetch import robots
from newsvault.fetch.client import Fetcher, FetchOptions, retry_after
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive
from .test_cli import cli
from .test_pages import ARTICLE

TEXT = {"Content-Type": "text/plain"}
SLACK = 0.25  # seconds a request may arrive earlier than its start was spaced (latency)


def robots_route(text: str, **kwargs: object) -> Route:
    return Route(text.encode(), headers=TEXT, **kwargs)  # type: ignore[arg-type]


def fetch_all(options: FetchOptions, urls: list[str], **kwargs: object) -> list[object]:
    """Fetch every URL concurrently with one Fetcher; each result is a Response or the error.

    Given up after a minute, so that a fetcher that waits for an hour's Retry-After fails a
    test instead of hanging it (every fetch here takes a few seconds at most)."""

    async def go() -> list[object]:
        async with Fetcher(options) as fetcher:
            jobs = (fetcher.get(url, **kwargs) for url in urls)  # type: ignore[arg-type]
            return list(await asyncio.gather(*jobs, return_exceptions=True))

    return asyncio.run(asyncio.wait_for(go(), timeout=60))


def arrivals(server: LoopbackServer, *paths: str) -> list[float]:
    return sorted(r.at for r in server.requests if not paths or r.path in paths)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(times)]


def host(server: LoopbackServer) -> str:
    return server.base_url.removeprefix("http://")


# -- robots.txt -----------------------------------------------------------------------------


def test_a_disallowed_url_is_not_requested_and_an_allowed_one_is(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /private/\n"))
    server.set("/private/a?x=1", Route(b"secret"))
    server.set("/private/a", Route(b"secret"))
    server.set("/public", Route(b"news"))
    refused, allowed = fetch_all(
        fast_options, [server.url("/private/a?x=1"), server.url("/public")]
    )
    assert isinstance(refused, RobotsDisallowed)
    assert str(refused) == (
        f"{server.url('/private/a?x=1')}: robots.txt of {host(server)} disallows "
        "/private/a?x=1 for newsvault; a URL submitted by a person is archived anyway"
    )
    assert server.hits("/private/a") == 0
    assert allowed.body == b"news"  # type: ignore[attr-defined]
    assert [r.path for r in server.requests] == ["/robots.txt", "/public"]


def test_the_rules_are_read_as_google_does() -> None:
    rules = robots.parse_robots(
        "http://news.example.com/robots.txt",
        b"\xef\xbb\xbfUser-agent: *\nDisallow: /\n\n"  # a BOM, and a group for everyone else
        b"User-agent: newsvault\nDisallow: /*.pdf$\nDisallow: /news/\nAllow: /news/public/\n",
        time.monotonic(),
    )
    verdicts = {
        path: rules.refusal(f"http://news.example.com{path}") is None
        for path in ("/", "/a.pdf", "/a.pdf?download=1", "/news/1", "/news/public/1")
    }
    assert verdicts == {
        "/": True,  # our group replaces the `*` one
        "/a.pdf": False,  # wildcard and end anchor
        "/a.pdf?download=1": True,
        "/news/1": False,
        "/news/public/1": True,  # the longer Allow wins over the shorter Disallow
    }


def test_robots_txt_is_read_once_per_origin(fast_options: FetchOptions) -> None:
    with LoopbackServer() as one, LoopbackServer() as two:
        for server in (one, two):
            server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /no\n"))
        urls = [s.url(f"/page/{n}") for n in range(15) for s in (one, two)]
        urls += [one.url("/no"), two.url("/no")]
        results = fetch_all(fast_options, urls)
        assert (one.hits("/robots.txt"), two.hits("/robots.txt")) == (1, 1)
        assert sum(isinstance(r, RobotsDisallowed) for r in results) == 2
        assert one.hits("/no") == two.hits("/no") == 0


def test_robots_false_fetches_a_disallowed_url(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /\n"))
    server.set("/asked", Route(b"archived anyway"))
    (response,) = fetch_all(fast_options, [server.url("/asked")], robots=False)
    assert response.body == b"archived anyway"  # type: ignore[attr-defined]
    assert server.hits("/robots.txt") == 0


def test_respect_robots_off_never_reads_robots_txt(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /\n"))
    server.set("/page", Route(b"page"))
    options = replace(fast_options, respect_robots=False)
    (response,) = fetch_all(options, [server.url("/page")])
    assert response.body == b"page"  # type: ignore[attr-defined]
    assert server.hits("/robots.txt") == 0


@pytest.mark.parametrize("status", [404, 410, 403])
def test_a_missing_robots_txt_allows_everything(
    server: LoopbackServer, fast_options: FetchOptions, status: int
) -> None:
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /\n", status=status))
    server.set("/page", Route(b"page"))
    (response,) = fetch_all(fast_options, [server.url("/page")])
    assert response.body == b"page"  # type: ignore[attr-defined]
    assert server.hits("/robots.txt") == 1  # a 4xx is not retried


def test_a_5xx_robots_txt_means_crawl_nothing_for_a_while(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/robots.txt", robots_route("oops", status=500))
    server.set("/a", Route(b"a"))
    server.set("/b", Route(b"b"))
    first, second = fetch_all(fast_options, [server.url("/a"), server.url("/b")])
    assert isinstance(first, RobotsDisallowed) and isinstance(second, RobotsDisallowed)
    assert f"robots.txt of {host(server)} answered HTTP 500" in str(first)
    assert "asked again after 10 minutes" in str(first) and "\n" not in str(first)
    assert server.hits("/a") == server.hits("/b") == 0
    assert server.hits("/robots.txt") == 1 + fast_options.retries  # retried, then remembered
    (submitted,) = fetch_all(fast_options, [server.url("/a")], robots=False)
    assert submitted.body == b"a"  # type: ignore[attr-defined]


def test_robots_txt_is_asked_again_and_rules_read_earlier_outlive_a_5xx(
    server: LoopbackServer, fast_options: FetchOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(robots, "ROBOTS_TTL", 0.0)  # every URL asks again
    monkeypatch.setattr(robots, "FAILURE_TTL", 0.0)
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /private\n"))
    server.set("/public", Route(b"public"))

    async def go() -> list[object]:
        async with Fetcher(fast_options) as fetcher:
            results: list[object] = [await fetcher.get(server.url("/public"))]
            server.set("/robots.txt", robots_route("down", status=503))
            for path in ("/public", "/private"):
                try:
                    results.append(await fetcher.get(server.url(path)))
                except RobotsDisallowed as exc:
                    results.append(exc)
            server.set("/robots.txt", robots_route("", status=404))
            results.append(await fetcher.get(server.url("/private")))
            return results

    server.set("/private", Route(b"private"))
    first, during, refused, after = asyncio.run(go())
    assert first.body == during.body == b"public"  # type: ignore[attr-defined]
    assert "disallows /private" in str(refused)  # the earlier rules, not "crawl nothing"
    assert after.body == b"private"  # type: ignore[attr-defined]
    assert server.hits("/robots.txt") == 1 + 2 * (1 + fast_options.retries) + 1


def test_an_unreachable_robots_txt_allows_and_is_not_remembered_long(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /\n", delay=3))
    server.set("/page", Route(b"page"))
    options = FetchOptions(timeout=0.5, retries=0, host_delay=0, allow_private_networks=True)
    (response,) = fetch_all(options, [server.url("/page")])
    assert response.body == b"page"  # type: ignore[attr-defined]
    rules = robots.rules_after_error(
        "http://x.test/robots.txt", NetworkError("u", "reset"), None, 100.0
    )
    assert rules.refusal("http://x.test/a") is None and rules.expires == 100.0 + 600


def test_an_oversized_robots_txt_is_ignored(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    huge = "User-agent: *\nDisallow: /\n" + "# padding\n" * 60_000  # 600 KB
    server.set("/robots.txt", robots_route(huge))
    server.set("/page", Route(b"page"))
    (response,) = fetch_all(fast_options, [server.url("/page")])
    assert response.body == b"page"  # type: ignore[attr-defined]


def test_crawl_delay_is_read_for_our_token_and_capped() -> None:
    def delay(text: str) -> float:
        return robots.parse_robots("http://x.test/robots.txt", text.encode(), 0.0).crawl_delay

    assert delay("User-agent: *\nCrawl-delay: 2.5\n") == 2.5
    assert delay("User-agent: newsvault\nCrawl-delay: 5\n\nUser-agent: *\nCrawl-delay: 1\n") == 5
    assert delay("User-agent: *\nCrawl-delay: 86400\n") == robots.MAX_CRAWL_DELAY == 60
    assert delay("User-agent: *\nCrawl-delay: -3\n") == delay("User-agent: *\n") == 0


# -- spacing ----------------------------------------------------------------------------------


def test_crawl_delay_spaces_the_requests_to_a_host(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/robots.txt", robots_route("User-agent: *\nCrawl-delay: 1\n"))
    for name in ("a", "b"):
        server.set(f"/{name}", Route(name.encode()))
    fetch_all(fast_options, [server.url("/a"), server.url("/b")])  # host_delay is 0
    times = arrivals(server)
    assert len(times) == 3  # robots.txt, then the two pages
    assert all(gap >= 1.0 - SLACK for gap in gaps(times)), gaps(times)


def test_host_delay_spaces_concurrent_requests(server: LoopbackServer) -> None:
    for n in range(3):
        server.set(f"/{n}", Route(b"x"))
    options = FetchOptions(
        host_delay=1.0, per_host=3, respect_robots=False, allow_private_networks=True
    )
    fetch_all(options, [server.url(f"/{n}") for n in range(3)])
    times = arrivals(server)
    assert len(times) == 3
    assert all(gap >= 1.0 - SLACK for gap in gaps(times)), gaps(times)


def test_per_host_still_bounds_requests_in_flight(server: LoopbackServer) -> None:
    server.set("/slow", Route(b"x", delay=0.5))
    server.set("/slow2", Route(b"x", delay=0.5))
    options = FetchOptions(
        host_delay=0, per_host=1, respect_robots=False, allow_private_networks=True
    )
    fetch_all(options, [server.url("/slow"), server.url("/slow2")])
    (gap,) = gaps(arrivals(server))
    assert gap >= 0.5  # the second waited for the first's answer


# -- Retry-After ------------------------------------------------------------------------------


def switch_after_first_hit(server: LoopbackServer, path: str, then: Route) -> threading.Thread:
    def switch() -> None:
        while server.hits(path) < 1:
            time.sleep(0.001)
        server.set(path, then)

    helper = threading.Thread(target=switch)
    helper.start()
    return helper


def test_retry_after_is_waited_for(server: LoopbackServer, fast_options: FetchOptions) -> None:
    server.set("/busy", Route(b"later", status=503, headers={"Retry-After": "1"}))
    helper = switch_after_first_hit(server, "/busy", Route(b"now"))
    (response,) = fetch_all(fast_options, [server.url("/busy")])  # backoff is 0.01 s
    helper.join()
    assert response.body == b"now"  # type: ignore[attr-defined]
    (gap,) = gaps(arrivals(server, "/busy"))
    assert gap >= 1.0


def test_retry_after_holds_the_other_requests_to_the_host(
    server: LoopbackServer, fast_options: FetchOptions
) -> None:
    server.set("/busy", Route(b"later", status=429, headers={"Retry-After": "1"}))
    server.set("/other", Route(b"other"))
    helper = switch_after_first_hit(server, "/busy", Route(b"now"))

    async def go() -> None:
        async with Fetcher(fast_options) as fetcher:
            busy = asyncio.create_task(fetcher.get(server.url("/busy")))
            while not fetcher._hold and not busy.done():  # until the 429 has been read
                await asyncio.sleep(0.001)
            assert fetcher._hold, "a Retry-After holds the host"
            await fetcher.get(server.url("/other"))
            await busy

    asyncio.run(go())
    helper.join()
    (first_busy,) = arrivals(server, "/busy")[:1]
    (other,) = arrivals(server, "/other")
    assert other - first_busy >= 1.0


@pytest.mark.parametrize("header", ["3600", "a day from now, as an HTTP-date"])
def test_a_retry_after_beyond_the_cap_gives_up_in_one_line(
    server: LoopbackServer, fast_options: FetchOptions, header: str
) -> None:
    if header != "3600":  # made when the test runs, not when it is collected
        header = formatdate(time.time() + 86_400, usegmt=True)
    server.set("/busy", Route(b"come back tomorrow", status=503, headers={"Retry-After": header}))
    (error,) = fetch_all(fast_options, [server.url("/busy")])
    assert isinstance(error, HTTPStatusError) and error.status == 503
    assert "Retry-After" in str(error) and "longer than the 120s newsvault waits" in str(error)
    assert ("retry after 3,600s" if header == "3600" else "retry after 86,") in str(error)
    # (86,399 or 86,400 s: the date has whole seconds)
    assert "\n" not in str(error) and error.response.body == b"come back tomorrow"  # type: ignore[attr-defined]
    assert server.hits("/busy") == 1


def test_retry_after_values() -> None:
    now = 1_700_000_000.0
    assert retry_after("120", now) == 120.0
    assert retry_after(formatdate(now + 30, usegmt=True), now) == 30.0
    assert retry_after(formatdate(now - 30, usegmt=True), now) == 0.0  # already past
    for junk in (None, "", "soon", "-5", "1.5", "١٢"):
        assert retry_after(junk, now) is None, junk


# -- the callers ------------------------------------------------------------------------------


def test_run_honours_robots_txt_and_a_submitted_url_is_archived_anyway(
    tmp_path: Path, server: LoopbackServer
) -> None:
    feed = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>D</title>
    <item><title>Rain at last</title><link>{server.url("/news/rain.html")}</link>
    <description>Rain fell.</description></item></channel></rss>""".encode()
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /news/\n"))
    server.set("/feed.xml", Route(feed, headers={"Content-Type": "application/rss+xml"}))
    server.set("/news/rain.html", Route(ARTICLE, headers={"Content-Type": "text/html"}))
    root = tmp_path / "news"
    make_archive(root, [("daily", "Daily", server.url("/feed.xml"))])
    cli("-a", str(root), "run")
    (article,) = json.loads(cli("-a", str(root), "list", "--json").output)
    assert article["text"] == "Rain fell."  # the summary: its page was not crawled
    assert server.hits("/news/rain.html") == 0
    (submitted,) = json.loads(
        cli("-a", str(root), "archive", server.url("/news/rain.html"), "--json").output
    )
    # the page is kept beside the feed's text, never compared with it: not an edit
    assert submitted["outcome"] == "first page"
    shown = json.loads(cli("-a", str(root), "show", str(article["id"]), "--format", "json").output)
    assert shown["versions"] == 0
    assert server.hits("/news/rain.html") == 1


def test_a_followed_feed_is_polled_even_where_robots_txt_disallows_it(
    tmp_path: Path, server: LoopbackServer
) -> None:
    feed = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>D</title>
    <item><title>Rain at last</title><link>{server.url("/a/rain.html")}</link>
    <description>Rain fell.</description></item></channel></rss>""".encode()
    server.set("/robots.txt", robots_route("User-agent: *\nDisallow: /feeds/\n"))
    server.set("/feeds/all.xml", Route(feed, headers={"Content-Type": "application/rss+xml"}))
    root = tmp_path / "news"
    make_archive(root, [("daily", "Daily", server.url("/feeds/all.xml"))])
    cli("-a", str(root), "run")
    assert len(json.loads(cli("-a", str(root), "list", "--json").output)) == 1
