"""Recovery from web archives, against loopback stand-ins for the Wayback Machine and
archive.today (tests/fake_services.py): an article archived from its feed's summary whose
page then goes, recovered as a marked version, on request and on its own (recover.auto);
which copy is chosen; the copy read as the original site's page; the fetch path's guard and
limits on copies; Save Page Now."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.fetch.api import ApiClient
from newsvault.logs import EventLog
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import to_ms
from newsvault.recover.copies import parse_cdx, parse_timemap
from newsvault.recover.save import ensure_save_jobs, run_save_job, save_step
from newsvault.settings import Settings
from newsvault.store.saves import SaveStore
from newsvault.watch.daemon import BackgroundWatcher, Watcher

from .conftest import archive_sql, make_archive
from .fake_services import FakeArchiveToday, FakeWayback
from .test_watch import summary_feed as feed
from .test_watch import until

runner = CliRunner()
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
UTC = dt.UTC
FULL = "朝鲜与俄罗斯签署全面战略伙伴关系条约，双方承诺在遭受侵略时相互提供军事援助。"


def page(title: str, first: str = FULL, paragraphs: int = 8) -> bytes:
    rest = "段：条约涉及经济、军事与科技合作的多项内容，分析人士认为影响深远。"
    body = "".join(f"<p>{first if n == 0 else f'第{n}{rest}'}</p>" for n in range(paragraphs))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        "</article></body></html>"
    ).encode()


NOTICE = "<html><body><div class='tips'>该内容已被发布者删除</div></body></html>".encode()


@pytest.fixture
def wayback() -> Iterator[FakeWayback]:
    with FakeWayback() as running:
        yield running


@pytest.fixture
def archive_today() -> Iterator[FakeArchiveToday]:
    with FakeArchiveToday() as running:
        yield running


def newsroom(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, today: FakeArchiveToday,
    slugs: list[str], *, extra: str = "", **fetch: object,
) -> Path:  # fmt: skip
    """An archive following one feed of summaries whose pages are never fetched."""
    server.set("/feed.xml", Route(feed(server.base_url, slugs), headers=RSS))
    for slug in slugs:
        server.set(f"/a/{slug}.html", Route(page(f"{slug} 报道"), headers=HTML))
    root = make_archive(tmp_path / "news", [], **fetch).root
    with (root / "newsvault.toml").open("a") as config:
        config.write(
            f'\n[[sources]]\nslug = "n"\nname = "N"\nurl = "{server.url("/feed.xml")}"\n'
            'fetch_full = "never"\n'
            f'\n[recover]\nwayback_url = "{wayback.base_url}"\n'
            f'archive_today_url = "{today.base_url}"\n{extra}'
        )
    return root


def cli(root: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["-a", str(root), *args])
    assert result.exit_code == code, (args, result.exit_code, result.output, result.exception)
    return result.output


def ids(root: Path) -> dict[str, int]:
    return {a["title"].split()[0]: a["id"] for a in json.loads(cli(root, "list", "--json"))}


def gone_since(root: Path, article_id: int, moment: dt.datetime) -> None:
    archive_sql(
        root,
        "UPDATE article_status SET gone_since = :at WHERE article_id = :id",
        {"at": to_ms(moment), "id": article_id},
    )


def jobs(root: Path, kind: str) -> list[tuple[str, int | None]]:
    rows = archive_sql(root, "SELECT target, finished FROM jobs WHERE kind = :k", {"k": kind})
    return [tuple(row) for row in rows]


def gone_article(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, today: FakeArchiveToday,
    status: int, day: dt.datetime,
) -> tuple[Path, int, str]:  # fmt: skip
    """An archive whose one article (from its feed's summary) a re-check found gone with
    this status, on `day`: (the archive, the article's id, its URL)."""
    root = newsroom(tmp_path, server, wayback, today, ["one"])
    cli(root, "run")
    article_id = ids(root)["one"]
    server.set("/a/one.html", Route(b"gone", status=status))
    cli(root, "recheck", str(article_id), "--json")
    gone_since(root, article_id, day)
    return root, article_id, server.url("/a/one.html")


def test_a_gone_article_is_recovered_from_the_wayback_machine_as_a_marked_version(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(tmp_path, server, wayback, archive_today, ["one"], extra="auto = true\n")
    cli(root, "run")
    article_id = ids(root)["one"]
    summary = json.loads(cli(root, "show", str(article_id)))
    assert summary["summary_only"] and FULL not in summary["text"]
    url = server.url("/a/one.html")
    captured = dt.datetime(2024, 6, 19, 3, 45, 12, tzinfo=UTC)
    wayback.capture(url, captured, page("one 报道"))

    server.set("/a/one.html", Route(b"not found", status=404))
    checked = json.loads(cli(root, "recheck", str(article_id), "--json"))
    assert checked[0]["status"] == "gone"
    assert jobs(root, "recover") == [(str(article_id), None)]  # recover.auto: queued

    events = io.StringIO()
    background = BackgroundWatcher(Watcher(root, EventLog("json", events), kinds=["recover"]))
    background.start()
    try:
        until(lambda: jobs(root, "recover")[0][1] is not None, "the recover job")
    finally:
        background.stop()
    logged = [json.loads(line) for line in events.getvalue().splitlines()]
    (recovered,) = [e for e in logged if e["event"] == "recover"]
    assert recovered["outcome"] == "recovered" and "/web/20240619034512id_/" in recovered["copy"]

    shown = json.loads(cli(root, "show", str(article_id)))
    assert shown["text"] == summary["text"]  # newsvault's own capture is never replaced
    assert shown["versions"] == 1 and shown["status"] == "gone"
    (copy,) = shown["recovered"]
    assert copy["from"] == "web.archive.org" and copy["title"] == "one 报道"
    assert copy["captured"] == "2024-06-19T11:45:12+08:00"
    assert copy["mark"] == "recovered from web.archive.org, 2024-06-19T11:45:12+08:00"
    assert copy["url"] == f"{wayback.base_url}/web/20240619034512id_/{url}"
    assert wayback.cdx_queries[0]["output"] == ["json"]

    again = json.loads(cli(root, "recover", str(article_id), "--json"))
    assert again[0]["outcome"] == "recovered before"  # the same copy is not kept twice
    diff = json.loads(cli(root, "diff", str(article_id), "--json"))
    assert [v["origin"] for v in diff["versions"]][-1] == "recovered"


def test_the_newest_copy_from_before_the_article_went_missing_is_taken_first(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    june20 = dt.datetime(2024, 6, 20, tzinfo=UTC)
    root, article_id, url = gone_article(tmp_path, server, wayback, archive_today, 410, june20)
    assert jobs(root, "recover") == []  # recover.auto is off by default: nobody was asked
    assert not wayback.requests and not archive_today.requests
    older = "朝俄签约前夕，双方代表团在平壤举行了最后一轮磋商，外界高度关注。"
    wayback.capture(url, dt.datetime(2024, 6, 1, tzinfo=UTC), page("one 报道", older))
    wayback.capture(url, dt.datetime(2024, 6, 15, tzinfo=UTC), page("one 报道"))
    wayback.capture(url, dt.datetime(2024, 6, 25, tzinfo=UTC), NOTICE)  # after it went
    archive_today.capture(url, dt.datetime(2024, 6, 10, tzinfo=UTC), page("one 报道", older))

    (report,) = json.loads(cli(root, "recover", str(article_id), "--json"))
    assert report["outcome"] == "recovered" and report["from"] == "web.archive.org"
    assert report["captured"] == "2024-06-15T08:00:00+08:00"
    (query,) = wayback.cdx_queries  # the newest three up to the day it went missing
    assert (query["to"], query["limit"], query["url"]) == (["20240620000000"], ["-3"], [url])
    fetched = [r.path for r in wayback.requests if r.path.startswith("/web/")]
    assert fetched == [f"/web/20240615000000id_/{url}"]  # the newest before, and only it
    (copy,) = json.loads(cli(root, "show", str(article_id)))["recovered"]
    assert copy["captured"] == "2024-06-15T08:00:00+08:00"


def test_only_copies_after_it_went_missing_then_the_oldest_that_holds_it(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    june20 = dt.datetime(2024, 6, 20, tzinfo=UTC)
    root, article_id, url = gone_article(tmp_path, server, wayback, archive_today, 404, june20)
    wayback.capture(url, dt.datetime(2024, 6, 21, tzinfo=UTC), NOTICE)  # a deletion notice
    archive_today.capture(url, dt.datetime(2024, 6, 22, tzinfo=UTC), page("one 报道"))

    (report,) = json.loads(cli(root, "recover", str(article_id), "--json"))
    assert report["outcome"] == "recovered" and report["from"] == "archive.today"
    (passed_over,) = report["tried"]  # the notice holds no article: passed over
    assert "/web/20240621000000id_/" in passed_over and "no article found" in passed_over
    (copy,) = json.loads(cli(root, "show", str(article_id)))["recovered"]
    assert copy["mark"] == "recovered from archive.today, 2024-06-22T08:00:00+08:00"
    version = Archive(root).store().watch.recovered(article_id)[0]
    assert "archive.today webpage capture" not in version.html  # its chrome is not the article
    assert FULL in version.html


def test_a_copy_is_read_as_the_original_sites_page_with_its_rule(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(tmp_path, server, wayback, archive_today, [])
    url = server.url("/news/2024/one.html")
    rules = root / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "loop.toml").write_text(
        'name = "环回新闻"\nslug = "loop"\nhosts = ["127.0.0.1"]\ntitle = ["h1.headline"]\n'
        'body = ["div.story"]\nremove = ["div.share"]\n',
        encoding="utf-8",
    )
    story = "".join(f"<p>{FULL}第{n}段。</p>" for n in range(6))
    copy = (
        "<html><head><title>site | 一</title></head><body><h1 class='headline'>环回报道</h1>"
        f"<div class='story'>{story}<div class='share'>分享到微博</div></div>"
        "<div class='sidebar'>热门推荐：别的新闻</div></body></html>"
    ).encode()
    wayback.capture(url, dt.datetime(2024, 6, 15, tzinfo=UTC), copy)

    (report,) = json.loads(cli(root, "recover", url, "--json"))  # never archived
    assert report["outcome"] == "new article" and report["url"] == url
    article = json.loads(cli(root, "show", str(report["article"])))
    assert article["source"] == "loop" and article["title"] == "环回报道"  # the site's rule
    assert "分享到微博" not in article["text"] and "热门推荐" not in article["text"]
    assert article["versions"] == 1 and article["recovered"][0]["from"] == "web.archive.org"
    assert (root / article["path"]).is_file()  # the markdown is written
    (same,) = json.loads(cli(root, "recover", url, "--json"))
    assert same["outcome"] == "recovered before"


def test_a_copy_that_says_what_was_archived_is_not_kept_and_no_copy_fails(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(tmp_path, server, wayback, archive_today, ["two"])
    server.set("/a/one.html", Route(page("one 报道"), headers=HTML))
    (archived,) = json.loads(cli(root, "archive", server.url("/a/one.html"), "--json"))
    one = archived["article"]["id"]
    wayback.capture(
        server.url("/a/one.html"), dt.datetime(2024, 6, 15, tzinfo=UTC), page("one 报道")
    )
    (report,) = json.loads(cli(root, "recover", str(one), "--json"))
    assert report["outcome"] == "same as archived"  # the page newsvault captured itself
    shown = json.loads(cli(root, "show", str(one)))
    assert shown["versions"] == 0 and shown["recovered"] == []

    cli(root, "run")
    out = cli(root, "recover", str(ids(root)["two"]), code=1)  # no archive holds it
    assert "no copy found" in out


def test_archives_out_of_reach_fail_with_their_reason(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(tmp_path, server, wayback, archive_today, ["one"])
    cli(root, "run")
    article_id = ids(root)["one"]
    wayback.broken = True
    archive_today.stop()
    (report,) = json.loads(cli(root, "recover", str(article_id), "--json", code=1))
    assert report["outcome"].startswith("failed: web.archive.org: HTTP 503")
    assert "archive.today" in report["outcome"]


def test_copies_go_through_the_fetchers_guard_and_limits(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(
        tmp_path, server, wayback, archive_today, ["one", "big"], allow_private_networks=False,
        allowed_addresses=["127.0.0.1"], max_bytes=200_000,
    )  # fmt: skip
    cli(root, "run")
    found = ids(root)
    one, big = server.url("/a/one.html"), server.url("/a/big.html")
    # a TimeMap naming a copy at a private address: refused without a request
    archive_today.copies[one] = [("20240615000000", page("one 报道"))]
    timemap = archive_today._timemap

    def hostile(url: str):  # type: ignore[no-untyped-def]
        answer = timemap(url)
        answer.text = answer.text.replace(archive_today.base_url, "http://10.1.2.3")
        return answer

    archive_today._timemap = hostile  # type: ignore[method-assign]
    (refused,) = json.loads(cli(root, "recover", str(found["one"]), "--json", code=1))
    assert any("10.1.2.3" in line and "private" in line for line in refused["tried"])
    wayback.capture(big, dt.datetime(2024, 6, 15, tzinfo=UTC), page("big 报道", paragraphs=9000))
    (large,) = json.loads(cli(root, "recover", str(found["big"]), "--json", code=1))
    assert any("fetch.max_bytes" in line for line in large["tried"])


def test_a_page_that_fails_for_good_as_it_is_archived_queues_its_recovery(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(tmp_path, server, wayback, archive_today, [], extra="auto = true\n")
    server.set("/a/x.html", Route(b"no", status=404))
    server.set("/a/y.html", Route(b"busy", status=503))
    cli(root, "archive", server.url("/a/x.html"), server.url("/a/y.html"), code=1)
    assert jobs(root, "recover") == [(server.url("/a/x.html"), None)]  # not the 503


def test_parsers_read_the_documented_formats() -> None:
    cdx = (
        b'[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],\n'
        b' ["org,archive)/", "19970126045828", "http://www.archive.org:80/", "text/html", "200",'
        b' "Q4YULN754FHV2U6Q5JUT6Q2P57WEWNNY", "1415"],\n'
        b' ["org,archive)/", "19971011050034", "http://www.archive.org:80/", "text/html", "302",'
        b' "XAHDNHZ5P3GSSSNJ3DMEOJF7BMCCPZR3", "1402"],\n [],\n'
        b' ["org%2Carchive%29%2F+19980109140106%21"]]'
    )
    (copy,) = parse_cdx(cdx, "https://web.archive.org")
    assert copy.url == "https://web.archive.org/web/19970126045828id_/http://www.archive.org:80/"
    assert parse_cdx(b"[]", "https://web.archive.org") == []
    timemap = (
        b'<http://a.example.org>;rel="original",\n'
        b"<http://arxiv.example.net/timemap/http://a.example.org>\n"
        b'  ; rel="self";type="application/link-format"\n'
        b'  ; from="Tue, 20 Jun 2000 18:02:59 GMT"\n'
        b'  ; until="Wed, 09 Apr 2008 20:30:51 GMT",\n'
        b'<http://arxiv.example.net/timegate/http://a.example.org>\n  ; rel="timegate",\n'
        b"<http://arxiv.example.net/web/20000620180259/http://a.example.org>\n"
        b'  ; rel="first memento";datetime="Tue, 20 Jun 2000 18:02:59 GMT"\n'
        b'  ; license="http://creativecommons.org/publicdomain/zero/1.0/",\n'
        b"<http://arxiv.example.net/web/20091027204954/http://a.example.org>\n"
        b'   ; rel="last memento";datetime="Tue, 27 Oct 2009 20:49:54 GMT"\n'
    )
    first, last = parse_timemap(timemap, "http://a.example.org")
    assert first.original == "http://a.example.org" and first.timestamp == "20000620180259"
    assert last.public_url == "https://archive.ph/20091027204954/http://a.example.org"


# -- Save Page Now ---------------------------------------------------------------------------


def test_save_page_now_asks_for_each_new_article_once_and_reports_failures(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(
        tmp_path, server, wayback, archive_today, ["old"],
        extra='save_to = ["wayback"]\nsave_interval = "20s"\n',
    )  # fmt: skip
    cli(root, "run")  # archived before saving began: not given to Save Page Now
    archive = Archive(root)
    store = archive.store()
    now = to_ms(time.time())
    ensure_save_jobs(store, archive.settings, now=now)
    server.set("/feed.xml", Route(feed(server.base_url, ["old", "a", "b", "c"]), headers=RSS))
    for slug in "abc":
        server.set(f"/a/{slug}.html", Route(page(f"{slug} 报道"), headers=HTML))
    cli(root, "run")
    urls = {slug: server.url(f"/a/{slug}.html") for slug in ("a", "b", "c")}
    wayback.save_refused[urls["b"]] = "error:blocked-url"

    async def steps(count: int) -> list:
        async with ApiClient(archive.settings.fetch_options()) as api:
            return [
                await save_step(api, store, archive.settings, "wayback", now=now)
                for _ in range(count)
            ]

    wayback.save_busy = True
    (busy,) = asyncio.run(steps(1))
    assert busy.busy and "429" in busy.outcome and SaveStore(store.engine).counts() == {}
    wayback.save_busy = False
    outcomes = [r.outcome for r in asyncio.run(steps(8)) if r is not None]
    assert outcomes.count("submitted") == 2 and outcomes.count("saved") == 2
    assert "pending" in outcomes and "failed: HTTP 200: error:blocked-url" in " ".join(outcomes)
    assert sorted(wayback.saved) == sorted(urls.values())  # each once, never the old one
    counts = SaveStore(store.engine).counts()
    assert counts == {"done": 2, "failed": 1}
    listed = json.loads(cli(root, "saves", "--json"))
    assert listed["saves"][0]["state"] == "failed"  # failures first
    assert "error:blocked-url" in listed["saves"][0]["message"]
    assert "Save Page Now requests: 2 done, 1 failed." in cli(root, "saves")
    (job,) = store.jobs.claim("t", now=now, lease_ms=60_000, limit=1, kinds=["save"])
    asyncio.run(run_save_job(store, archive.settings, job, now=now))
    assert store.jobs.get("save", "wayback").due == now + 20_000  # one request per interval

    off = Settings({"recover": {"save_to": []}}, environ={})
    ensure_save_jobs(store, off, now=now)  # saving turned off, then on again later
    server.set("/feed.xml", Route(feed(server.base_url, ["old", "a", "b", "c", "d"]), headers=RSS))
    server.set("/a/d.html", Route(page("d 报道"), headers=HTML))
    cli(root, "run")
    ensure_save_jobs(store, archive.settings, now=now)
    assert asyncio.run(steps(1)) == [None]  # what was archived while it was off: not asked
    store.close()


def test_save_page_now_out_of_reach_never_blocks_archiving(
    tmp_path: Path, server: LoopbackServer, wayback: FakeWayback, archive_today: FakeArchiveToday
) -> None:
    root = newsroom(
        tmp_path, server, wayback, archive_today, ["a"],
        extra='save_to = ["wayback"]\nsave_interval = "1s"\n',
    )  # fmt: skip
    wayback.broken = True
    events = io.StringIO()
    background = BackgroundWatcher(Watcher(root, EventLog("json", events)))
    background.start()
    try:
        until(lambda: '"event": "save"' in events.getvalue(), "the save job")
    finally:
        background.stop()
    assert "a" in ids(root)  # archived all the same
    logged = [json.loads(line) for line in events.getvalue().splitlines()]
    (saved,) = [e for e in logged if e["event"] == "save"]
    assert saved["outcome"].startswith("busy: HTTP 503") and saved["level"] == "info"
    assert not [e for e in logged if e["event"] == "error"]
    assert SaveStore(Archive(root).store().engine).counts() == {}  # asked again later
