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
