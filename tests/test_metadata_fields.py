"""The editor, the photographers and the image credits a page prints reach the user: stored
(a migration adds their columns), `show --json`, the API's article, the site's article page
(an editor line, each photographer beside the picture), while the markdown archive keeps
its format byte for byte (no line it has no place for)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from newsvault.loopback import LoopbackServer, Route

from .conftest import make_archive
from .test_cli import cli
from .test_extract_metadata import PROSE
from .test_web import call, serving

PICTURE = "/img/rain.jpg"


def chinese_page(image: str) -> bytes:
    text = "".join(f"<p>{p}</p>" for p in PROSE)
    return (
        "<html><head><meta charset='utf-8'><title>本周后期全市将迎来明显降温_晨报网</title></head>"
        "<body><div class='nav'><a href='/'>首页</a></div><div class='article'>"
        "<h1>本周后期全市将迎来明显降温</h1>"
        "<div class='info'>2024-06-18 09:30 来源：晨报 记者 孙立平</div>"
        f"<div class='content'><p>{PROSE[0]}</p><p><img src='{image}'></p>"
        "<p style='text-align:center'>雨中的街道。城市摄影队 周斌 摄</p>"
        f"{text}<p>责任编辑：赵敏</p></div>"
        "<div class='tools'><a href='#'>分享</a> <a href='#'>打印</a></div></div></body></html>"
    ).encode()


def test_editor_and_photographer_reach_json_api_and_site(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set(
        "/news/cold.html",
        Route(chinese_page(server.url(PICTURE)), headers={"Content-Type": "text/html"}),
    )
    root = tmp_path / "news"
    make_archive(root, [])
    a = ("-a", str(root))
    done = json.loads(cli(*a, "archive", server.url("/news/cold.html"), "--json").output)
    article = done[0]["article"]
    assert (article["author"], article["editor"], article["photographer"]) == (
        "孙立平",
        "赵敏",
        "周斌",
    )
    shown = json.loads(cli(*a, "show", str(article["id"]), "--json").output)
    assert (shown["editor"], shown["photographer"]) == ("赵敏", "周斌")
    assert shown["images"] == [
        {"src": server.url(PICTURE), "caption": "雨中的街道。城市摄影队 周斌 摄", "credit": "周斌"}
    ]
    assert "责任编辑" not in shown["text"]

    markdown = (root / shown["path"]).read_text(encoding="utf-8")
    assert re.fullmatch(r"<!--\d+-->\n\[[^\n]+\]\([^\n]+\)\n------\n\n[^\n]+\n", markdown)
    assert "赵敏" not in markdown  # the editor has no place in the format

    with serving(root) as base:
        status, api, _ = call("GET", f"{base}/api/articles/{article['id']}")
    assert status == 200 and (api["editor"], api["photographer"]) == ("赵敏", "周斌")
    assert api["images"][0]["credit"] == "周斌"

    cli(*a, "publish", "site")
    page = (root / "site" / shown["path"].replace(".md", ".html")).read_text(encoding="utf-8")
    assert '<span class="editor">编辑：赵敏</span>' in page
    figure = re.search(r"<figure>.*?</figure>", page, re.S)
    assert figure is not None and "<figcaption>" in figure.group(0)
    assert '城市摄影队 <span class="credit">周斌</span> 摄' in figure.group(0)
