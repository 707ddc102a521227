"""The body finder (newsvault/extract/finder.py) on the kinds of page it has to tell apart."""

from __future__ import annotations

import subprocess
import sys

import lxml.html
import pytest

from newsvault.extract import extract
from newsvault.extract.finder import find_body
from newsvault.extract.metadata import element_text

PROSE = (
    "The council voted on Tuesday to rebuild the old bridge, after years of delays, "
    "arguments and two failed budgets; work starts in spring, officials said. "
)
CHINESE = "市政府周二决定重建老桥，工程将于明年春天开工，预计两年内完成，市民对此普遍表示欢迎。"
MENU = "".join(f'<li><a href="/s/{n}">Section {n}</a></li>' for n in range(30))
HEADLINES = "".join(f'<li><a href="/n/{n}">某地发生重要新闻事件第{n}条</a></li>' for n in range(30))


def page(body: str, title: str = "Bridge") -> bytes:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


def test_an_article_split_into_sibling_boxes_is_found_whole() -> None:
    """One article in several sibling boxes, each wrapping its paragraphs (as large English
    outlets print theirs): every box, not only the best one."""
    sizes = {1: 8, 2: 4, 3: 4}  # the boxes after the first score less than it, not much less
    boxes = "".join(
        f'<div class="column"><div class="inner"><p>Part {n}. {PROSE * size}</p>'
        f"<p>{PROSE * 2}</p></div></div>"
        for n, size in sizes.items()
    )
    body = f'<nav><ul>{MENU}</ul></nav><main><h1>Bridge</h1><section class="story">{boxes}'
    body += f'</section></main><div class="sidebar"><ul>{MENU}</ul></div>'
    found = find_body(lxml.html.document_fromstring(page(body).decode()))
    assert found is not None
    text = element_text(found.body)
    assert all(f"Part {n}." in text for n in range(1, 4)) and "Section 3" not in text


def test_links_after_the_article_are_not_its_text() -> None:
    related = "".join(
        f'<p><a href="/r/{n}">Another story number {n} to read</a></p>' for n in range(4)
    )
    body = f"<article><h1>Bridge</h1><p>{PROSE * 3}</p><p>{PROSE * 2}</p>"
    body += f"<p>You may also like...</p>{related}</article>"
    article = extract(page(body), "https://news.example.com/a", use_rules=False)
    assert PROSE.strip() in article.text
    assert "You may also like" not in article.text and "Another story" not in article.text


def test_a_list_of_headlines_loses_to_a_short_chinese_article() -> None:
    """Link lists and lists of addresses are text without sentences: the punctuated article
    wins, and a box of related headlines inside it is left out."""
    urls = "".join(f"<li>http://www.example{n}.gov.cn/ 某某部</li>" for n in range(40))
    body = (
        f'<div class="links"><ul>{HEADLINES}</ul></div><ul class="friends">{urls}</ul>'
        f'<div class="main"><h1>重建老桥</h1><div class="text"><p>{CHINESE}</p>'
        f'<p>{CHINESE}</p><div class="related"><h3>相关阅读</h3><ul>{HEADLINES}</ul></div></div>'
        "</div>"
    )
    found = find_body(lxml.html.document_fromstring(page(body, "重建老桥").decode()))
    assert found is not None and element_text(found.body) == CHINESE * 2


def test_a_teaser_inside_a_link_is_no_paragraph() -> None:
    teasers = "".join(
        f'<li><a href="/t/{n}"><div class="content">{CHINESE}{CHINESE}</div></a></li>'
        for n in range(5)
    )
    body = f'<div id="artibody"><p>{CHINESE}</p><p>{CHINESE[:30]}。</p></div><ul>{teasers}</ul>'
    found = find_body(lxml.html.document_fromstring(page(body, "重建老桥").decode()))
    assert found is not None and element_text(found.body) == CHINESE + CHINESE[:30] + "。"


