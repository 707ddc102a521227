"""Article HTML as readers get it: sanitized again on the way out, images pointed where the
source's policy says.

Content was sanitized when it was stored, but stored HTML may come from an older version, an
imported archive or a hand-edited database; every page shown to a reader passes through this
one function, so no script, event handler, frame, form or style from archived content ever
reaches a browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape, unescape

import nh3

from newsvault.links import media_path, web_url

_TAGS = (set(nh3.ALLOWED_TAGS) | {"figure", "figcaption", "picture", "source"}) - {"area", "map"}
_ATTRIBUTES = {tag: set(attrs) - {"style"} for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("source", set()).update({"srcset", "type"})
_ATTRIBUTES.setdefault("img", set()).update({"src", "alt", "title", "width", "height"})
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # no use in text, invalid in XML


def reader_html(html: str, image_url: Callable[[str], str] = lambda url: url) -> str:
    """Safe HTML for a reader: only http(s) links (opened without referrer or opener), images
    (http(s), or /media/... of the archive itself) through `image_url`; srcset is dropped (its
    candidates would bypass the image policy)."""

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("src", "srcset") and tag in ("img", "source"):
            # a web URL, or the archive's own copy an imported markdown archive links to
            src = web_url(value) or ("" if media_path(value) is None else value)
            return image_url(src) if src and attribute == "src" else None
        if attribute == "href":
            return web_url(value) or None
        return value

    cleaned = nh3.clean(
        _CONTROL.sub("", html),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=rewrite,
        link_rel="noopener noreferrer nofollow",
        url_schemes={"http", "https"},
        strip_comments=True,
    )
    return _with_alt(cleaned)


def with_credits(html: str, credits: dict[str, str], label: str) -> str:
    """Reader HTML with each image's photographer beside it: the names in its caption marked,
    or a "摄影：…" line added to its caption (`credits`: the image's src as `html` has it ->
    the names, space-separated)."""
    if not credits:
        return html

    def figure(match: re.Match[str]) -> str:
        inner = match.group(1)
        src = _SRC.search(inner)
        names = credits.get(unescape(src.group(1))) if src else None
        caption = _CAPTION.search(inner)
        if not names or caption is None or inner.count("<img") != 1:
            return match.group(0)
        text, shown = caption.group(1), []
        for name in names.split():
            escaped = escape(name)
            if escaped in text:
                text = text.replace(escaped, f'<span class="credit">{escaped}</span>', 1)
            else:
                shown.append(escaped)
        if shown:
            text += f' <span class="credit">{escape(label)}：{" ".join(shown)}</span>'
        return f"<figure>{inner[: caption.start(1)]}{text}{inner[caption.end(1) :]}</figure>"

    return _FIGURE.sub(figure, html)


_SRC = re.compile(r'<img[^>]*\ssrc="([^"]*)"')


# In nh3's output every tag is well formed and no attribute value holds ">" or a raw quote,
# so these patterns read it exactly.
_FIGURE = re.compile(r"<figure>(.*?)</figure>", re.S)
_CAPTION = re.compile(r"<figcaption>(.*?)</figcaption>", re.S)
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)([^>]*)>")
_TAG = re.compile(r"<[^>]+>")


def _with_alt(html: str) -> str:
    """Every image with an alt text: the caption of the figure it is alone in, else empty
    (a picture without one is read out as its file name)."""

    def figure(match: re.Match[str]) -> str:
        inner = match.group(1)
        caption = _CAPTION.search(inner)
        if caption is None or inner.count("<img") != 1:
            return match.group(0)
        text = " ".join(_TAG.sub("", caption.group(1)).split()).replace('"', "&quot;")
        inner = _IMG_WITHOUT_ALT.sub(lambda img: f'<img alt="{text}"{img.group(1)}>', inner, 1)
        return f"<figure>{inner}</figure>"

    if "<img" not in html:
        return html
    return _IMG_WITHOUT_ALT.sub(r'<img alt=""\1>', _FIGURE.sub(figure, html))
