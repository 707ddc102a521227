"""One rule for days and zones: a bare date is a day in UTC+8, a range's last day is
included everywhere, times are shown in UTC+8 on the command line as on the site, and a
bare date is shown as a date, with no invented 00:00."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from newsvault.archive import Archive
from newsvault.cli import app
from newsvault.days import date_only, shown
from newsvault.feeds import parse_feed
from newsvault.loopback import LoopbackServer, Route
from newsvault.models import to_ms

from .conftest import make_archive

runner = CliRunner()
TEXT = "双方签署全面战略伙伴关系条约，涉及经济、军事与科技合作。" * 12


def feed(dates: list[str]) -> bytes:
    items = "".join(
        f"<item><title>条约 {n}</title><link>https://n.example/{n}</link>"
        f"<dc:date>{day}</dc:date><description>{TEXT}</description></item>"
        for n, day in enumerate(dates)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>N</title>'
        f"<link>https://n.example/</link>{items}</channel></rss>"
    ).encode()


def test_a_bare_date_is_that_day_in_utc8_and_shown_as_a_date() -> None:
    (item,) = parse_feed(feed(["2024-06-20"]), "application/rss+xml", "https://n.example/").items
    ms = to_ms(item.published)
    assert date_only(ms) and shown(ms) == "2024-06-20"
    assert shown(ms + 60_000) == "2024-06-20T00:01:00+08:00"


def test_the_until_day_is_included_by_search_and_export_alike(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set("/feed.xml", Route(feed(["2024-06-19", "2024-06-20", "2024-06-21"]),
                                  headers={"Content-Type": "application/rss+xml"}))  # fmt: skip
    root = tmp_path / "news"
    make_archive(root, [("n", "N", server.url("/feed.xml"))])
    with (root / "newsvault.toml").open("a") as config:
        config.write('fetch_full = "never"\n')
    assert runner.invoke(app, ["-a", str(root), "run"]).exit_code == 0
    a = ["-a", str(root)]
    found = runner.invoke(app, [*a, "search", "条约", "--until", "2024-06-20", "--json"])
    exported = runner.invoke(app, [*a, "export", "--until", "2024-06-20"])
    titles = sorted(hit["title"] for hit in json.loads(found.stdout))
    assert titles == ["条约 0", "条约 1"]
    assert sorted(json.loads(line)["title"] for line in exported.stdout.splitlines()) == titles
    listed = runner.invoke(app, [*a, "list"]).stdout
    assert "2024-06-20" in listed and not re.search(r"2024-06-20T00:00", listed)
    store = Archive(root).store()
    (article,) = [x for x in store.articles() if x.title == "条约 1"]
    store.close()
    shown_json = json.loads(runner.invoke(app, [*a, "show", str(article.id), "--json"]).stdout)
    assert shown_json["published"] == "2024-06-20T00:00:00+08:00"  # the same day as the site


def test_show_says_whether_an_article_is_only_its_feeds_summary(
    tmp_path: Path, server: LoopbackServer
) -> None:
    summary = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>N</title>'
        f"<link>{server.base_url}/</link><item><title>短讯</title>"
        f"<link>{server.base_url}/gone.html</link><description>一句摘要。</description></item>"
        "</channel></rss>"
    ).encode()
    server.set("/feed.xml", Route(summary, headers={"Content-Type": "application/rss+xml"}))
    root = tmp_path / "news"
    make_archive(root, [("n", "N", server.url("/feed.xml"))])
    runner.invoke(app, ["-a", str(root), "run"])  # its page is a 404: the summary is kept
    (listed,) = json.loads(runner.invoke(app, ["-a", str(root), "list", "--json"]).stdout)
    shown_json = runner.invoke(app, ["-a", str(root), "show", str(listed["id"]), "--json"])
    assert json.loads(shown_json.stdout)["summary_only"] is True
