"""Feeds: every format into one FeedItem model; bad documents get a one-line FeedError."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from newsvault.errors import FeedError
from newsvault.feeds import parse_feed

BASE = "https://news.example.com/feed.xml"

RSS2 = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>新闻</title><link>https://news.example.com/</link><language>zh-cn</language>
<item>
  <title> 普京与金正恩 签署条约 </title>
  <link>/a/1.html</link>
  <guid isPermaLink="false">item-1</guid>
  <pubDate>Wed, 19 Jun 2024 13:39:24 GMT</pubDate>
  <author>张三</author>
  <source url="https://newtalk.tw/rss">新头壳</source>
  <description>摘要</description>
  <content:encoded><![CDATA[<p>全文 <img src="/i/1.jpg" alt="图片说明"></p>]]></content:encoded>
  <enclosure url="https://img.example.com/e.jpg" type="image/jpeg" length="1"/>
</item>
<item><title>只有摘要</title><link>https://news.example.com/a/2.html?utm_source=rss#top</link>
  <description>&lt;p&gt;short&lt;/p&gt;</description></item>
</channel></rss>"""


def test_rss2_item_fields() -> None:
    feed = parse_feed(RSS2.format(encoding="utf-8").encode(), "application/rss+xml", BASE)
    assert (feed.title, feed.lang) == ("新闻", "zh-cn")
    first, second = feed.items
    assert first.key == "item-1"
    assert first.url == "https://news.example.com/a/1.html"
    assert first.title == "普京与金正恩 签署条约"
    assert first.published == dt.datetime(2024, 6, 19, 13, 39, 24, tzinfo=dt.UTC)
    assert first.author == "张三"
    assert first.origin == "新头壳"
    assert "全文" in first.content_html and not first.is_summary
    assert [i.src for i in first.images] == ["https://img.example.com/e.jpg"]
    # No guid: the identity is the canonical link, without tracking parameters or fragment.
    assert second.key == "https://news.example.com/a/2.html"
    assert second.is_summary and second.published is None


@pytest.mark.parametrize("encoding", ["gb2312", "gbk", "gb18030"])
def test_chinese_encodings_declared_in_the_document(encoding: str) -> None:
    body = RSS2.format(encoding=encoding).encode("gb18030")
    feed = parse_feed(body, "application/rss+xml", BASE)
    assert feed.items[0].title == "普京与金正恩 签署条约"


def test_header_charset_when_the_document_declares_none() -> None:
    body = RSS2.format(encoding="utf-8").replace(' encoding="utf-8"', "").encode("gb18030")
    feed = parse_feed(body, "text/xml; charset=GBK", BASE)
    assert feed.title == "新闻"


def test_big5_feed() -> None:
    body = """<?xml version="1.0" encoding="big5"?>
<rss version="2.0"><channel><title>苦勞網</title><language>zh-tw</language>
<item><title>普丁與金正恩簽署條約</title><link>https://tw.example.com/1</link>
<description>臺灣新聞</description></item></channel></rss>""".encode("big5")
    feed = parse_feed(body, None, BASE)
    assert (feed.title, feed.lang) == ("苦勞網", "zh-tw")
    assert feed.items[0].title == "普丁與金正恩簽署條約"


