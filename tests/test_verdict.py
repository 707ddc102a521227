"""The verdict on a re-fetched article: real responses from a loopback server, fetched by the
real Fetcher, and real extractions of small pages shaped like the ones sites serve."""

from __future__ import annotations

import asyncio
import socket
import tomllib
from collections.abc import Iterator

import opencc
import pytest

from newsvault.errors import FetchError, NoArticle
from newsvault.extract import Extraction, extract
from newsvault.fetch.client import Fetcher, FetchOptions, Response
from newsvault.loopback import LoopbackServer, Route
from newsvault.watch.verdict import (
    NOTICES,
    Verdict,
    fold,
    is_home_page,
    is_section_root,
    judge,
    notices,
    recheck,
    same_page,
    site,
)

HTML = {"Content-Type": "text/html; charset=utf-8"}
PARAGRAPHS = [
    "国家统计局周三公布的数据显示，五月份全国规模以上工业增加值同比增长百分之五点六，"
    "增速比上月有所回落，市场此前预期为百分之六。",
    "分析人士指出，房地产投资继续下滑，拖累了整体经济的复苏步伐，地方政府的债务压力也在"
    "持续加大，消费信心仍然疲弱。",
    "官方媒体援引一位经济学家的话说，下半年的政策重点将放在稳定就业和扩大内需上，央行可能"
    "进一步降低存款准备金率。",
    "与此同时，出口数据好于预期，五月份出口以美元计价同比增长百分之七点六，对东盟和欧盟的"
    "出口均有明显增长。",
]
REWRITTEN = [
    "一家网站的编辑部周四发表声明，回应读者对大量旧文章无法打开的质疑，称这是系统迁移造成的，"
    "并非有意删除，技术人员正在逐一恢复。",
    "声明说，读者在迁移期间点开旧链接时看到的提示，是服务器在找不到文件时自动显示的，与内容"
    "审核无关，恢复工作预计在一周内完成。",
    "不少读者对此表示怀疑，有人在社交媒体上贴出截图，显示同一批文章在迁移之前就已经打不开，"
    "而且都与近期的敏感事件有关。",
    "研究网络审查的学者说，删除与迁移在读者眼中难以区分，这正是独立存档的价值所在，"
    "存档让人可以核对原文究竟说了什么。",
]


def article_page(title: str, paragraphs: list[str], extra: str = "") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>首页</a> <a href='/news/'>新闻</a></nav>"
        f"<article><h1>{title}</h1>{extra}{body}</article>"
        f"<footer>版权所有 本网站</footer></body></html>"
    ).encode()


def list_page(title: str = "国内新闻") -> bytes:
    items = "".join(
        f"<li><a href='/news/2024/{i}.html'>第{i}条：国务院召开常务会议部署下一阶段经济工作"
        "</a></li>"
        for i in range(30)
    )
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1><ul>{items}</ul>".encode()
    )


def notice_page(notice: str, title: str = "") -> bytes:
    """Shaped like a WeChat article that is gone: scripts, an icon and the notice alone."""
    return (
        f"<html><head><title>{title}</title><script>var appmsg = {{}};</script></head><body>"
        "<div class='weui-msg'><div class='weui-msg__icon-area'><i class='weui-icon-warn'></i>"
        f"</div><div class='weui-msg__text-area'><h2 class='weui-msg__title'>{notice}</h2>"
        "</div></div><script>report('deleted');</script></body></html>"
    ).encode()


ARTICLE = article_page("五月经济数据出炉", PARAGRAPHS)


def fetch(options: FetchOptions, url: str) -> Response | FetchError:
    async def go() -> Response | FetchError:
        async with Fetcher(options) as fetcher:
            try:
                return await fetcher.get(url)
            except FetchError as exc:
                return exc

    return asyncio.run(go())


def check(options: FetchOptions, url: str, text: str) -> Verdict:
    async def go() -> Verdict:
        async with Fetcher(options) as fetcher:
            return await recheck(fetcher, url, text)

    return asyncio.run(go())


