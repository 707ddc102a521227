"""Captions: the text a page prints with an image becomes that image's <figcaption>.

A caption follows its image (the paragraph after an image-only one, the cell under it in a
table, the element after it in a picture box) or wraps it (<figure>, kept as it is). What
tells a caption from the next paragraph of the text: a site rule's `caption` selector, a
class or id that says so (caption, desc, pic_txt, ...), the centred or small print captions
are set in, words captions use ("图为", "…摄", "资料图", "截图"), or the image's alt text
repeated. The caption leaves the text's paragraphs and goes into the figure; text_and_images
prints it as a line of its own, under the image, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import lxml.html

from newsvault.extract.metadata import element_text
from newsvault.normalize import new_element

CAPTION_CHARS = 120  # a caption is short: a longer paragraph is the text's
_WRAPPERS = frozenset(("a", "span", "font", "strong", "b", "center", "p", "div", "td", "tr"))
_CAPTION_TAGS = frozenset(("p", "div", "span", "font", "center", "small", "em", "tr", "td"))
_HINT = re.compile(
    r"caption|desc|pic_?txt|pic_?text|pictext|img_?txt|img_?text|imgtxt|img_?title|pic_?title|"
    r"pic_?note|img_?note|imgnote|picinfo|pic_?info|tuzhu|illus|legend|photo_?txt|explain|note|"
    r"center",
    re.I,
)
_SMALL_PRINT = re.compile(
    r"font-size\s*:\s*(?:(?:[0-9]|1[01])(?:\.\d+)?pt|(?:[0-9]|1[0-3])(?:\.\d+)?px|x?-?small|smaller)"
    r"|text-align\s*:\s*center",
    re.I,
)
# Words captions are written with: "图为…", "▲…", "…（新华社记者 摄）", "…报道截图。", "资料图"
_CAPTION_WORDS = re.compile(
    r"^[\s\u3000]*(?:图为|圖為|图：|圖：|图/|圖/|上图|下图|左图|右图|上圖|下圖|左圖|右圖|图片来源|"
    r"圖片來源|图源|▲|△|▼|↑)|"
    r"(?:摄|攝|摄影|攝影|供图|供圖|截图|截圖|资料图|資料圖|视觉中国|視覺中國)[）)]?[。.]?\s*$"
)


def attach_captions(
    body: lxml.html.HtmlElement, marked: Iterable[lxml.html.HtmlElement] = ()
) -> None:
    """Make every image with a caption one <figure> with its <figcaption>; `marked`: elements
    a site rule names as captions."""
    rule_captions = {id(element) for element in marked}
    for img in list(body.iter("img")):
        parent = img.getparent()
        if parent is None or any(a.tag == "figure" for a in img.iterancestors()):
            continue
        alt = " ".join((img.get("alt") or "").split())
        tail = (img.tail or "").strip()
        if alt and tail.startswith(alt[:20]):  # trafilatura prints the caption after the image
            img.tail = None
            _figure(img, img, tail)
            continue
        if tail:
            continue
        block = _image_block(img, body)
        following = _next_element(block)
        if following is None and block is not img:
            following = _sibling_in_box(img)
        if following is None or not _is_caption(following, alt, rule_captions):
            continue
        caption = element_text(following)
        _remove(following)
        if block.tag == "tr":  # a table of an image and its caption: the figure is the table
            table = next((a for a in block.iterancestors() if a.tag == "table"), None)
            rows = table.xpath(".//tr") if table is not None else []
            block = table if table is not None and len(rows) == 1 else block.find(".//td")
        _figure(img, block, caption)


def _image_block(img: lxml.html.HtmlElement, body: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The largest element around `img` that holds nothing else: <p><a><img></a></p>,
    <center><img></center>, a table row of one cell with the image."""
    block = img
    while True:
        parent = block.getparent()
        if parent is None or parent is body or parent.tag not in _WRAPPERS:
            return block
        if len(parent) != 1 or (parent.text or "").strip() or (block.tail or "").strip():
            return block
        block = parent


def _next_element(block: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element right after `block`, when no text comes between them."""
    if (block.tail or "").strip():
        return None
    following = block.getnext()
    return following if following is not None and isinstance(following.tag, str) else None


def _sibling_in_box(img: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """In a picture box (<div class="pic"><img><span>caption</span></div>), the one element
    after the image."""
    following = _next_element(img)
    parent = img.getparent()
    if following is None or parent is None or (parent.text or "").strip():
        return None
    return following if following.getnext() is None else None


def _is_caption(element: lxml.html.HtmlElement, alt: str, rule_captions: set[int]) -> bool:
    if element.tag not in _CAPTION_TAGS or element.find(".//img") is not None:
        return False
    text = element_text(element)
    if not text or len(text) > CAPTION_CHARS:
        return False
    if id(element) in rule_captions:
        return True
    if element.tag == "tr":  # the one cell under the image's: a table that captions it
        return len(element) == 1
    if len(list(element.iter())) > 4:  # a caption is a line of text, not a block of them
        return False
    marks = " ".join(
        f"{e.get('class') or ''} {e.get('id') or ''} {e.get('style') or ''} "
        f"align={e.get('align') or ''} size={e.get('size') or ''} {e.tag}"
        for e in element.iter()
    )
    if _HINT.search(marks) or _SMALL_PRINT.search(marks) or "align=center" in marks.lower():
        return True
    if re.search(r"size=[12]\b|\bsmall\b", marks):  # <font size="2">, <small>
        return True
    return bool(_CAPTION_WORDS.search(text) or (alt and text.startswith(alt[:20])))


def _figure(img: lxml.html.HtmlElement, block: lxml.html.HtmlElement, caption: str) -> None:
    """`img` with `caption` as a <figure> in the place of `block` (the image, or what held it)."""
    figure = new_element("figure")
    block.addprevious(figure)
    figure.tail = block.tail if block is not img else img.tail
    img.tail = None
    figure.append(img)  # moves the image out of what held it
    lxml.html.etree.SubElement(figure, "figcaption").text = caption
    if block is not img:
        block.tail = None
        _remove(block)


def _remove(element: lxml.html.HtmlElement) -> None:
    parent = element.getparent()
    if parent is not None:
        element.drop_tree()  # its tail stays
