"""Normalize: make content safe and self-contained before it is stored.

Sanitizing (nh3: no scripts, styles, event handlers, iframes, forms) and making every link
and image URL absolute happen in one pass; then one lxml parse yields the plain text and the
images with their captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from operator import ne
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.html
import nh3
import opencc
from lxml import etree

from newsvault.links import web_url

_URL_ATTRIBUTES = {"href", "src", "cite", "poster"}
_TAGS = set(nh3.ALLOWED_TAGS) | {"picture", "source", "video", "audio", "section"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("source", set()).update({"src", "type"})
_ATTRIBUTES.setdefault("video", set()).update({"src", "poster", "controls"})
_ATTRIBUTES.setdefault("audio", set()).update({"src", "controls"})
_TRACKING_PARAM = re.compile(
    r"^(utm_\w+|fbclid|gclid|spm|from|share_token|isappinstalled|scene|chksm|sharer_\w+"
    r"|mc_cid|mc_eid|igshid|wt\.mc_id)$",
    re.IGNORECASE,
)
# A WeChat article is named by these alone; every other parameter says how it was shared
# (from=timeline, scene=21, chksm, sharer_shareid, clicktime, ...), for one reader.
_WECHAT_HOST = "mp.weixin.qq.com"
_WECHAT_IDENTITY = {"__biz", "mid", "idx", "sn"}
_BLOCK_TAGS = {
    "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "figure", "figcaption", "tr", "table", "ul", "ol", "section", "article", "hr",
}  # fmt: skip
_P_OPEN = re.compile(r"<p\b[^>]*>")
_BLOCK_OPEN = re.compile(
    r"<(?:div|p|ul|ol|table|h[1-6]|blockquote|pre|figure|section|article|hr)\b"
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
# Characters text has no use for: C0 controls, surrogates and U+FFFE/U+FFFF are invalid in XML
# (lxml refuses them, and a lone surrogate cannot even be written as UTF-8); C1 controls are
# mojibake or terminal escapes (\x9b is CSI).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CR = re.compile("\r\n?")  # as every HTML parser reads it: a line break


@dataclass(frozen=True)
class Image:
    src: str
    caption: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"src": self.src, "caption": self.caption}


def canonical_url(url: str) -> str:
    """The identity of a link: lowercase scheme and host, no fragment, no tracking or share
    parameters (on WeChat, only the parameters that name the article)."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.lower()
    wechat = (parts.hostname or "").lower() == _WECHAT_HOST
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if (k in _WECHAT_IDENTITY if wechat else not _TRACKING_PARAM.match(k))
        ]
    )
    for default in (":80", ":443"):
        if (
            netloc.endswith(default)
            and parts.scheme.lower() == {":80": "http", ":443": "https"}[default]
        ):
            netloc = netloc[: -len(default)]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def sanitize_html(html: str, base_url: str) -> str:
    """Safe HTML with absolute URLs; a link or image that is not http(s) loses its URL."""

    def absolutize(tag: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES:
            return web_url(value, base_url) or None
        return value

    def clean(markup: str) -> str:
        return nh3.clean(
            markup,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            attribute_filter=absolutize,
            link_rel="noopener noreferrer nofollow",
            url_schemes={"http", "https"},
        )

    cleaned = clean(CONTROL.sub("", html))
    if _block_in_p(cleaned):  # a block left inside <p> (its wrapper was removed) moves
        cleaned = clean(cleaned)  # on the next parse: parse once more, so the output is final
    # Character references bring back what CONTROL removes (`&#1;`, `&#xfffe;`) and what the
    # next parse would change (`&#13;` for "\n"; a U+FEFF in front, taken for a byte order
    # mark): the output is final, sanitizing it again changes nothing.
    return _CR.sub("\n", CONTROL.sub("", cleaned)).lstrip("\ufeff")


def _block_in_p(html: str) -> bool:
    """Whether a block element opens inside a <p>, before its </p>: what one pattern with a
    look-ahead at every character of every paragraph found, a paragraph at a time."""
    for opening in _P_OPEN.finditer(html):
        closing = html.find("</p>", opening.end())
        if _BLOCK_OPEN.search(html, opening.end(), len(html) if closing < 0 else closing):
            return True
    return False


# Every element an lxml.html.HtmlElement, chosen in C: lxml.html's own lookup (forms and inputs
# get classes of their own, which nothing here uses) is a Python call for every element every
# time one is touched.
ELEMENT_CLASSES = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)


def new_element(tag: str) -> lxml.html.HtmlElement:
    """An element of a new tree of ELEMENT_CLASSES: what is appended to it is looked up in C
    from then on (lxml.html.Element makes a tree of lxml.html's own lookup)."""
    element: lxml.html.HtmlElement = _fragment_parser().makeelement(tag)
    return element


def _fragment_parser() -> etree.HTMLParser:
    """A parser of this thread's own (lxml's parsers are not to be shared between threads)."""
    parser = etree.HTMLParser()
    parser.set_element_class_lookup(ELEMENT_CLASSES)
    return parser


