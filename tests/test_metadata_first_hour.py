"""Bylines as a new user reads them: an agency, a section or the outlet is not an author, and
the author is not shown twice."""

from __future__ import annotations

from newsvault.extract import extract
from newsvault.feeds import parse_feed

BODY = "".join(
    f"<p>第{n}段：立法院今日三读通过修正案，劳工团体在场外抗议，要求撤回条文。</p>"
    for n in range(6)
)


def feed(author: str, title: str = "苦勞網") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>https://www.coolloud.org.tw/</link><item><title>修法</title>"
        f"<link>https://www.coolloud.org.tw/node/1</link><dc:creator>{author}</dc:creator>"
        "<description>摘要</description></item></channel></rss>"
    ).encode()


def test_a_feed_author_that_is_an_agency_section_or_the_outlet_is_none() -> None:
    for author in ("苦勞報導", "新华社", "中央社"):
        (item,) = parse_feed(feed(author), "application/rss+xml", "https://x/").items
        assert item.author is None, author
    (item,) = parse_feed(feed("記者 王小明"), "application/rss+xml", "https://x/").items
    assert item.author == "王小明"


def test_the_author_alone_at_the_top_of_the_body_is_not_shown_twice() -> None:
    page = (
        '<html lang="zh-TW"><head><title>修法 - 某報</title><meta name="author" content="王小明">'
        f"</head><body><article><h1>修法</h1><p>記者 王小明</p>{BODY}</article></body></html>"
    ).encode()
    found = extract(page, "https://news.example/a/1.html", "text/html", rules=None)
    assert found.author == "王小明"
    assert "王小明" not in found.text and found.text.startswith("第0段")
