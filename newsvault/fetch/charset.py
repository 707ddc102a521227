"""Charset: fetched bytes -> text, trusting what the bytes say over what labels claim.

Order: a byte-order mark (it cannot lie), the HTTP header's charset, the XML declaration or
HTML meta charset, then detection by charset-normalizer. A label that decodes strictly is taken
first; failing that, valid UTF-8 (a label that does not fit bytes which are valid UTF-8 lies);
failing that, a label that decodes with only a few errors (FEW_ERRORS: real GB2312, GBK and Big5
pages often hold a bad byte or two) is used with a replacement character for each bad sequence,
as browsers do. Detection runs only where no label fits, and is held to the same rules. Labels
are widened where the real world exceeds them: GB2312 and GBK
pages carry characters outside those sets, so both decode as GB18030 (its superset); Big5
decodes as Big5-HKSCS; ISO-8859-1 as Windows-1252, as browsers do.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

SNIFF_BYTES = 16 * 1024  # where a declaration may appear
DETECT_BYTES = 64 * 1024  # how much detection reads
DECODE_STEP = 64 * 1024  # bytes decoded at a time
# A label fits bytes it decodes with at most this many bad sequences, or one in FEW_ERRORS_SHARE
# of the non-ASCII characters decoded, whichever is more: a few bad bytes in a GB2312 page are
# damage; a wrong label (UTF-8 read as Big5) errs every few characters.
FEW_ERRORS = 8
FEW_ERRORS_SHARE = 500

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
class Charset:
    encoding: str  # a Python codec name
    source: str  # "bom" | "header" | "declaration" | "detected" | "fallback"
    skip: int = 0  # the byte-order mark's length
    errors: str = "strict"  # "replace" where no candidate decoded strictly


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


def choose_charset(body: bytes, content_type: str | None = None, *, kind: Kind = "html") -> Charset:
    """How to decode fetched bytes; never raises. Candidates are tried a slice at a time, so
    that choosing makes no copy of a large page (iter_decode then decodes it the same way)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Charset(encoding, "bom", skip=len(bom), errors="replace")
    labels = [
        (encoding, source)
        for encoding, source in (
            (charset_from_content_type(content_type), "header"),
            (declared_charset(body, kind), "declaration"),
        )
        if encoding is not None
    ]
    scans = {encoding: _scan(body, encoding) for encoding in dict.fromkeys(e for e, _ in labels)}
    candidates = [(encoding, source, scans[encoding]) for encoding, source in labels]
    utf8: _Scan | None = None
    for encoding, source, scan in candidates:
        if scan.errors == 0 and _single_byte(encoding) and not scan.ascii:
            # UTF-8 served under a Latin label is a common lie; real Latin-1 text almost
            # never forms valid multi-byte UTF-8 sequences.
            utf8 = utf8 or _scan(body, "utf-8")
            if utf8.errors == 0:
                return Charset("utf-8", "detected")
        if scan.errors == 0:
            return Charset(encoding, source)
    if candidates and not any(e == "utf-8" for e, _, _ in candidates):
        utf8 = utf8 or _scan(body, "utf-8")
        if utf8.errors == 0 and not utf8.ascii:
            return Charset("utf-8", "detected")  # no label fits, and the bytes are UTF-8
    for encoding, source, scan in candidates:
        if scan.few:
            return Charset(encoding, source, errors="replace")
    detected = _detect(body)
    if detected is not None:
        scan = _scan(body, detected)
        if scan.errors == 0:
            return Charset(detected, "detected")
        if scan.few and not _single_byte(detected):
            return Charset(detected, "detected", errors="replace")
    return Charset("utf-8", "fallback", errors="replace")


def iter_decode(body: bytes, charset: Charset, step: int = DECODE_STEP) -> Iterator[str]:
    """The text of `body` a slice at a time, as `charset` says to decode it."""
    decoder = codecs.getincrementaldecoder(charset.encoding)(charset.errors)
    for start in range(charset.skip, len(body), step):
        yield decoder.decode(body[start : start + step])
    yield decoder.decode(b"", final=True)


def decode(body: bytes, content_type: str | None = None, *, kind: Kind = "html") -> Decoded:
    """Decode fetched bytes; never raises (the last resort is UTF-8 with replacement)."""
    charset = choose_charset(body, content_type, kind=kind)
    text = str(memoryview(body)[charset.skip :], charset.encoding, charset.errors)
    return Decoded(text, charset.encoding, charset.source)


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


@dataclass(frozen=True)
class _Scan:
    errors: int  # bad byte sequences; a large number when the codec cannot decode at all
    ascii: bool  # whether the text is all ASCII
    non_ascii: int = 0  # characters outside ASCII

    @property
    def few(self) -> bool:
        return 0 < self.errors <= max(FEW_ERRORS, self.non_ascii // FEW_ERRORS_SHARE)


_NOT_A_CODEC = _Scan(errors=1 << 62, ascii=False)
_counted = threading.local()


def _count_error(error: UnicodeError) -> tuple[str, int]:
    _counted.errors += 1
    return "\ufffd", error.end  # type: ignore[attr-defined]


codecs.register_error("newsvault.count", _count_error)


def _scan(body: bytes, encoding: str | None) -> _Scan:
    """How `body` decodes as `encoding`: bad sequences, all ASCII or not, non-ASCII characters."""
    if encoding is None:
        return _NOT_A_CODEC
    ascii = True
    _counted.errors = 0
    counting = Charset(encoding, "candidate", errors="newsvault.count")
    try:
        "".encode(encoding)  # LookupError for codecs that are not text encodings (rot13, hex)
        for text in iter_decode(body, counting):
            ascii = ascii and text.isascii()
        errors = _counted.errors
        # how many characters outside ASCII matters only beside bad bytes: counted then
        non_ascii = sum(map(_non_ascii, iter_decode(body, counting))) if errors else 0
    except (UnicodeError, LookupError):  # UnicodeError: "utf-16" with no byte order mark
        return _NOT_A_CODEC
    return _Scan(errors, ascii, non_ascii)


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _single_byte(encoding: str | None) -> bool:
    # A single-byte codec turns the two bytes of UTF-8 "é" into two characters.
    try:
        return encoding is not None and len(b"\xc3\xa9".decode(encoding, "replace")) == 2
    except UnicodeError:  # codecs such as idna have no "replace"
        return False


def _detect(body: bytes) -> str | None:
    import charset_normalizer  # 5 ms to import: only pages no label fits are detected

    best = charset_normalizer.from_bytes(body[:DETECT_BYTES]).best()
    return normalize_label(best.encoding) if best is not None else None


__all__ = [
    "Charset",
    "Decoded",
    "charset_from_content_type",
    "choose_charset",
    "declared_charset",
    "decode",
    "iter_decode",
    "normalize_label",
    "to_utf8_xml",
]