def test_a_metadata_line_is_not_the_body() -> None:
    """A plain page's date and source line under its headline: out of the text, the source
    kept."""
    body = (
        '<article><h1>重建老桥</h1><div class="meta">2024年6月18日 09:30 来源：晨报</div>'
        f"<p>{CHINESE}</p><p>{CHINESE}</p></article>"
    )
    article = extract(page(body, "重建老桥"), "https://news.example.cn/a", use_rules=False)
    assert article.text.split("\n") == [CHINESE, CHINESE]
    assert article.origin == "晨报"
    english = f"<article><h1>Bridge</h1><p>Updated Nov 19, 6:55 AM</p><p>{PROSE * 3}</p></article>"
    found = extract(page(english), "https://news.example.com/a", use_rules=False)
    assert found.text == PROSE.strip() * 1 + " " + PROSE.strip() + " " + PROSE.strip()


def test_a_lazy_image_gets_its_real_address() -> None:
    img = (
        '<img class="lazy-image" src="https://cdn.example/missing-image.svg" '
        'data-src="https://cdn.example/photo.jpg" alt="The bridge">'
    )
    body = (
        f"<article><h1>Bridge</h1><p>{PROSE * 3}</p><figure>{img}</figure><p>{PROSE}</p></article>"
    )
    article = extract(page(body), "https://news.example.com/a", use_rules=False)
    assert [i["src"] for i in article.images] == ["https://cdn.example/photo.jpg"]


def test_no_peer_extractor_on_the_hot_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a peer extractor ran")

    monkeypatch.setattr("readability.Document", refuse)  # the peers are imported where they run
    monkeypatch.setattr("trafilatura.extract", refuse)
    chinese = f'<div class="text"><p>{CHINESE}</p><p>{CHINESE}</p></div>'
    assert extract(page(chinese, "重建老桥"), "https://n.example.cn/a", use_rules=False).text
    english = f"<article><p>{PROSE * 3}</p></article>"
    assert extract(page(english), "https://news.example.com/a", use_rules=False).text
    peers = extract(page(english), "https://news.example.com/a", use_rules=False, finder=None)
    assert peers.text  # the default is the finder


