"""Charset: fetched bytes -> text, trusting what the bytes say over what labels claim.

Order: a byte-order mark (it cannot lie), the HTTP header's charset, the XML declaration or
HTML meta charset, then detection by charset-normalizer; each candidate must decode strictly
or the next is tried. Labels are widened where the real world exceeds them: GB2312 and GBK
pages carry characters outside those sets, so both decode as GB18030 (its superset); Big5
decodes as Big5-HKSCS; ISO-8859-1 as Windows-1252, as browsers do.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

import charset_normalizer

SNIFF_BYTES = 16 * 1024  # where a declaration may appear
DETECT_BYTES = 64 * 1024  # how much detection reads

_WIDER = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""", re.I)
_XML_DECL_ANY = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([\w.:-]+)(["'])""", re.I)
# Both <meta charset=...> and <meta http-equiv="Content-Type" content="...; charset=...">.
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)

Kind = Literal["html", "xml"]


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec name that decoded it
    source: str  # "bom" | "header" | "declaration" | "detected" | "fallback"


def normalize_label(label: str | None) -> str | None:
    """A charset label -> a Python codec name, widened; None for labels Python does not know."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _WIDER:
        return _WIDER[label]
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WIDER.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalize_label(match.group(1)) if match else None


def declared_charset(body: bytes, kind: Kind = "html") -> str | None:
    """The XML declaration's encoding, or for HTML a <meta> charset, from the first 16 KiB."""
    head = body[:SNIFF_BYTES]
    match = _XML_DECL.match(head)
    if match is None and kind == "html":
        match = _META_CHARSET.search(head)
    return normalize_label(match.group(1).decode("ascii", "replace")) if match else None


def decode(body: bytes, content_type: str | None = None, *, kind: Kind = "html") -> Decoded:
    """Decode fetched bytes; never raises (the last resort is UTF-8 with replacement)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(encoding, "replace"), encoding, "bom")
    candidates = (
        (charset_from_content_type(content_type), "header"),
        (declared_charset(body, kind), "declaration"),
    )
    for encoding, source in candidates:
        text = _strict(body, encoding)
        if text is not None and _single_byte(encoding) and not text.isascii():
            # UTF-8 served under a Latin label is a common lie; real Latin-1 text almost
            # never forms valid multi-byte UTF-8 sequences.
            utf8 = _strict(body, "utf-8")
            if utf8 is not None:
                return Decoded(utf8, "utf-8", "detected")
        if text is not None:
            return Decoded(text, encoding, source)  # type: ignore[arg-type]
    detected = _detect(body)
    if detected is not None:
        text = _strict(body, detected)
        if text is not None:
            return Decoded(text, detected, "detected")
    return Decoded(body.decode("utf-8", "replace"), "utf-8", "fallback")


def to_utf8_xml(body: bytes, content_type: str | None) -> bytes:
    """Re-encode an XML document as UTF-8 with a matching declaration.

    Feed parsers then see one encoding whatever the server and document claimed; a document
    whose label lies (GB2312 with GB18030 characters) no longer fails in the parser. JSON
    (JSON Feed) is UTF-8 by specification and passes through with any BOM removed.
    """
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"[") or stripped.startswith(codecs.BOM_UTF8 + b"{"):
        return stripped.removeprefix(codecs.BOM_UTF8)
    decoded = decode(body, content_type, kind="xml")
    data = decoded.text.encode("utf-8")
    if _XML_DECL_ANY.match(data):
        return _XML_DECL_ANY.sub(rb"\1utf-8\3", data, count=1)
    return data


def _strict(body: bytes, encoding: str | None) -> str | None:
    if encoding is None:
        return None
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _single_byte(encoding: str | None) -> bool:
    # A single-byte codec turns the two bytes of UTF-8 "é" into two characters.
    return encoding is not None and len(b"\xc3\xa9".decode(encoding, "replace")) == 2


def _detect(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body[:DETECT_BYTES]).best()
    return normalize_label(best.encoding) if best is not None else None


__all__ = [
    "Decoded",
    "charset_from_content_type",
    "declared_charset",
    "decode",
    "normalize_label",
    "to_utf8_xml",
]
