"""Edits and deletions on the static site, against a loopback newsroom whose pages change:
the notices on article pages, the versions page with its diff, the lists of deleted and of
edited articles and their feeds, and rebuilds that touch only the pages showing a change."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import feedparser

from newsvault.loopback import LoopbackServer, Route
from newsvault.models import CHINA_TIME

from .conftest import make_archive
from .test_recheck import EDITED, HTML, checks, cli, page

SLUGS = ("edited", "untouched", "notfound", "notice", "comeback")
GONE = ("notfound", "notice", "comeback")


def newsroom(server: LoopbackServer) -> None:
    """A feed of SLUGS, each item's page an article (short summaries: pages are fetched)."""
    items = "".join(
        f"<item><guid>{slug}</guid><title>{slug} 报道</title>"
        f"<link>{server.base_url}/a/{slug}.html</link><description>摘要。</description></item>"
        for slug in SLUGS
    )
    rss = f'<rss version="2.0"><channel><title>N</title><link>/</link>{items}</channel></rss>'
    server.set("/feed.xml", Route(rss.encode(), headers={"Content-Type": "application/rss+xml"}))
    for slug in SLUGS:
        server.set(f"/a/{slug}.html", Route(page(f"{slug} 报道"), headers=HTML))


def written(output: str) -> int:
    """The "pages written" of the lines `publish site` prints off a terminal (tab-separated:
    the names, then the numbers)."""
    lines = output.splitlines()
    (at,) = [n for n, line in enumerate(lines) if "pages written" in line.split("\t")]
    column = lines[at].split("\t").index("pages written")
    return int(lines[at + 1].split("\t")[column].replace(",", ""))


def linked(html: str) -> list[str]:
    """The article pages a list links to, in order."""
    return re.findall(r'href="\.\./articles/(n/\d+)\.html"', html)


def manifest(site: Path) -> dict[str, str]:
    return json.loads((site / ".manifest.json").read_text(encoding="utf-8"))


