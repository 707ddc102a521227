"""Charset decoding against real Big5/GB2312 feeds and pages and miniflux's edge cases."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from newsvault.fetch.charset import (
    charset_from_content_type,
    decode,
    normalize_label,
    to_utf8_xml,
)

# Copied from ../shared/datasets/hostile/charsets (LGPL-2.1 / Apache-2.0, licences beside them).
CHARSETS = Path(__file__).resolve().parent / "data" / "charsets"


def corpus(folder: str) -> list[Path]:
    return sorted(p for p in (CHARSETS / folder).iterdir() if p.name != "LICENSE")


def cjk(text: str) -> int:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(("folder", "codec"), [("Big5", "big5hkscs"), ("GB2312", "gb18030")])
def test_real_chinese_documents_decode_cleanly(folder: str, codec: str) -> None:
    for path in corpus(folder):
        decoded = decode(path.read_bytes(), None, kind="xml" if path.suffix == ".xml" else "html")
        assert decoded.encoding == codec, path.name
        assert "\ufffd" not in decoded.text, path.name
        assert cjk(decoded.text) > 30, path.name


def test_undeclared_big5_is_detected() -> None:
    decoded = decode(
        (CHARSETS / "Big5" / "_chromium_Big5_with_no_encoding_specified.html").read_bytes()
    )
    assert (decoded.encoding, decoded.source) == ("big5hkscs", "detected")


@pytest.mark.parametrize(
    ("name", "expected", "encoding"),
    [
        ("iso-8859-1.xml", "Café", "cp1252"),
        ("iso-8859-1.html", "Frédéric", "cp1252"),
        ("iso-8859-1-meta-after-1024.html", "Frédéric", "cp1252"),
        ("windows-1252.xml", "Euro €", "cp1252"),
        ("koi8r.xml", "Пример RSS", "koi8-r"),
        ("utf8.xml", "Café", "utf-8"),
        ("utf8-meta-after-1024.html", "Café", "utf-8"),
        # Labels that lie: UTF-8 bytes under a Latin label, and a label no codec knows.
        ("utf8-incorrect-prolog.xml", "Café", "utf-8"),
        ("windows-1252-incorrect-prolog.xml", "Euro €", "utf-8"),
        ("invalid-prolog.xml", "Café", "utf-8"),
    ],
)
def test_miniflux_edge_cases(name: str, expected: str, encoding: str) -> None:
    path = CHARSETS / "miniflux" / name
    decoded = decode(path.read_bytes(), kind="xml" if name.endswith(".xml") else "html")
    assert expected in decoded.text
    assert decoded.encoding == encoding


def test_gb2312_label_with_characters_outside_gb2312() -> None:
    text = "<p>朱镕基 谈 GB18030 𠀀</p>"  # 镕 is GBK only, 𠀀 only in GB18030
    body = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    decoded = decode(body, "text/html; charset=GB2312")
    assert (decoded.text, decoded.encoding, decoded.source) == (text, "gb18030", "header")


def test_header_wins_over_declaration_and_bom_wins_over_both() -> None:
    body = '<?xml version="1.0" encoding="big5"?><rss><title>新闻</title></rss>'.encode("gb18030")
    assert decode(body, "application/rss+xml; charset=gbk", kind="xml").source == "header"
    assert "新闻" in decode(body, "application/rss+xml; charset=gbk", kind="xml").text
    utf8 = codecs.BOM_UTF8 + "新闻".encode()
    assert decode(utf8, "text/html; charset=big5").text == "新闻"
    utf16 = codecs.BOM_UTF16_LE + "新闻".encode("utf-16-le")
    assert decode(utf16).encoding == "utf-16-le"


def test_a_wrong_header_falls_through_to_what_decodes() -> None:
    body = "<html><head><meta charset='utf-8'></head><body>臺灣新聞</body></html>".encode()
    decoded = decode(body, "text/html; charset=big5")  # big5 cannot decode these UTF-8 bytes
    assert ("臺灣新聞" in decoded.text, decoded.source) == (True, "declaration")


@pytest.mark.parametrize(
    "body", [b"", b"\x00\x01\xff\xfe\xfd", bytes(range(256)) * 50, b"\xe6\x96" * 3, b"\x81" * 9]
)
def test_never_raises(body: bytes) -> None:
    assert isinstance(decode(body, "text/html; charset=nonsense").text, str)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("GB2312", "gb18030"),
        ("gbk", "gb18030"),
        ("x-gbk", "gb18030"),
        ("Big5", "big5hkscs"),
        ("ISO-8859-1", "cp1252"),
        ("UTF8", "utf-8"),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_labels_are_widened(label: str | None, codec: str | None) -> None:
    assert normalize_label(label) == codec


def test_charset_from_content_type() -> None:
    assert charset_from_content_type('text/html; charset="GB2312"') == "gb18030"
    assert charset_from_content_type("application/rss+xml") is None
    assert charset_from_content_type(None) is None


def test_to_utf8_xml_rewrites_the_declaration() -> None:
    source = '<?xml version="1.0" encoding="GB2312"?><rss><title>朱镕基</title></rss>'
    data = to_utf8_xml(source.encode("gb18030"), "text/xml")
    assert data == source.replace("GB2312", "utf-8").encode()


def test_to_utf8_xml_passes_json_through() -> None:
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "新闻"})
    body = codecs.BOM_UTF8 + feed.encode()
    assert to_utf8_xml(body, "application/feed+json") == feed.encode()


def damaged(body: bytes, *, times: int = 1) -> bytes:
    """`body` with the second byte of `times` double-byte characters from its middle on made
    invalid (0xFF is no trail byte in GB18030 or Big5): the bad bytes real pages carry."""
    data = bytearray(body)
    starts, at = [], 0
    while at < len(data) - 1:  # where characters start: an ASCII byte, or a lead and its trail
        if data[at] >= 0x81:
            starts.append(at)
            at += 2
        else:
            at += 1
    doubles = [s for s in starts if data[s + 1] >= 0xA1]
    chosen = doubles[len(doubles) // 2 :][: 10 * times : 10]
    assert len(chosen) == times
    for at in chosen:
        data[at + 1] = 0xFF
    return bytes(data)


LABELLED = [
    (path, codec)
    for folder, codec in (("Big5", "big5hkscs"), ("GB2312", "gb18030"))
    for path in corpus(folder)
    if not path.name.startswith("_")  # the ones with no label
]


@pytest.mark.parametrize(("path", "codec"), LABELLED, ids=lambda v: getattr(v, "name", v))
def test_a_declared_label_with_a_few_bad_bytes_is_used(path: Path, codec: str) -> None:
    """As browsers do: one or two bad bytes are replacement characters, not a lost page."""
    kind = "xml" if path.suffix == ".xml" else "html"
    clean = decode(path.read_bytes(), None, kind=kind).text
    for times in (1, 2):
        decoded = decode(damaged(path.read_bytes(), times=times), None, kind=kind)
        assert (decoded.encoding, decoded.source) == (codec, "declaration"), path.name
        assert 1 <= decoded.text.count("\ufffd") <= 2 * times, path.name
        assert cjk(clean) - cjk(decoded.text) <= times, path.name  # one character lost each


def test_a_header_label_with_a_bad_byte_is_used() -> None:
    page = damaged((CHARSETS / "GB2312" / "softsea.net.xml").read_bytes())
    decoded = decode(page, "text/xml; charset=GBK", kind="xml")
    assert (decoded.encoding, decoded.source) == ("gb18030", "header")
    assert decoded.text.count("\ufffd") <= 2 and cjk(decoded.text) > 1000


def test_a_gb2312_page_with_one_bad_byte_keeps_its_text() -> None:
    """A GB2312 page with one invalid byte: the label, not mojibake (the strict decode and
    detection both fail on it)."""
    paragraph = "<p>" + "国务院新闻办公室今日举行发布会，介绍经济运行情况。" * 8 + "</p>"
    page = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
        "<title>经济运行情况</title></head>"
        f"<body><h1>经济运行情况</h1>{paragraph * 3}</body></html>"
    ).encode("gb2312")
    at = page.index("介".encode("gb2312"))
    page = page[:at] + b"\xb7\x20" + page[at + 2 :]  # a lead byte with no trail byte
    decoded = decode(page, "text/html")
    assert (decoded.encoding, decoded.source) == ("gb18030", "declaration")
    assert decoded.text.count("\ufffd") == 1 and "国务院新闻办公室" in decoded.text
    from newsvault.extract import extract

    article = extract(page, "http://news.example.cn/a.html", "text/html")
    assert article.title == "经济运行情况" and "国务院新闻办公室今日举行发布会" in article.text


def test_utf8_under_a_gb_label_is_utf8() -> None:
    """Saved pages keep their GB2312 meta over UTF-8 bytes: valid UTF-8 wins over a label that
    does not fit, before any label is taken with errors."""
    body = "<meta charset='gb2312'><p>龙湖集团公布了中期业绩报告，销售金额同比增长。</p>".encode()
    decoded = decode(body)
    assert (decoded.encoding, decoded.source) == ("utf-8", "detected")
    assert "龙湖集团" in decoded.text


def test_a_label_that_errs_often_is_not_used() -> None:
    body = ("<meta charset='shift_jis'><p>" + "臺灣新聞報導，內容足夠長。" * 40 + "</p>").encode(
        "big5"
    )
    decoded = decode(body)
    assert decoded.source == "detected" and "臺灣新聞" in decoded.text
