"""Re-checks against a loopback newsroom whose pages change during the test: an edit, each
kind of deletion, a page that comes back, a flaky server; `recheck`, `diff`, `show`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newsvault.cli import app
from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive

runner = CliRunner()
HTML = {"Content-Type": "text/html; charset=utf-8"}
SENTENCE = "俄罗斯总统普京周三抵达平壤，与朝鲜领导人金正恩举行会谈。"
EDITED = "俄罗斯总统普京周二抵达平壤，与朝鲜领导人金正恩举行会谈。"
SLUGS = ("edited", "untouched", "notfound", "gone410", "legal", "home", "notice", "empty", "flaky")


def page(title: str, first: str = SENTENCE) -> bytes:
    rest = "段：双方签署全面战略伙伴关系条约，涉及经济、军事与科技合作的多项内容。"
    body = "".join(f"<p>{first if n == 0 else f'第{n}{rest}'}</p>" for n in range(8))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        "</article></body></html>"
    ).encode()


def feed(base: str) -> bytes:
    items = "".join(
        f"<item><guid>{slug}</guid><title>{slug} 报道</title><link>{base}/a/{slug}.html</link>"
        "<description>摘要。</description></item>"
        for slug in SLUGS
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>N</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


def cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result.output


def checks(root: Path, *args: str, code: int = 0) -> dict[str, dict]:
    found = json.loads(cli("-a", str(root), "recheck", *args, "--json", code=code))
    return {r["url"].rsplit("/", 1)[-1].removesuffix(".html"): r for r in found}


def test_the_newsroom(tmp_path: Path, server: LoopbackServer) -> None:
    base = server.base_url
    server.set("/", Route(b"<html><body><a href='/a/x.html'>home</a></body></html>", headers=HTML))
    server.set("/feed.xml", Route(feed(base), headers={"Content-Type": "application/rss+xml"}))
    for slug in SLUGS:
        server.set(f"/a/{slug}.html", Route(page(f"{slug} 报道"), headers=HTML))
    root = make_archive(tmp_path / "news", [("n", "N", server.url("/feed.xml"))]).root
    cli("-a", str(root), "run")
    ids = {
        a["title"].split()[0]: a["id"] for a in json.loads(cli("-a", str(root), "list", "--json"))
    }
    assert set(ids) == set(SLUGS)

    first = checks(root, "--all")  # nothing changed yet: all live, nothing extracted again
    assert {slug: r["status"] for slug, r in first.items()} == dict.fromkeys(SLUGS, "live")
    assert all(r["same_bytes"] for r in first.values())

    server.set("/a/edited.html", Route(page("edited 报道", EDITED), headers=HTML))
    server.set("/a/notfound.html", Route(b"no", status=404))
    server.set("/a/gone410.html", Route(b"gone", status=410))
    server.set("/a/legal.html", Route(b"blocked", status=451))
    server.set("/a/home.html", Route(b"", redirect="/"))
    notice = "<html><body><div class='tips'>该内容已被发布者删除</div></body></html>"
    server.set("/a/notice.html", Route(notice.encode(), headers=HTML))
    server.set("/a/empty.html", Route(b"<html><body></body></html>", headers=HTML))
    server.set("/a/flaky.html", Route(b"busy", status=503))
    second = checks(root, "--all", code=1)  # 1: something was unreachable
    status = {slug: (r["status"], r["reason"]) for slug, r in second.items()}
    assert status["edited"][0] == "live" and second["edited"]["edited"]
    assert status["untouched"] == ("live", None) and not second["untouched"]["edited"]
    for slug in ("notfound", "gone410", "legal", "home", "notice", "empty"):
        assert status[slug][0] == "gone", (slug, status[slug])
    assert "404" in status["notfound"][1] and "410" in status["gone410"][1]
    assert "451" in status["legal"][1] and "该内容已被发布者删除" in status["notice"][1]
    assert status["flaky"][0] == "unreachable"

    shown = json.loads(cli("-a", str(root), "show", str(ids["notfound"])))
    assert shown["status"] == "gone" and "404" in shown["gone_reason"] and shown["gone_since"]
    assert shown["versions"] == 0
    edited = json.loads(cli("-a", str(root), "show", str(ids["edited"])))
    assert (edited["status"], edited["versions"]) == ("live", 1)
    for slug in SLUGS:
        if slug != "edited":
            assert json.loads(cli("-a", str(root), "show", str(ids[slug])))["versions"] == 0

    diff = json.loads(cli("-a", str(root), "diff", str(ids["edited"]), "--json"))
    (edit,) = [v for v in diff["versions"] if v["edit"]]
    changes = [change for paragraph in edit["diff"]["paragraphs"] for change in paragraph]
    assert ["delete", "三"] in changes and ["insert", "二"] in changes
    shown_diff = cli("-a", str(root), "diff", str(ids["edited"]))
    assert "普京周三二抵达平壤" in shown_diff and "第5段" not in shown_diff  # the changed one only

    # the deleted page comes back, the flaky server recovers
    server.set("/a/notfound.html", Route(page("notfound 报道"), headers=HTML))
    server.set("/a/flaky.html", Route(page("flaky 报道"), headers=HTML))
    third = checks(root, str(ids["notfound"]), str(ids["flaky"]))
    assert (third["notfound"]["status"], third["notfound"]["before"]) == ("live", "gone")
    assert (third["flaky"]["status"], third["flaky"]["before"]) == ("live", "unreachable")
    back = json.loads(cli("-a", str(root), "show", str(ids["notfound"])))
    assert back["status"] == "live" and back["gone_since"] is None and back["versions"] == 0
    status = json.loads(cli("-a", str(root), "status", "--json"))
    assert status["articles"] == {"gone": 5, "live": 4}  # "legal" 451, "home", "notice", ...
    assert status["jobs"]["recheck"]["later"] == len(SLUGS)
    assert "re-checked articles: 5 gone, 4 live" in cli("-a", str(root), "status")
    again = checks(root, str(ids["edited"]))  # the same edited page: no second version
    assert not again["edited"]["edited"]
    assert json.loads(cli("-a", str(root), "show", str(ids["edited"])))["versions"] == 1


def test_due_rechecks_follow_the_schedule(tmp_path: Path, server: LoopbackServer) -> None:
    base = server.base_url
    server.set("/feed.xml", Route(feed(base), headers={"Content-Type": "application/rss+xml"}))
    for slug in SLUGS:
        server.set(f"/a/{slug}.html", Route(page(f"{slug} 报道"), headers=HTML))
    root = make_archive(tmp_path / "news", [("n", "N", server.url("/feed.xml"))]).root
    (root / "newsvault.toml").write_text(
        (root / "newsvault.toml").read_text() + '\n[watch]\nrecheck = ["0s", "1d"]\n'
    )
    ran = cli("-a", str(root), "run")  # archived, and due at once: re-checked in the same run
    assert f"{len(SLUGS)} re-checks were due: 0 gone, 0 edited" in ran
    assert checks(root) == {}  # no article named: the due ones; the next step is a day away
    text = (root / "newsvault.toml").read_text().replace('"1d"', '"soon"')
    (root / "newsvault.toml").write_text(text)
    result = runner.invoke(app, ["-a", str(root), "list"])
    assert result.exit_code == 2 and "watch.recheck: 'soon' is not a duration" in result.stderr