def test_the_peers_are_not_even_imported_on_the_hot_path() -> None:
    code = (
        "import sys; from newsvault.extract import extract; "
        f"extract({page(f'<article><p>{PROSE * 3}</p></article>')!r}, 'https://n.example/a'); "
        "print(sorted({'trafilatura', 'readability'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_region_is_a_copy() -> None:
    tree = lxml.html.document_fromstring(f"<body><div><p>{PROSE * 3}</p></div></body>")
    found = find_body(tree)
    assert found is not None and found.body.getparent() is None
    found.body.clear()
    assert PROSE.strip() in element_text(tree)


def test_boxes_of_one_template_are_one_article() -> None:
    """An article printed in several boxes of the same class, with figures between them: the
    boxes after the first are part of it even when they score far less."""
    boxes = [PROSE * 9, PROSE * 2, PROSE * 2]
    body = "".join(
        f'<div class="acf-content"><section><div><div class="text"><p>Box {n}. {text}</p>'
        f'</div></div></section></div><figure><img src="/{n}.jpg"></figure>'
        for n, text in enumerate(boxes, 1)
    )
    found = find_body(lxml.html.document_fromstring(page(f"<main>{body}</main>").decode()))
    assert found is not None
    text = element_text(found.body)
    assert all(f"Box {n}." in text for n in (1, 2, 3))


def test_an_article_inside_the_article_is_a_teaser() -> None:
    teasers = "".join(
        f'<article class="post"><h2>Other post {n}</h2><p>{PROSE}</p></article>' for n in range(3)
    )
    body = f'<article class="post"><h1>Bridge</h1><p>{PROSE * 4}</p><p>{PROSE * 3}</p>{teasers}'
    found = find_body(lxml.html.document_fromstring(page(body + "</article>").decode()))
    assert found is not None and "Other post" not in element_text(found.body)


@pytest.mark.parametrize("lines_in", ["font", "cell"])
def test_an_old_portal_page_in_a_table(lines_in: str) -> None:
    """A 2004 portal page: navigation, article and headlines in the cells of one table, the
    article's paragraphs lines between <br>s (of a <font>, or of the cell itself), the headline
    and a line of source and time above them, related links after them in the same cell."""
    nav = "".join(f'<a href="/c/{n}">频道{n}</a><br>' for n in range(20))
    links = "".join(f'<a href="/n/{n}">今日要闻标题第{n}条新闻内容</a><br>' for n in range(15))
    lines = "<br><br>".join(f"　　{CHINESE}{n}" for n in range(6))
    if lines_in == "font":
        lines = f'<font id="zoom" class=f14>{lines}</font>'
    cells = (
        f"<td width=150>{nav}</td><td width=460><font size=4><b>重建老桥</b></font><br>"
        "<font size=2>2004年03月05日09:30 新华网</font><br><br>"
        f"{lines}<br><br>相关链接<br>{links}</td><td width=150>{links}</td>"
    )
    html = page(f"<table><tr>{cells}</tr></table>", "重建老桥_新闻中心")
    article = extract(html, "http://news.example.com.cn/c/2004-03-05/1.shtml", use_rules=False)
    assert article.text.split("\n") == [f"{CHINESE}{n}" for n in range(6)]


def test_notices_at_the_ends_of_a_chinese_article_go() -> None:
    """A summary box above the text; below it, lines under lines: the source, the editor, a
    reprint notice, a call to log in, a box of further reading headed "延伸 · 推荐"."""
    teasers = "".join(f"<p>{CHINESE[:20]}，第{n}篇。</p>" for n in range(3))
    body = (
        f"<article><h1>重建老桥</h1><p>摘要：{CHINESE[:30]}</p><p>{CHINESE}</p><p>{CHINESE}</p>"
        "<p>本文来源：新京报</p><p>责编：赵某</p>"
        "<p>本文为原创文章，未经允许不得转载，如需转载请联系本网。</p><p>阅读全文，请先 登录</p>"
        f'<div class="box"><h3>延伸 · 推荐</h3>{teasers}</div></article>'
    )
    article = extract(page(body, "重建老桥"), "https://news.example.cn/a", use_rules=False)
    assert article.text.split("\n") == [CHINESE, CHINESE]
    assert article.origin == "新京报"


def test_a_forum_thread_is_its_first_post() -> None:
    def post(n: int, text: str) -> str:
        return (
            f'<div id="post_{n}"><table id="pid{n}"><tr><td class="pls"><a href="/u/{n}">'
            f'用户{n}</a><p>积分 100</p></td><td class="plc"><em>发表于 2012-3-{n} 10:00</em>'
            f'<div class="t_fsz"><table><tr><td class="t_f">{text}</td></tr></table></div>'
            "</td></tr></table></div>"
        )

    replies = "".join(
        post(n, f"顶一下，说得很有道理，支持楼主的观点。第{n}楼") for n in range(2, 8)
    )
    body = f'<div id="postlist">{post(1, "<br>".join([CHINESE] * 5))}{replies}</div>'
    article = extract(
        page(body, "重建老桥 - 论坛"), "http://bbs.example.cn/t-1.html", use_rules=False
    )
    assert article.text.split("\n") == [CHINESE] * 5


def test_the_lines_of_a_paragraph_stay_one_paragraph() -> None:
    verse = "<p><span>Line one,<br>line two,<br>line three.</span></p>"
    body = f"<article><h1>Bridge</h1><p>{PROSE * 3}</p>{verse}<p>{PROSE * 2}</p></article>"
    article = extract(page(body), "https://news.example.com/a", use_rules=False)
    assert verse in article.html
