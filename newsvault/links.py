"""The one rule for every URL that leaves the archive: http and https only.

Browsers drop ASCII whitespace and control characters from a URL before they read its scheme
(`\\x01java\\tscript:` runs), and nh3 lets an href through when a Unicode space stands before
`javascript:` because it does not parse as a scheme at all; the space is stripped later and
the link comes alive. So the scheme is judged on the URL with every whitespace, control and
invisible character removed, and anything that is not then plainly http(s) with a host is
refused.

The rule runs when content is stored (sanitizing, feed item links, image sources) and again
where articles leave the store (`store._article`): an archive written by an older version,
imported from markdown or edited by hand is published through the same rule.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

# Whitespace (every Unicode space), C0/C1 controls and the zero-width characters.
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
# Inside a kept URL: controls and zero-width characters go, spaces are percent-encoded.
_DROPPED = re.compile(r"[\t\n\r\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_ENCODED = str.maketrans({c: f"%{ord(c):02X}" for c in ' "<>`'})
_SPACE = re.compile(r"\s")
# An attribute starts after whitespace, a `/` or the quote that closed the value before it
# (`<a/href=...>`, `<a title="x"href=...>`).
_URL_ATTRIBUTE = re.compile(
    r"""((?:\s|(?<=[/"']))"""
    r"""(?:href|src|srcset|lowsrc|dynsrc|cite|poster|data|action|formaction|background"""
    r"""|longdesc|codebase|archive|xlink:href)"""
    r"""\s*=\s*)("[^"]*"|'[^']*'|[^\s"'=<>`]+)""",
    re.IGNORECASE,
)
_SCHEMES = ("http", "https")
# Values no browser reads a scheme from but http(s): absolute web URLs and paths
_PLAINLY_SAFE = ("https://", "http://", "/")
# A mirrored image as the markdown archive links it: /media/<2 hex>/<sha256>.<ext>.
_MEDIA_PATH = re.compile(r"/(media/([0-9a-f]{2})/(\2[0-9a-f]{62})\.(?:jpg|png|gif|webp|avif))")


# An absolute http(s) URL that every step below would return unchanged: a host of letters,
# digits, dots and hyphens (no user, no port, no IPv6 brackets), then printable ASCII that is
# neither encoded nor dropped. Most URLs are such; they skip two parses.
_PLAIN_WEB_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?:[/?#][!#$%&'()*+,\-./0-9:;=?@A-Z\\^_a-z{|}~]*)?"
)


def web_url(url: str | None, base: str = "") -> str:
    """`url` made absolute against `base` if it is a web address, else "" (refused)."""
    if not url:
        return ""
    if _PLAIN_WEB_URL.fullmatch(url):
        return url
    return _parsed_web_url(url, base)


def _parsed_web_url(url: str, base: str) -> str:
    squeezed = _INVISIBLE.sub("", url)
    if not squeezed:
        return ""
    try:
        scheme = urlsplit(squeezed).scheme.lower()
        kept = _DROPPED.sub("", url).strip()
        kept = _SPACE.sub(lambda m: _encode(m.group()), kept)
        kept = kept.translate(_ENCODED)
        if not scheme:  # relative: only meaningful against a web base
            base = web_url(base)
            if not base:
                return ""
            kept = urljoin(base, kept)
        parts = urlsplit(kept)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:  # "http://[::1" and other unparsable forms
        return ""
    if parts.scheme not in _SCHEMES or not parts.hostname:
        return ""
    return parts.scheme + kept[len(parts.scheme) :]  # urlsplit gives the scheme in lowercase


def media_path(url: str | None) -> str | None:
    """The archive's own copy a markdown image link names (`/media/ab/ab….png` ->
    `media/ab/ab….png`), else None: the only links to the archive itself published copies
    hold besides web URLs."""
    found = _MEDIA_PATH.fullmatch(url or "")
    return found.group(1) if found else None


def has_unsafe_scheme(url: str) -> bool:
    """Whether a browser would read a scheme other than http(s) from `url` (relative URLs
    have none: they resolve against the http(s) page they are on)."""
    try:
        scheme = urlsplit(_INVISIBLE.sub("", url)).scheme.lower()
    except ValueError:
        return True
    return bool(scheme) and scheme not in _SCHEMES


def safe_links(markup: str) -> str:
    """HTML with every URL attribute whose scheme is not http(s) removed; all else unchanged,
    byte for byte (the markdown archive must round-trip)."""
    if "=" not in markup:
        return markup

    def judge(match: re.Match[str]) -> str:
        value = match.group(2)
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        if value.startswith(_PLAINLY_SAFE) and _plain(value):  # most: nothing to decode or parse
            return match.group(0)
        return "" if has_unsafe_scheme(html.unescape(value)) else match.group(0)

    return _URL_ATTRIBUTE.sub(judge, markup)


def _plain(value: str) -> bool:
    """Nothing in `value` that unescaping or urlsplit could turn or refuse (entities, a
    bracket that makes an IPv6 host, a non-ASCII host)."""
    return value.isascii() and "&" not in value and "[" not in value and "]" not in value


def _encode(space: str) -> str:
    return "".join(f"%{b:02X}" for b in space.encode())