def rewritten(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """The pages whose digest changed between two builds (new ones included)."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def test_deleted_and_edited_articles_on_the_site(tmp_path: Path, server: LoopbackServer) -> None:
    newsroom(server)
    root = make_archive(tmp_path / "news", [("n", "N", server.url("/feed.xml"))]).root
    cli("-a", str(root), "run")
    found = json.loads(cli("-a", str(root), "list", "--json"))
    ids = {a["title"].split()[0]: a["id"] for a in found}
    path = {a["title"].split()[0]: f"n/{a['number']}" for a in found}
    assert set(ids) == set(SLUGS)
    site = root / "site"
    cli("-a", str(root), "publish", "site")
    first = manifest(site)

    server.set("/a/edited.html", Route(page("edited 报道", EDITED), headers=HTML))
    server.set("/a/notfound.html", Route(b"no", status=404))
    notice = "<html><body><div class='tips'>该内容已被发布者删除</div></body></html>"
    server.set("/a/notice.html", Route(notice.encode(), headers=HTML))
    server.set("/a/comeback.html", Route(b"gone", status=410))
    status = checks(root, "--all")
    assert {slug for slug, r in status.items() if r["status"] == "gone"} == set(GONE)
    assert [slug for slug, r in status.items() if r["edited"]] == ["edited"]
    assert written(cli("-a", str(root), "publish", "site")) == 10
    assert rewritten(first, manifest(site)) == {
        *(f"articles/{path[slug]}.html" for slug in (*GONE, "edited")),
        f"articles/{path['edited']}/versions.html",
        *("deleted/index.html", "feeds/deleted.atom", "edited/index.html", "feeds/edited.atom"),
        "index.html",
    }

    deleted = (site / "deleted/index.html").read_text(encoding="utf-8")
    assert sorted(linked(deleted)) == sorted(path[slug] for slug in GONE)
    assert "404" in deleted and "该内容已被发布者删除" in deleted
    edited = (site / "edited/index.html").read_text(encoding="utf-8")
    assert linked(edited) == [path["edited"]]
    assert f'href="../articles/{path["edited"]}/versions.html">已修改 1 次</a>' in edited
    for name, slugs in (("deleted", GONE), ("edited", ("edited",))):
        parsed = feedparser.parse((site / f"feeds/{name}.atom").read_bytes())
        assert parsed.bozo == 0 and parsed.version == "atom10", parsed.get("bozo_exception")
        assert sorted(e.title for e in parsed.entries) == sorted(f"{s} 报道" for s in slugs)
    (change,) = feedparser.parse((site / "feeds/edited.atom").read_bytes()).entries
    assert "<del>三</del><ins>二</ins>" in change.content[0].value
    gone_feed = feedparser.parse((site / "feeds/deleted.atom").read_bytes())
    notfound_entry = next(e for e in gone_feed.entries if e.title == "notfound 报道")
    content = notfound_entry.content[0].value
    assert "已被删除" in content and "404" in content and "第5段" in content  # the archived text
    home = (site / "index.html").read_text(encoding="utf-8")
    for link in ("deleted/index.html", "edited/index.html", "feeds/deleted.atom", "feeds/edited"):
        assert f'href="{link}' in home, link

    article = (site / f"articles/{path['edited']}.html").read_text(encoding="utf-8")
    assert f'<a href="../../articles/{path["edited"]}/versions.html">已修改 1 次</a>' in article
    assert "已被删除" not in article
    versions = (site / f"articles/{path['edited']}/versions.html").read_text(encoding="utf-8")
    changes, whole = versions.split("<details>", 1)
    assert "俄罗斯总统普京周<del>三</del><ins>二</ins>抵达平壤" in changes
    assert "第5段" not in changes and "第5段" in whole  # the changed paragraph, then all
    assert "版本 1" in versions and "版本 2" in versions and "<script" not in versions

    shown = json.loads(cli("-a", str(root), "show", str(ids["notfound"])))
    since = dt.datetime.fromisoformat(shown["gone_since"]).astimezone(CHINA_TIME)
    gone = (site / f"articles/{path['notfound']}.html").read_text(encoding="utf-8")
    title, rest = gone.split('<p class="notice gone">', 1)
    assert "<h1>notfound 报道</h1>" in title and rest.startswith("<strong>已被删除</strong>")
    notice_html = rest.split("</p>", 1)[0]
    assert since.strftime("%Y-%m-%d %H:%M") in notice_html and "(北京时间)" in notice_html
    assert shown["gone_reason"] in notice_html and "404" in notice_html
    assert "已修改" not in gone
    reason = (site / f"articles/{path['notice']}.html").read_text(encoding="utf-8")
    assert "该内容已被发布者删除" in reason.split('<p class="notice gone">', 1)[1]
    untouched = (site / f"articles/{path['untouched']}.html").read_text(encoding="utf-8")
    assert not any(word in untouched for word in ('class="notice', "已被删除", "已修改"))
    assert not (site / f"articles/{path['untouched']}").exists()

    assert written(cli("-a", str(root), "publish", "site")) == 0  # nothing changed
    checks(root, "--all")  # looked at again, nothing new found: still nothing to rewrite
    assert written(cli("-a", str(root), "publish", "site")) == 0

    before = manifest(site)
    server.set("/a/comeback.html", Route(page("comeback 报道"), headers=HTML))
    assert checks(root, str(ids["comeback"]))["comeback"]["status"] == "live"
    assert written(cli("-a", str(root), "publish", "site")) == 4
    assert rewritten(before, manifest(site)) == {
        f"articles/{path['comeback']}.html",
        "deleted/index.html",
        "feeds/deleted.atom",
        "index.html",  # it counts the deleted articles
    }
    assert "已被删除" not in (site / f"articles/{path['comeback']}.html").read_text("utf-8")
    deleted = (site / "deleted/index.html").read_text(encoding="utf-8")
    assert sorted(linked(deleted)) == sorted(path[slug] for slug in ("notfound", "notice"))


def test_english_words_and_empty_lists(tmp_path: Path, server: LoopbackServer) -> None:
    newsroom(server)
    root = make_archive(tmp_path / "news", [("n", "N", server.url("/feed.xml"))]).root
    config = root / "newsvault.toml"
    config.write_text(config.read_text().replace("[fetch]", '[site]\nlanguage = "en"\n\n[fetch]'))
    cli("-a", str(root), "run")
    cli("-a", str(root), "publish", "site")
    site = root / "site"
    assert "No deleted article noticed yet." in (site / "deleted/index.html").read_text("utf-8")
    assert "No edited article noticed yet." in (site / "edited/index.html").read_text("utf-8")
    for name in ("deleted", "edited"):
        parsed = feedparser.parse((site / f"feeds/{name}.atom").read_bytes())
        assert parsed.bozo == 0 and parsed.entries == []

    server.set("/a/edited.html", Route(page("edited 报道", EDITED), headers=HTML))
    server.set("/a/notfound.html", Route(b"no", status=404))
    checks(root, "--all")
    cli("-a", str(root), "publish", "site")
    found = {a["title"].split()[0]: a for a in json.loads(cli("-a", str(root), "list", "--json"))}
    edited = (site / f"articles/n/{found['edited']['number']}.html").read_text("utf-8")
    assert "edited 1 time</a>" in edited
    gone = (site / f"articles/n/{found['notfound']['number']}.html").read_text("utf-8")
    assert "<strong>deleted</strong>" in gone and "(UTC+8)" in gone and "reason" in gone
    versions = site / f"articles/n/{found['edited']['number']}/versions.html"
    assert "Version 2" in versions.read_text("utf-8")

    # two more deleted one after the other, the later one first, though archived earlier
    early, late = sorted(("untouched", "comeback"), key=lambda slug: -found[slug]["id"])
    for slug in (early, late):
        server.set(f"/a/{slug}.html", Route(b"gone", status=410))
        checks(root, str(found[slug]["id"]))
    cli("-a", str(root), "publish", "site")
    order = [late, early, "notfound"]
    listed = linked((site / "deleted/index.html").read_text("utf-8"))
    assert listed == [f"n/{found[slug]['number']}" for slug in order]
    entries = feedparser.parse((site / "feeds/deleted.atom").read_bytes()).entries
    assert [e.title for e in entries] == [f"{slug} 报道" for slug in order]


def test_the_app_serves_the_deleted_and_edited_pages(
    tmp_path: Path, server: LoopbackServer
) -> None:
    import urllib.request

    from .test_web import serving

    newsroom(server)
    root = make_archive(tmp_path / "news", [("n", "N", server.url("/feed.xml"))]).root
    cli("-a", str(root), "run")
    server.set("/a/notfound.html", Route(b"no", status=404))
    server.set("/a/edited.html", Route(page("edited 报道", EDITED), headers=HTML))
    checks(root, "--all")
    cli("-a", str(root), "publish", "site")
    with serving(root) as base:
        for path in ("/deleted/index.html", "/edited/index.html", "/feeds/deleted.atom"):
            with urllib.request.urlopen(base + path, timeout=20) as response:
                assert response.status == 200, path
        with urllib.request.urlopen(base + "/", timeout=20) as response:
            home = response.read().decode()
    assert "deleted/index.html" in home and "edited/index.html" in home
