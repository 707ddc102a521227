"""Feeds built for tests: deterministic RSS documents with N items."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from xml.sax.saxutils import escape

START = dt.datetime(2024, 6, 19, 13, 39, 24, tzinfo=dt.UTC)


def rss(
    name: str,
    count: int,
    *,
    base: str = "https://news.example.com",
    encoding: str = "utf-8",
    body: str = "",
) -> bytes:
    """An RSS 2.0 feed, newest item first, each item with full content (plus `body`)."""
    items = []
    for n in reversed(range(count)):
        published = START + dt.timedelta(minutes=n)
        items.append(
            f"<item><title>{escape(name)} 新闻 {n}</title>"
            f"<link>{base}/{name}/{n}.html</link><guid>{name}-{n}</guid>"
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
            f"<description><![CDATA[<p>第{n}条新闻的摘要。</p>]]></description>"
            f"<content:encoded><![CDATA[<p>{escape(name)} 第{n}条新闻的全文。</p>\n"
            f'  <p>俄罗斯总统普京周三抵达平壤。<img src="/img/{n}.jpg" alt="图{n}"></p>{body}]]>'
            "</content:encoded></item>"
        )
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(name)}</title><link>{base}/</link><language>zh-cn</language>"
        + "".join(items)
        + "</channel></rss>"
    )
    return document.encode(
        "gb18030" if encoding.lower() in ("gbk", "gb2312", "gb18030") else encoding
    )