def archive(server: LoopbackServer, options: FetchOptions, path: str, page: bytes = ARTICLE):
    """Serve `page` at `path`, fetch and extract it as archiving does: (url, stored text)."""
    server.set(path, Route(page, headers=HTML))
    response = fetch(options, server.url(path))
    assert isinstance(response, Response)
    return response.url, extract(response.body, response.url, response.content_type).text


@pytest.fixture
def hosts(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """newsvault.test and its subdomains resolve to the loopback server (a hosts file for the
    real resolver the Fetcher uses); every other name resolves as usual."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and (host == "newsvault.test" or host.endswith(".newsvault.test")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield "newsvault.test"


def on(server: LoopbackServer, host: str, path: str) -> str:
    return server.url(path).replace("127.0.0.1", host)


# -- live ----------------------------------------------------------------------------------


def test_the_article_still_there_is_live(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/1.html")
    verdict = check(fast_options, url, text)
    assert verdict == Verdict("live") and verdict.reason == ""


def test_an_edited_article_is_live(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/1.html")
    server.set("/news/1.html", Route(article_page("更正", REWRITTEN), headers=HTML))
    assert check(fast_options, url, text).status == "live"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/news/1", "/news/1/"),  # a trailing slash
        ("/news/1.html", "/2024/06/19/news-1.html"),  # the canonical URL of the same article
        ("/news/1.html", "/news/"),  # a section root that still shows the article (rule 1)
    ],
)
def test_redirects_to_the_same_article_are_live(
    server: LoopbackServer, fast_options, path: str, target: str
) -> None:
    url, text = archive(server, fast_options, path)
    server.set(path, Route(status=301, redirect=target))
    server.set(target, Route(ARTICLE, headers=HTML))
    assert check(fast_options, url, text) == Verdict("live")


def test_a_move_to_the_www_host_is_live(server: LoopbackServer, fast_options, hosts) -> None:
    server.set("/news/1.html", Route(ARTICLE, headers=HTML))
    text = extract(ARTICLE, server.url("/news/1.html")).text
    bare, www = on(server, hosts, "/news/1.html"), on(server, "www." + hosts, "/news/1.html")
    server.set("/old/1.html", Route(status=301, redirect=www))
    assert check(fast_options, bare.replace("/news/", "/old/"), text) == Verdict("live")


def test_a_404_that_still_shows_the_article_is_live(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/1.html")
    server.set("/news/1.html", Route(ARTICLE, status=404, headers=HTML))
    assert check(fast_options, url, text).status == "live"


def test_an_article_quoting_a_notice_is_live(server: LoopbackServer, fast_options) -> None:
    quoting = [*REWRITTEN, "一位读者说，过去一个月里，他收藏的链接打开后大多显示“页面不存在”。"]
    url, text = archive(server, fast_options, "/news/9.html", article_page("旧文章去哪了", quoting))
    assert check(fast_options, url, text) == Verdict("live")
    # Rewritten, with the notice standing alone in a block of its own: the article is there.
    page = article_page("旧文章去哪了", PARAGRAPHS, extra="<blockquote>页面不存在</blockquote>")
    server.set("/news/9.html", Route(page, headers=HTML))
    assert check(fast_options, url, text) == Verdict("live")
    # The same block with the article gone is a notice.
    page = article_page("旧文章去哪了", [], extra="<blockquote>页面不存在</blockquote>")
    server.set("/news/9.html", Route(page, headers=HTML))
    assert check(fast_options, url, text) == Verdict(
        "gone", "notice", "deletion notice (not_found): 页面不存在"
    )


def test_a_notice_inside_a_sentence_does_not_count(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/notice/2024/1.html")
    boilerplate = (
        "本公司及董事会全体成员保证公告内容不存在虚假记载、误导性陈述或者重大遗漏，"
        "并对其内容的真实性、准确性和完整性承担个别及连带责任。"
    )
    server.set("/notice/2024/1.html", Route(article_page("公告", [boilerplate]), headers=HTML))
    assert check(fast_options, url, text) == Verdict("live")  # short, but no notice


def test_link_titles_are_never_a_notice(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/3.html")
    headline = "<li><a href='/news/4.html'>“页面不存在”的背后</a></li></ul>"
    page = list_page().replace(b"</ul>", headline.encode())
    server.set("/news/3.html", Route(page, headers=HTML))
    verdict = check(fast_options, url, text)
    assert (verdict.status, verdict.code) == ("gone", "empty")


def test_the_text_not_its_vocabulary_is_compared(server: LoopbackServer, fast_options) -> None:
    paragraphs = [
        "The city council voted on Tuesday to close three public libraries next year, citing "
        "a budget shortfall that officials said could reach forty million dollars.",
        "Residents who packed the chamber urged members to delay the decision, and several "
        "speakers said the branches were the only quiet place their children could study.",
        "The mayor said the council would look for private donors before the closures take "
        "effect in March, but warned that the gap was too large to close with gifts alone.",
    ]
    page = article_page("Council closes libraries", paragraphs)
    url, text = archive(server, fast_options, "/2024/06/libraries.html", page)
    home = article_page("Home", [" ".join(sorted(text.split()))])  # the same words, no text
    server.set("/", Route(home, headers=HTML))
    server.set("/2024/06/libraries.html", Route(status=301, redirect="/"))
    assert check(fast_options, url, text).code == "home-redirect"


# -- gone: the status, the redirect ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (404, "http 404: not found"),
        (410, "http 410: gone"),
        (451, "http 451: unavailable for legal reasons"),
    ],
)
def test_404_410_451_are_gone(server: LoopbackServer, fast_options, status, detail) -> None:
    url, text = archive(server, fast_options, "/news/1.html")
    server.set("/news/1.html", Route(b"<html><body>Not Found</body></html>", status=status))
    verdict = check(fast_options, url, text)
    assert verdict == Verdict("gone", f"http-{status}", detail)
    assert verdict.reason == f"http-{status}: {detail}"


@pytest.mark.parametrize("home", ["/", "/index.html", "/?from=article", "/default.aspx"])
def test_a_redirect_to_the_home_page_is_gone(server: LoopbackServer, fast_options, home) -> None:
    url, text = archive(server, fast_options, "/news/2024/1.html")
    server.set("/news/2024/1.html", Route(status=301, redirect=home))
    server.set(home.split("?")[0], Route(list_page("本网首页"), headers=HTML))
    verdict = check(fast_options, url, text)
    assert (verdict.status, verdict.code) == ("gone", "home-redirect")
    assert verdict.detail.startswith("redirected to the site's home page")


def test_a_redirect_to_the_www_home_page_is_gone(
    server: LoopbackServer, fast_options, hosts
) -> None:
    server.set("/", Route(list_page("本网首页"), headers=HTML))
    server.set("/news/1.html", Route(status=301, redirect=on(server, "www." + hosts, "/")))
    verdict = check(fast_options, on(server, hosts, "/news/1.html"), "".join(PARAGRAPHS))
    assert verdict.code == "home-redirect"
    # Any hop: through an error page on the mobile host to its home page.
    server.set("/news/2.html", Route(status=302, redirect="/error?code=404"))
    server.set("/error", Route(status=302, redirect=on(server, "m." + hosts, "/index.php")))
    server.set("/index.php", Route(list_page("手机版首页"), headers=HTML))
    verdict = check(fast_options, on(server, "news." + hosts, "/news/2.html"), "".join(PARAGRAPHS))
    assert verdict.code == "home-redirect"
    assert verdict.detail == (
        f"redirected to the site's home page ({on(server, 'm.' + hosts, '/index.php')})"
    )


def test_a_redirect_to_a_list_page_is_gone(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/2.html")
    server.set("/news/2.html", Route(status=301, redirect="/list/politics.html"))
    server.set("/list/politics.html", Route(list_page(), headers=HTML))
    response = fetch(fast_options, url)
    assert isinstance(response, Response)
    with pytest.raises(NoArticle, match="link titles"):  # the extractor's list-page judgement
        extract(response.body, response.url, response.content_type)
    assert judge(url, text, response) == Verdict(
        "gone", "list-redirect", f"redirected to a list page ({server.url('/list/politics.html')})"
    )


def test_a_redirect_to_a_section_root_is_gone(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/2024/3.html")
    section = b"<html><body><h1>News</h1><p>The latest from our newsroom.</p></body></html>"
    server.set("/news/", Route(section, headers=HTML))
    server.set("/about/", Route(section, headers=HTML))
    server.set("/news/2024/3.html", Route(status=301, redirect="/news/"))
    assert check(fast_options, url, text).code == "list-redirect"
    # The same short page elsewhere is only a page without an article.
    server.set("/news/2024/3.html", Route(status=301, redirect="/about/"))
    assert check(fast_options, url, text).code == "empty"
    # So is a list at the same address with a trailing slash: that is no redirect.
    server.set("/news/2024/3.html", Route(status=301, redirect="/news/2024/3.html/"))
    server.set("/news/2024/3.html/", Route(list_page(), headers=HTML))
    assert check(fast_options, url, text).code == "empty"


# -- gone: the page --------------------------------------------------------------------------


def test_a_wechat_deletion_page_is_gone(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/s/AbC123")
    server.set("/s/AbC123", Route(notice_page("该内容已被发布者删除"), headers=HTML))
    assert check(fast_options, url, text) == Verdict(
        "gone", "notice", "deletion notice (deleted_by_author): 该内容已被发布者删除"
    )


def test_a_traditional_script_notice_is_gone(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/s/DeF456")
    server.set("/s/DeF456", Route(notice_page("該內容已被刪除", title="提示"), headers=HTML))
    assert check(fast_options, url, text) == Verdict(
        "gone", "notice", "deletion notice (deleted): 该内容已被删除"
    )


def test_a_short_page_dominated_by_a_notice_is_gone(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/detail/4977")
    page = (
        "<html><head><title>微博</title></head><body><div class='wrap'>"
        "<p>该微博因被投诉违反法律法规和《微博社区公约》的有关规定，已被删除。"
        "<a href='/help'>查看帮助</a></p><p>如需帮助，请查看微博社区管理中心的相关规则说明，"
        "了解平台对违规内容的处理方式与申诉渠道，感谢您对微博社区秩序的理解与支持。</p>"
        "</div></body></html>"
    ).encode()
    server.set("/detail/4977", Route(page, headers=HTML))
    response = fetch(fast_options, url)
    assert isinstance(response, Response)
    found = extract(response.body, response.url, response.content_type)  # an "article" remains
    assert judge(url, text, response, found) == Verdict(
        "gone", "notice", "deletion notice (censored): 该微博因被投诉违反"
    )


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>x</title></head><body><div></div></body></html>",
        b"<html><body><p>Loading...</p></body></html>",
        b"",
    ],
)
def test_a_page_without_an_article_is_gone(server: LoopbackServer, fast_options, page) -> None:
    url, text = archive(server, fast_options, "/news/5.html")
    server.set("/news/5.html", Route(page, headers=HTML))
    verdict = check(fast_options, url, text)
    assert (verdict.status, verdict.code) == ("gone", "empty")
    assert verdict.detail.startswith("the page holds no article any more")


def test_the_callers_extraction_is_used(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/6.html")
    server.set("/news/6.html", Route(article_page("更正", REWRITTEN), headers=HTML))
    response = fetch(fast_options, url)
    assert isinstance(response, Response)
    assert judge(url, text, response).status == "live"
    tiny = Extraction(url=url, title="更正", html="<p>更正</p>", text="更正")
    assert judge(url, text, response, tiny) == Verdict(
        "gone", "empty", "the page holds no article any more (2 words)"
    )
    verdict = judge(url, text, response, NoArticle("the page is empty"))
    assert verdict.detail == "the page holds no article any more (the page is empty)"


# -- unreachable -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (503, "http-5xx", "http 503: service unavailable"),
        (500, "http-5xx", "http 500: internal server error"),
        (429, "http-429", "http 429: too many requests"),
        (403, "http-4xx", "http 403: forbidden"),
    ],
)
def test_server_trouble_is_unreachable(
    server: LoopbackServer, fast_options, status, code, detail
) -> None:
    url, text = archive(server, fast_options, "/news/7.html")
    server.set("/news/7.html", Route(b"<html><body>busy</body></html>", status=status))
    assert check(fast_options, url, text) == Verdict("unreachable", code, detail)


def test_a_timeout_is_unreachable(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/8.html")
    server.set("/news/8.html", Route(ARTICLE, headers=HTML, delay=2.0))
    options = FetchOptions(timeout=0.3, retries=0, allow_private_networks=True)
    verdict = check(options, url, text)
    assert (verdict.status, verdict.code) == ("unreachable", "timeout")
    assert "0.3s" in verdict.detail


def test_a_name_that_does_not_resolve_is_unreachable(fast_options) -> None:
    verdict = check(fast_options, "http://nosuch.invalid/news/1.html", "".join(PARAGRAPHS))
    assert verdict == Verdict("unreachable", "dns", "name does not resolve: nosuch.invalid")


def test_a_refused_connection_is_unreachable(fast_options) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verdict = check(fast_options, f"http://127.0.0.1:{port}/news/1.html", "正文")
    assert (verdict.status, verdict.code) == ("unreachable", "network")


def test_an_address_the_guard_refuses_is_unreachable(server: LoopbackServer, fast_options) -> None:
    url, text = archive(server, fast_options, "/news/1.html")
    verdict = check(FetchOptions(retries=0), url, text)  # private addresses refused
    assert (verdict.status, verdict.code) == ("unreachable", "refused")
    assert "private address" in verdict.detail


# -- URLs and the notices table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "original", "home", "section"),
    [
        ("https://www.example.com/", "http://news.example.com/a/1.html", True, False),
        (
            "https://m.example.com/index.html?from=404",
            "https://www.example.com/a/1.html",
            True,
            False,
        ),
        ("https://www.sina.com.cn/", "https://news.sina.com.cn/c/2024/1.shtml", True, False),
        ("https://www.other.com/", "https://www.example.com/a/1.html", False, False),
        ("https://www.example.com/a/1.html", "http://www.example.com/a/1.html", False, False),
        ("https://example.com/a/1/", "https://example.com/a/1", False, False),
        ("https://example.com/a/", "https://example.com/a/1.html", False, True),
        ("https://example.com/a/index.html", "https://example.com/a/b/1.html", False, True),
        ("https://example.com/a/1", "https://example.com/a/1/page-2", False, False),
        ("https://example.com/", "https://example.com/?p=123", True, False),
        ("https://example.com/?lang=en", "https://example.com/?p=123", False, False),
        ("https://example.com/?p=123&utm_source=rss", "https://example.com/?p=123", False, False),
    ],
)
def test_home_pages_and_section_roots(url, original, home, section) -> None:
    assert (is_home_page(url, original), is_section_root(url, original)) == (home, section)


def test_sites_and_same_pages() -> None:
    assert site("https://news.sina.com.cn/x") == "sina.com.cn"
    assert site("https://m.bbc.co.uk/x") == "bbc.co.uk"
    assert site("http://127.0.0.1:8080/x") == "127.0.0.1"
    assert same_page("https://www.example.com/A/1/", "http://m.example.com/a/1")
    assert not same_page("https://example.com/show.php?id=5", "https://example.com/show.php?id=6")


def test_the_notices_table() -> None:
    raw = tomllib.loads(NOTICES.read_text(encoding="utf-8"))["notice"]
    table = notices()
    assert len(table) == len(raw) and all(n.text and n.kind for n in table)
    texts = {n.text for n in table}
    for required in (
        "该内容已被删除", "此内容因违规无法查看", "该内容已被发布者删除",
        "此内容被投诉且经审核涉嫌侵权", "内容不存在", "页面不存在", "该帖子已被删除",
        "文章已被作者删除",
    ):  # fmt: skip
        assert required in texts
    folded = [n.folded for n in table]
    assert len(set(folded)) == len(folded), "two entries fold to the same text"
    assert [len(f) for f in folded] == sorted((len(f) for f in folded), reverse=True)
    # Written once: the traditional-script form of every entry folds back to it.
    for config in ("s2t", "s2tw", "s2hk"):
        converter = opencc.OpenCC(config)
        assert [fold(converter.convert(n.text)) for n in table] == folded
    assert fold("抱歉， 您訪問的頁面不存在！") == "抱歉,您访问的页面不存在!"
