"""What counts as active markup in anything newsvault writes or answers.

Written independently of newsvault's own rule (links.py), the way a browser or a markdown
renderer that allows HTML reads text: entities decoded, whitespace and control characters
inside a URL ignored, tags and attributes case-insensitive.
"""

from __future__ import annotations

import html
import json
import re

# A start tag as an HTML tokenizer reads it: quoted values may hold ">".
_START_TAG = re.compile(r"""<([a-zA-Z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_ACTIVE_TAGS = {"script", "iframe", "object", "embed", "base", "frame", "frameset", "applet"}
_URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "poster", "cite", "background", "xlink:href",
    "data", "srcset", "lowsrc", "dynsrc", "longdesc", "codebase", "archive",
}  # fmt: skip
# newsvault's own pages hold two forms (search, submit) and the submission page refreshes
# itself; any other form or refresh came from archived content
_OUR_FORMS = re.compile(r'action="/(?:search|submit)"')
_OUR_REFRESH = '<meta http-equiv="refresh" content="2">'
_MARKDOWN_LINK = re.compile(r"\]\(([^)]*)\)")
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


def _bad_url(value: str) -> bool:
    value = value.strip("\"'")
    squeezed = _INVISIBLE.sub("", html.unescape(value)).lower()
    return squeezed.startswith(_BAD_SCHEMES)


def active_markup(text: str, *, markdown: bool = False) -> list[str]:
    """Every piece of `text` that a browser (or, for `markdown`, a markdown renderer that
    allows HTML) would run or follow: active elements, event handlers, URLs with a scheme
    that runs code, forms and refreshes that are not newsvault's own. Text that only looks
    like markup (`&lt;script&gt;`, a comment) is inert."""
    found = []
    for tag in _START_TAG.finditer(_COMMENT.sub("", text)):
        name = tag.group(1).lower()
        whole = tag.group(0)
        foreign_form = name == "form" and not _OUR_FORMS.search(whole)
        refresh = name == "meta" and "refresh" in whole.lower() and whole != _OUR_REFRESH
        if name in _ACTIVE_TAGS or foreign_form or refresh:
            found.append(whole[:80])
        for attribute in _ATTRIBUTE.finditer(tag.group(2)):
            key, value = attribute.group(1).lower(), attribute.group(2) or ""
            if key.startswith("on") or (key in _URL_ATTRIBUTES and _bad_url(value)):
                found.append(f"<{name} {attribute.group(0)[:80]}")
    if markdown:
        found += [m.group(0) for m in _MARKDOWN_LINK.finditer(text) if _bad_url(m.group(1))]
    return found


_URL_FIELDS = {"url", "src", "href", "link", "original", "capture_url"}


def active_in_document(value: object, field: str = "") -> list[str]:
    """Active markup in a JSON document: in its HTML fields, and URL fields that are not web
    addresses. Titles, authors and text are plain text by contract (a client escapes them),
    so `<script>` there is data, not markup."""
    if isinstance(value, dict):
        return [f for key, item in value.items() for f in active_in_document(item, key)]
    if isinstance(value, list):
        return [f for item in value for f in active_in_document(item, field)]
    if not isinstance(value, str):
        return []
    if field in _URL_FIELDS:
        return [f"{field}: {value}"] if _bad_url(value) else []
    if field in ("html", "content", "body") or ("<" in value and field not in _TEXT_FIELDS):
        return active_markup(value)
    return []


_TEXT_FIELDS = {
    "title",
    "text",
    "author",
    "origin",
    "snippet",
    "caption",
    "message",
    "name",
    "query",
}


def active_in_json(text: str) -> list[str]:
    """Active markup in a JSON document or in JSON lines."""
    try:
        return active_in_document(json.loads(text))
    except json.JSONDecodeError:
        return [
            f
            for line in text.split("\n")
            if line.strip()
            for f in active_in_document(json.loads(line))
        ]