def text_and_images(html: str) -> tuple[str, list[Image]]:
    """Plain text (one line per block, a figure's caption on its own line) and the images of
    sanitized HTML with their captions."""
    html = CONTROL.sub("", html)
    if not html.strip():
        return "", []
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div", parser=_fragment_parser())
    except etree.ParserError:  # nothing but a doctype, a comment or a processing instruction
        return "", []
    images: list[Image] = []
    for img in root.iter("img"):
        src = img.get("src")
        if src:
            images.append(Image(src, _caption(img)))
    for element in root.iter():  # a line break in the source is a space, except in <pre>
        if element.tag != "pre" and element.text and "\n" in element.text:
            element.text = element.text.replace("\n", " ")
        if element.tail and "\n" in element.tail:
            element.tail = element.tail.replace("\n", " ")
    for element in root.iter(*_BLOCK_TAGS):  # mark block edges, then read the text once
        element.tail = "\n" + (element.tail or "")
        if element.tag != "br":
            element.text = "\n" + (element.text or "")
    for cell in root.iter("td", "th"):
        cell.tail = " " + (cell.tail or "")
    lines = (line.strip() for line in _SPACES.sub(" ", root.text_content()).split("\n"))
    return "\n".join(line for line in lines if line), images


def _caption(img: lxml.html.HtmlElement) -> str | None:
    figure = next((a for a in img.iterancestors() if a.tag == "figure"), None)
    if figure is not None:
        caption = figure.find(".//figcaption")
        if caption is not None and caption.text_content().strip():
            return caption.text_content().strip()
    alt = " ".join((img.get("alt") or img.get("title") or "").split())
    return None if not alt or _NOT_A_CAPTION.search(alt) else alt


# Alt texts that describe nothing: file names, numbers, "click for the large picture".
_NOT_A_CAPTION = re.compile(
    r"^[\w\-.]+\.(?:jpe?g|png|gif|webp|bmp)$|^[\w\-]*\d{3,}[\w\-]*$|^\d+$|"
    r"点击(?:查看|浏览|看)|點擊(?:查看|瀏覽)|^(?:图片|圖片|image|img|photo|picture)\s*\d*$",
    re.I,
)
# runs, not characters: counting a run's length is faster than a list of its characters
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[A-Za-z]+")
_ORIGIN_LINE = re.compile(r"(?:来源|來源|稿源|转自|轉自)\s*[:：]\s*([^\s，,。|｜/]{2,30})")


def guess_lang(text: str) -> str | None:
    """'zh' or 'en' from the share of CJK characters; None when there is too little text."""
    sample = text[:2000]
    cjk, latin = sum(map(len, _CJK.findall(sample))), sum(map(len, _LATIN.findall(sample)))
    if cjk + latin < 10:
        return None
    return "zh" if cjk * 3 >= latin else "en"


_HANS_REGIONS = {"cn", "sg", "my", "hans"}
_HANT_REGIONS = {"tw", "hk", "mo", "hant"}


def language_tag(declared: str | None, text: str) -> str | None:
    """The article's language as a BCP 47 tag: Chinese as zh-Hans or zh-Hant (from the tag's
    region or script, else from the text's characters), others as `en`, `en-US`. A tag
    that says English on a page of Chinese text (a template's default) gives way to it."""
    guessed = guess_lang(text)
    parts = (declared or "").strip().replace("_", "-").lower().split("-")
    primary = parts[0] if parts[0].isalpha() and 2 <= len(parts[0]) <= 3 else ""
    if guessed and (not primary or (primary, guessed) == ("en", "zh")):
        primary, parts = guessed, [guessed]
    if not primary:
        return None
    if primary != "zh":
        region = [p.upper() for p in parts[1:2] if len(p) == 2 and p.isalpha()]
        return "-".join([primary, *region])
    if _HANT_REGIONS & set(parts[1:]):
        return "zh-Hant"
    if _HANS_REGIONS & set(parts[1:]):
        return "zh-Hans"
    return "zh-Hant" if traditional(text) else "zh-Hans"


def traditional(text: str) -> bool:
    """Whether Chinese text is written in traditional characters: more of its characters
    change going to simplified than going to traditional."""
    sample = text[:2000]
    to_simplified = sum(map(ne, sample, chinese_converter("t2s").convert(sample)))
    if not to_simplified:  # simplified text, most often: the other way need not be tried
        return False
    to_traditional = sum(map(ne, sample, chinese_converter("s2t").convert(sample)))
    return to_simplified > to_traditional


@cache
def chinese_converter(config: str) -> opencc.OpenCC:
    """OpenCC's converter for `config` ("t2s", "s2t"), one for the process: each loads its
    dictionaries, 13 ms."""
    return opencc.OpenCC(config)


def find_origin(text: str) -> str | None:
    """The outlet a reprint names in a '来源：' line."""
    match = _ORIGIN_LINE.search(text)
    return match.group(1) if match else None


def merge_images(*groups: list[Image]) -> list[Image]:
    seen: dict[str, Image] = {}
    for image in (i for group in groups for i in group):
        if image.src not in seen or (image.caption and not seen[image.src].caption):
            seen[image.src] = image
    return list(seen.values())