def test_atom() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title>
<link href="https://a.example.com/"/><id>urn:feed</id><updated>2024-06-20T02:30:00+08:00</updated>
<entry><title>Entry one</title><id>urn:entry:1</id>
<link rel="alternate" href="https://a.example.com/1"/>
<updated>2024-06-20T02:30:00+08:00</updated>
<author><name>Li Si</name></author>
<summary>short</summary>
<content type="html">&lt;p&gt;Full &lt;b&gt;text&lt;/b&gt;&lt;/p&gt;</content>
</entry></feed>"""
    item = parse_feed(atom, "application/atom+xml", BASE).items[0]
    assert (item.key, item.url, item.author) == ("urn:entry:1", "https://a.example.com/1", "Li Si")
    assert item.published == dt.datetime(2024, 6, 19, 18, 30, tzinfo=dt.UTC)
    assert "<b>text</b>" in item.content_html and not item.is_summary


def test_rss1_rdf() -> None:
    rdf = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://dw.example.com/"><title>DW</title><link>https://dw.example.com/</link>
<description>d</description></channel>
<item rdf:about="https://dw.example.com/a-1"><title>RDF item</title>
<link>https://dw.example.com/a-1</link><description>text</description>
<dc:date>2024-06-19T10:00:00Z</dc:date></item></rdf:RDF>"""
    item = parse_feed(rdf, "application/rdf+xml", BASE).items[0]
    assert (item.title, item.url) == ("RDF item", "https://dw.example.com/a-1")
    assert item.published == dt.datetime(2024, 6, 19, 10, tzinfo=dt.UTC)


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON news",
        "home_page_url": "https://j.example.com/",
        "items": [
            {
                "id": "j1",
                "url": "https://j.example.com/1",
                "title": "JSON item",
                "content_html": "<p>body</p>",
                "date_published": "2024-06-19T13:39:24Z",
                "authors": [{"name": "Wang"}],
            }
        ],
    }
    item = parse_feed(json.dumps(doc).encode(), "application/feed+json", BASE).items[0]
    assert (item.key, item.title, item.content_html) == ("j1", "JSON item", "<p>body</p>")
    assert item.published == dt.datetime(2024, 6, 19, 13, 39, 24, tzinfo=dt.UTC)


def test_rss_091() -> None:
    rss = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
<link>https://o.example.com/</link><description>d</description>
<item><title>Old item</title><link>https://o.example.com/1</link><description>x</description></item>
</channel></rss>"""
    assert parse_feed(rss, None, BASE).items[0].url == "https://o.example.com/1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response"),
        (b"   \n", "empty response"),
        (b"<!DOCTYPE html><html><body><p>a page</p></body></html>", "an HTML page"),
        (b"<html><head><title>x</title></head></html>", "an HTML page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a readable feed"),
        (b"<rss><channel><title>cut", "not a readable feed|no feed items"),
        (b'{"not": "a feed"}', "not a readable feed|no feed items"),
    ],
)
def test_non_feeds_are_refused_with_one_line(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason) as caught:
        parse_feed(body, None, BASE)
    assert "\n" not in str(caught.value)


def test_truncated_feed_keeps_the_complete_items() -> None:
    body = RSS2.format(encoding="utf-8").encode()
    cut = body[: body.index(b"<item><title>\xe5\x8f\xaa")] + b"<item><title>half"
    feed = parse_feed(cut, None, BASE)
    assert feed.items[0].key == "item-1"


def test_xxe_entities_are_not_resolved(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = f"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>t</title><item><title>&x;</title><link>https://e.com/1</link>
<description>d</description></item></channel></rss>""".encode()
    try:
        feed = parse_feed(body, None, BASE)
    except FeedError:
        return
    assert all("TOPSECRET" not in (i.title + i.content_html) for i in feed.items)


def test_html_entity_names_in_xml_keep_the_text_after_them() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>新闻&nbsp;网</title>'
        "<item><title>caf&eacute; &amp; bar</title><link>https://a.example.com/1</link>"
        "<description>前文&nbsp;后文 &mdash; 完 &lt;b&gt;粗&lt;/b&gt;</description></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(body, "application/rss+xml", BASE)
    (item,) = feed.items
    assert item.title == "café & bar"
    assert item.content_html == "前文\u00a0后文 — 完 <b>粗</b>"


def test_a_utf16_declaration_on_ascii_bytes_is_a_feed_or_a_feed_error() -> None:
    body = b'<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel></channel></rss>'
    with pytest.raises(FeedError):  # found by the fuzz tests: a UnicodeError escaped
        parse_feed(body, None, BASE)
