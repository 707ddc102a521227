"""A page -> an article: the site's rule where one matches, the generic extractor otherwise.

The body comes from the rule's selectors, or from newsvault's own body finder (finder.py: one
walk of the tree already parsed; it scores better than readability-lxml and trafilatura on both
benchmarks and runs four times as fast, see benchmarks/extraction.py; finder="peers" runs those
two instead, readability-lxml on Chinese pages and trafilatura on the rest, as newsvault did
before). Then the same clean-up runs on either: bylines, source lines, date and metadata lines
and editor lines at the edges of the body are taken out (their values kept as metadata),
captions following or wrapping an image become its <figcaption> (captions.py), and the HTML is
sanitized with absolute links. Fields the rule does not give come from metadata.py, read where
pages print them: the markup, the text between the headline and the body, the body's own
dateline and last lines, and the lines under the body (bylines, editors, dates).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, islice
from typing import Any

import lxml.etree
import lxml.html

from newsvault.errors import NoArticle
from newsvault.extract import metadata as md
from newsvault.extract.captions import attach_captions
from newsvault.extract.document import Page, load_page
from newsvault.extract.finder import DEFAULT as DEFAULT_FINDER
from newsvault.extract.finder import FinderParams, find_body
from newsvault.extract.rules import Rule, RuleSet
from newsvault.models import CHINA_TIME, ms_to_iso
from newsvault.normalize import (
    guess_lang,
    language_tag,
    new_element,
    sanitize_html,
    text_and_images,
)

log = logging.getLogger(__name__)

_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "li", "section", "span")
_EDITOR_LINE = re.compile(
    r"^[\[（(【]?\s*(?:责任编辑|責任編輯|编辑|編輯|责编|責編|校对|校對|审核|審核|监制|監製|原标题|原標題)"
    r"\s*[:：]"
)
_EDGE_BLOCKS = 3  # blocks at each end of the body where bylines and source lines are sought
_SHORT_LINE = 80
_CENTRED = "//p[contains(translate(@style, 'CENTR', 'centr'), 'center') or @align='center']"
# Never article text; dropped before anything reads the page (JSON-LD is read first). The
# page's own frame (menus, side bars, footers) goes after its bylines and dates are read: some
# templates print the headline's byline in an <aside> and the date under the text in a <footer>.
_INVISIBLE = ("script", "style", "noscript", "template", "svg", "iframe", "button", "select")
_FRAME = ("nav", "aside", "footer")
_BARE_URL = re.compile(r"^https?://\S+$")
MIN_TEXT_UNITS = 30  # CJK characters plus words: less than this is not an article
# The most of a page the body is looked for in (the largest real pages seen have under 7,500
# elements and attributes and 180,000 characters of text); no article is longer.
PEER_NODES = 20_000
PEER_CHARS = 400_000
# The most of the page's text read for bylines and dates around the body: the body lies in the
# first PEER_CHARS, and the frame's text (menus, side bars) comes out of the tree before the cut.
LINES_CHARS = 2 * PEER_CHARS
_LINK_TEXT = 6  # shorter link texts ("here", "更多") are too common to put back by matching
LINKED_SHARE = 0.6  # more of the text than this in lines that are link titles: a list page
_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")


@dataclass
class Extraction:
    url: str
    title: str
    html: str
    text: str
    author: str | None = None
    published: int | None = None
    origin: str | None = None
    lang: str | None = None
    editor: str | None = None
    photographer: str | None = None  # everyone the page credits for its pictures
    images: list[dict[str, Any]] = field(default_factory=list)  # src, caption[, credit]
    rule: str | None = None  # the site rule's file name, None for the generic extractor
    wrapper: str | None = None
    rule_missed: bool = False  # the rule's body selectors found nothing: the generic ran

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "title": self.title,
            "author": self.author,
            "published": ms_to_iso(self.published),
            "origin": self.origin,
            "editor": self.editor,
            "photographer": self.photographer,
            "lang": self.lang,
            "text": self.text,
            "html": self.html,
            "images": self.images,
            "rule": self.rule,
            "rule_missed": self.rule_missed,
        }


@cache
def shipped_rules() -> RuleSet:
    return RuleSet.shipped()


def extract(
    body: bytes | str,
    url: str,
    content_type: str | None = None,
    *,
    rules: RuleSet | None = None,
    use_rules: bool = True,
    finder: FinderParams | str | None = None,
) -> Extraction:
    """The article in a page; raises NoArticle with the reason when there is none.

    `finder`: for pages no rule covers, newsvault's own body finder with these weights (None:
    its defaults), or "peers" for the peer extractors it replaced (readability-lxml on Chinese
    pages, trafilatura on the rest), kept to measure against."""
    page = load_page(body, url, content_type)
    rule = (rules or shipped_rules()).match(page.url) if use_rules else None
    return _extract_page(page, rule, BODY_FINDER if finder is None else finder)


BODY_FINDER: FinderParams | str = DEFAULT_FINDER


def _extract_page(page: Page, rule: Rule | None, finder: FinderParams | str) -> Extraction:
    tree = page.tree
    found = md.Metadata(lang=md.page_lang(tree))
    body: lxml.html.HtmlElement | None = None
    _lazy_images(tree)
    if rule is not None:
        _rule_fields(rule, tree, found)  # before _prepare: a source line may be removed
        _prepare(rule, tree)
        elements = rule.select("body", tree)
        if elements:
            body = _join(elements)
    meta, ld = md.meta_values(tree), md.json_ld(tree)
    scripted_time = md.script_time(tree)
    lxml.etree.strip_elements(tree, *_INVISIBLE, with_tail=False)
    full_text = _lines_of(tree)
    lxml.etree.strip_elements(tree, *_FRAME, with_tail=False)
    found.title = found.title or md.find_title(tree, meta, ld)
    if _keep_first_part(tree, page.chars):
        log.warning(
            "%s: the article is looked for in the first %s elements and attributes and %s "
            "characters of the page",
            page.url,
            f"{PEER_NODES:,}",
            f"{PEER_CHARS:,}",
        )
    if body is not None:
        _keep_first_part(body, page.chars)
    peers = body is None and not isinstance(finder, FinderParams)
    # the link texts a list page is made of: the page's, or the region's when the finder (which
    # keeps links) chose it
    anchors = {md.element_text(a) for a in tree.iter("a")} if peers else set()
    # A page's lang attribute is often a template default: the text decides when they differ.
    found.lang = guess_lang(full_text[:2000]) or found.lang
    zhish = found.lang == "zh"
    ruled = body is not None
    if body is None and isinstance(finder, FinderParams):
        found_body = find_body(tree, finder)
        # no paragraph anywhere: the whole page, for the checks below to say what it is
        whole = tree.find("body")
        body = found_body.body if found_body else deepcopy(tree if whole is None else whole)
        anchors = {md.element_text(a) for a in body.iter("a")}
    if body is None and zhish:
        body = _readability_body(page)
    if body is None:
        in_text = _links_in_paragraphs(tree)
        body = _generic_body(page)
        _relink(body, in_text)
    _clean_edges(body, found, rule)
    zone = CHINA_TIME if zhish else dt.UTC
    first, opening, closing = _opening_and_closing(body)
    last = closing[-1] if closing else ""
    head, tail = md.regions(full_text, found.title, first[:30], last[-30:])
    # the lines under the headline whatever follows: where the body starts with a subtitle or
    # a lead the clean-up did not take for one, the byline is printed below it
    window = md.header_window(full_text, found.title)
    found.origin = (
        found.origin
        or md.origin_in_text(head)
        or md.origin_in_text(window)
        or md.structured_origin(meta)
        or md.origin_in_text(tail)
    )
    found.editor = found.editor or md.editor_in_text(head) or md.editor_in_text(tail)
    candidates: list[Callable[[], str | None]] = [
        lambda: md.outlet_or_none(md.structured_author(meta, ld), found.origin, tree, meta),
        lambda: md.author_in_text(head),
        lambda: md.author_in_text(window),
        lambda: md.author_in_text(first) if len(first) <= _SHORT_LINE else None,
        lambda: md.outlet_or_none(md.markup_author(tree), found.origin, tree, meta),
        lambda: md.inline_author(opening, closing) if zhish else None,
        lambda: md.author_in_text(tail),
    ]
    # the first that names someone other than the editor (templates fill the author's meta
    # tag or byline slot with the editor's name)
    authors = chain((found.author,), (candidate() for candidate in candidates))
    found.author = next((a for a in authors if a and not _only_editor(a, found.editor)), None)
    _drop_byline(body, found.author)
    if found.published is None:
        found.published = (
            _published(tree, meta, ld, (head, tail, window), zone)
            or scripted_time
            or md.date_in_url(page.url, zone)
            or _htmldate(tree, zone)
        )
    attach_captions(body, rule.select("caption", body) if rule is not None else ())
    html = sanitize_html(_inner_html(body), page.url)
    text, images = text_and_images(html)
    image_dicts = [
        _no_name_caption(i.as_dict(), {found.title, meta.get("og:site_name")}) for i in images
    ]
    credits = [md.photographers_in_text(i["caption"] or "") for i in image_dicts]
    for image, credit in zip(image_dicts, credits, strict=True):
        if credit:  # who took it, from its caption ("城市摄影队 周斌 摄")
            image["credit"] = credit
    found.photographer = _joined(
        found.photographer, md.photographers_in_text(head), md.photographers_in_text(tail), *credits
    )
    units = sum(1 for _ in islice(_UNITS.finditer(text), MIN_TEXT_UNITS))  # enough, or how few
    if not ruled and _mostly_links(text, anchors):
        raise NoArticle("the text is mostly link titles (a list or home page?)")
    if units < MIN_TEXT_UNITS:
        raise NoArticle(
            f"only {units} words of text (a list, home, video or error page?)"
            if units
            else "no article text (a list, home, video or error page?)"
        )
    return Extraction(
        url=page.url,
        title=found.title or text.split("\n")[0][:80],
        html=html,
        text=text,
        author=found.author,
        published=found.published,
        origin=found.origin,
        lang=language_tag(found.lang, text),
        editor=found.editor,
        photographer=found.photographer,
        images=image_dicts,
        rule=rule.path.name if rule is not None else None,
        wrapper=page.wrapper,
        rule_missed=rule is not None and not ruled,
    )


def _links_in_paragraphs(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """Link text -> href for the links inside paragraphs (links in sentences, not menus)."""
    links: dict[str, str] = {}
    # not "//p//a[@href]": libxml2 takes time quadratic in the paragraphs to evaluate that
    for a in tree.xpath("//a[@href][ancestor::p]"):
        text, href = md.element_text(a), a.get("href", "").strip()
        if len(text) >= _LINK_TEXT and not href.startswith(("#", "javascript:", "mailto:")):
            links.setdefault(text, href)
    return links


def _relink(body: lxml.html.HtmlElement, links: dict[str, str]) -> None:
    """Put back the links trafilatura had to drop, on paragraphs of plain text."""
    if not links:
        return
    pattern = re.compile("|".join(re.escape(t) for t in sorted(links, key=len, reverse=True)))
    for block in body.iter("p", "li", "blockquote"):
        if len(block) or not block.text or not pattern.search(block.text):
            continue
        text, block.text, last = block.text, "", None
        position = 0
        for match in pattern.finditer(text):
            before = text[position : match.start()]
            if last is None:
                block.text = before
            else:
                last.tail = before
            last = lxml.html.etree.SubElement(block, "a", href=links[match.group()])
            last.text = match.group()
            position = match.end()
        if last is not None:
            last.tail = text[position:]


def _mostly_links(text: str, anchors: set[str]) -> bool:
    lines = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    linked = sum(len(line) for line in lines if line in anchors)
    return linked > LINKED_SHARE * sum(len(line) for line in lines)


def _prepare(rule: Rule, tree: lxml.html.HtmlElement) -> None:
    for selector in rule.selectors["remove"]:
        for element in tree.xpath(selector):
            if element.getparent() is not None:
                element.drop_tree()
    for selector in rule.selectors["unwrap"]:
        for element in tree.xpath(selector):
            if element.getparent() is not None:
                element.drop_tag()


def _rule_fields(rule: Rule, tree: lxml.html.HtmlElement, found: md.Metadata) -> None:
    for name in ("title", "author", "published", "origin"):
        for element in rule.select(name, tree):
            value = element.get("datetime") or element.get("content") or md.element_text(element)
            if name == "title":
                found.title = value or None
            elif name == "author":
                found.author = md.author_in_text(value) or md.clean_author(value)
            elif name == "origin":
                found.origin = md.origin_in_text(value) or md.clean_origin(value)
            else:
                found.published = md.parse_date(value)
            if getattr(found, name):
                break


def _join(elements: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement:
    """One body of several matches, copied: the page must keep them for the header lines."""
    if len(elements) == 1:
        return elements[0]
    wrapper = new_element("div")
    for element in elements:
        copy = deepcopy(element)
        copy.tail = None
        wrapper.append(copy)
    return wrapper


_LAZY_SOURCES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url")


_PLACEHOLDER_WORDS = (
    "missing", "placeholder", "blank", "spacer", "lazy", "loading", "grey.", "gray.", "pixel",
    "1x1", "transparent",
)  # fmt: skip
_PLACEHOLDER = re.compile("|".join(map(re.escape, _PLACEHOLDER_WORDS)), re.I)


def _placeholder(src: str) -> bool:
    """Whether an image address names a placeholder. An ASCII one (nearly all) is looked at in
    lower case: the same answer, without the case-insensitive pattern tried at every character."""
    if src.isascii():
        low = src.lower()
        return any(word in low for word in _PLACEHOLDER_WORDS)
    return _PLACEHOLDER.search(src) is not None


def _lazy_images(tree: lxml.html.HtmlElement) -> None:
    """Lazy-loading pages keep the real image in data-src and a placeholder (or nothing) in
    src: give the image its real address."""
    for img in tree.iter("img"):
        src = (img.get("src") or "").strip()
        lazy = "lazy" in (img.get("class") or "").lower()
        if src and not src.startswith("data:") and not lazy and not _placeholder(src):
            continue
        for name in _LAZY_SOURCES:
            value = (img.get(name) or "").strip()
            if value and not value.startswith("data:") and value != src:
                if _placeholder(value) and src:
                    continue
                img.set("src", value)
                break


def _readability_body(page: Page) -> lxml.html.HtmlElement | None:
    """readability-lxml's article, for Chinese pages: it finds their bodies far better than
    trafilatura (body F1 0.95 against 0.80 on gne-pages; see benchmarks/extraction.py), while
    trafilatura is the better of the two on English news. None when it finds too little."""
    # imported here: only finder="peers" runs the peers (0.15 s of every start-up otherwise)
    from readability import Document as ReadabilityDocument
    from readability.readability import Unparseable as ReadabilityUnparseable

    try:
        # readability drops style attributes: keep "centred" (how captions are set) as a class
        for block in page.tree.xpath(_CENTRED):
            block.set("class", f"{block.get('class') or ''} center".strip())
        # as text: readability edits the tree it is given, and re-reads its input on a retry
        html = lxml.html.tostring(page.tree, encoding="unicode")
        summary = ReadabilityDocument(html, url=page.url).summary(html_partial=True)
    except (ReadabilityUnparseable, ValueError, lxml.etree.LxmlError):
        return None
    body = lxml.html.fragment_fromstring(summary, create_parent="div")
    enough = len(_UNITS.findall(md.element_text(body))) >= MIN_TEXT_UNITS
    return body if enough else None  # text outside any paragraph: trafilatura's turn


def _generic_body(page: Page) -> lxml.html.HtmlElement:
    import trafilatura

    html = trafilatura.extract(
        page.tree,
        url=page.url,
        output_format="html",
        fast=True,  # no readability/jusText second opinion: as good here, and faster
        include_images=True,
        include_links=False,  # trafilatura 2.3 loses the text around links when it keeps them
        include_formatting=True,
        include_tables=True,
        include_comments=False,
        deduplicate=False,
    )
    if not html:
        raise NoArticle("no article text (a list, home, video or error page?)")
    document = lxml.html.document_fromstring(html)
    body = document.find("body") if document.find("body") is not None else document
    _line_breaks(body)
    return body


def _line_breaks(root: lxml.html.HtmlElement) -> None:
    """trafilatura writes a line break inside a paragraph as a newline: make it a <br>."""
    for element in list(root.iter()):
        if element.tag == "pre":
            continue
        for where in ("text", "tail"):
            value = getattr(element, where)
            if not value or "\n" not in value.strip():
                continue
            first, *rest = value.strip("\n").split("\n")
            setattr(element, where, first)
            breaks = [new_element("br") for _ in rest]
            for br, line in zip(breaks, rest, strict=True):
                br.tail = line
            if where == "text":
                for offset, br in enumerate(breaks):
                    element.insert(offset, br)
            elif element.getparent() is not None:
                for br in reversed(breaks):
                    element.addnext(br)


_BYLINE_EXTRA = 8  # characters besides the name a byline line has: 本报记者, 報導, 文／


def _clean_edges(body: lxml.html.HtmlElement, found: md.Metadata, rule: Rule | None) -> None:
    """Take bylines, source, date and editor lines out of the body, keeping their values."""
    blocks = [b for b in body.iter(*_BLOCKS) if b is not body and not _has_block_child(b)]
    if rule is not None and rule.patterns:
        for block in blocks:
            text = md.element_text(block)
            for pattern in rule.patterns:
                match = pattern.search(text)
                if match:
                    _keep_groups(match, found)
                    _drop(block)
                    break
    for _ in range(_EDGE_ROUNDS):  # lines under lines: each round looks at the new edges
        if not _clean_edge_lines(body, found):
            break


_EDGE_ROUNDS = 3
_BOILERPLATE_LINE = 160  # a notice at the end of an article may run to two lines
# Notices Chinese pages print at the ends of an article: copyright, reprint terms, disclaimers,
# calls to log in, to read the original or to follow an account. (An English page's copyright
# line is left: the English benchmark's labels count it as the article's.)
_BOILERPLATE = re.compile(
    r"未经.{0,12}(?:允许|授权|許可|许可|同意)|不得转载|不得轉載|禁止转载|版权(?:所有|归)|版權所有|"
    r"转载请(?:注明|联系)|免责声明|免責聲明|阅读全文|请先\s*登录|点击(?:阅读|查看)原文|扫码关注|"
    r"扫一扫|关注(?:我们|公众号)|原创文章"
)
_SUMMARY = re.compile(r"^\W*(?:摘要|内容摘要|内容提要|提要|导读|導讀)\s*[:：]")
_ORIGIN_LABEL = r"(?:本文|文章|稿件|信息)?(?:来源|來源|稿源|转自|轉自|出处|出處)\s*[:：]"


def _clean_edge_lines(body: lxml.html.HtmlElement, found: md.Metadata) -> bool:
    """One round of _clean_edges on the first and last lines of text; whether any went."""
    blocks = [block for block in body.iter(*_BLOCKS) if block is not body]
    opening = _lines_at(blocks)
    edges = opening + _lines_at(blocks[::-1])[::-1]
    first = {id(block) for block, _ in opening}
    dropped = False
    for block, text in dict.fromkeys(edges):
        if len(text) > _BOILERPLATE_LINE or not _attached(block, body):
            continue
        if _BOILERPLATE.search(text) or (id(block) in first and _SUMMARY.match(text)):
            _drop(block)
        elif len(text) > _SHORT_LINE:
            continue
        elif (found.title and text == found.title) or _EDITOR_LINE.match(text):
            found.editor = found.editor or md.editor_in_text(text)
            _drop(block)
        elif _is_only(text, md.origin_in_text, _ORIGIN_LABEL):
            found.origin = found.origin or md.origin_in_text(text)
            _drop(block)
        elif _is_only(text, md.author_in_text, _BYLINE_LABEL):
            found.author = found.author or md.author_in_text(text)
            _drop(block)
        elif reporters := md.byline_line(text):
            found.author = found.author or reporters
            _drop(block)
        elif md.is_credit_line(text) or (_PHOTO_LINE.match(text) and not _after_image(block)):
            found.author = found.author or md.author_in_text(text)
            found.editor = found.editor or md.editor_in_text(text)
            found.photographer = _joined(found.photographer, md.photographers_in_text(text))
            _drop(block)
        elif _is_meta_line(text):
            found.origin = found.origin or md.origin_in_text(text)
            found.author = found.author or md.author_in_text(text)
            _drop(block)
        else:
            continue
        dropped = True
    return dropped


def _lines_at(blocks: list[lxml.html.HtmlElement]) -> list[tuple[lxml.html.HtmlElement, str]]:
    """The first _EDGE_BLOCKS lines of text among `blocks`: those without a block inside,
    with their text (read only as far as needed: the middle of a long article is not)."""
    lines = []
    for block in blocks:
        if not _has_block_child(block) and (text := md.element_text(block)):
            lines.append((block, text))
            if len(lines) == _EDGE_BLOCKS:
                break
    return lines


# "摄影：周斌" standing alone (under an image it is the image's credit, and stays its caption)
_PHOTO_LINE = re.compile(r"^[\[（(【]?\s*(?:摄影|攝影|摄像|攝像)\s*[:：/／]\s*\S+\s*[\]）)】]?$")


def _after_image(block: lxml.html.HtmlElement) -> bool:
    before = block.getprevious()
    return before is not None and (before.tag == "img" or before.find(".//img") is not None)


def _attached(block: lxml.html.HtmlElement, body: lxml.html.HtmlElement) -> bool:
    """Whether `block` is still in `body` (a line inside a line dropped before is not)."""
    return any(ancestor is body for ancestor in block.iterancestors())


_BYLINE_LABEL = (
    r"(?:(?:作者|撰文|撰稿|采写|採寫|执笔|執筆|记者|記者|文)\s*[:：/／]|By\s|(?:专栏|專欄)作者)"
)
_POSTED = re.compile(r"^\W*(?:updated|posted|published|last updated|first published)\b", re.I)
_META_LABEL = re.compile(
    r"(?:来源|來源|作者|编辑|編輯|责任编辑|責任編輯|责编|記者|记者|发布时间|發佈時間|发布|發佈|时间|"
    r"時間|日期|阅读|閱讀|浏览|瀏覽|点击|點擊|字号|字號|字体|字體)\s*[:：]\s*[^\s:：]*"
)


def _is_meta_line(text: str) -> bool:
    """A line of the page's metadata: "Updated Nov 19, 6:55 AM", "2024年6月18日 09:30 来源：晨报"
    (a date, and nothing but labelled values besides)."""
    if _POSTED.match(text):
        return True
    rest = md.without_dates(text)
    if rest == text:
        return False
    rest = _META_LABEL.sub(" ", rest)
    return len(re.sub(r"[\W\d_]", "", rest)) <= 4


def _drop_byline(body: lxml.html.HtmlElement, author: str | None) -> None:
    """The author's name alone at the top of the body ("記者 王小明", "文／王小明", "王小明
    報導"), without a label _clean_edges knows: shown in the page's byline, not twice."""
    if not author:
        return
    blocks = [b for b in body.iter(*_BLOCKS) if b is not body and not _has_block_child(b)]
    for block in blocks[:2]:
        text = md.element_text(block)
        if text and author in text and len(text) - len(author) <= _BYLINE_EXTRA:
            _drop(block)
            return


def _is_only(text: str, finder: Any, label: str) -> bool:
    """True when `text` is a labelled line ('作者：X', '来源：Y') and nothing else."""
    return bool(re.match(rf"^\s*[\[（(【]?\s*{label}", text)) and finder(text) is not None


def _keep_groups(match: re.Match[str], found: md.Metadata) -> None:
    groups = {k: v for k, v in match.groupdict().items() if v}
    if "author" in groups and not found.author:
        found.author = md.clean_author(groups["author"])
    if "origin" in groups and not found.origin:
        found.origin = md.clean_origin(groups["origin"])
    if "published" in groups and not found.published:
        found.published = md.parse_date(groups["published"])


def _has_block_child(element: lxml.html.HtmlElement) -> bool:
    return any(child.tag in _BLOCKS and child.tag != "span" for child in element)


def _drop(element: lxml.html.HtmlElement) -> None:
    if element.getparent() is not None:
        element.drop_tree()


def _no_name_caption(image: dict[str, Any], names: set[str | None]) -> dict[str, Any]:
    """An alt text that is the headline or the site's name captions nothing."""
    return {**image, "caption": None} if image.get("caption") in names else image


_EDGE_TEXT = 6  # shortest text node that tells where the body is in the page's text


_CLOSING = 6  # texts at the end of the body where a byline may be


def _opening_and_closing(body: lxml.html.HtmlElement) -> tuple[str, str, list[str]]:
    """The body's first text, the start of its text, and its last texts, as _lines_of has
    them (texts too short to tell where they are left out); only the ends are read."""
    nodes = _TEXT_NODES(body)
    opening = _lines_from(nodes, 4)
    closing = _lines_from(reversed(nodes), _CLOSING)[::-1]
    if not opening:
        return "", "", []
    return opening[0], " ".join(opening)[: md.HEAD_BEFORE], closing


def _lines_from(nodes: Iterable[str], count: int) -> list[str]:
    """The first `count` lines long enough to place, of text nodes taken in this order."""
    found: list[str] = []
    for node in nodes:
        lines = _BLANK_LINES.sub("\n", _LINE_SPACES.sub(" ", node)).strip().split("\n")
        found += [line for line in lines if len(line) >= _EDGE_TEXT]
        if len(found) >= count:
            break
    return found[:count]


def _only_editor(author: str, editor: str | None) -> bool:
    """Whether every name of `author` is the editor's."""
    return bool(editor) and set(author.split()) <= set((editor or "").split())


def _joined(*names: str | None) -> str | None:
    """Space-separated names, each once."""
    return " ".join(dict.fromkeys(n for value in names if value for n in value.split())) or None


def _inner_html(element: lxml.html.HtmlElement) -> str:
    lead = (element.text or "").strip()
    parts = ["" if _BARE_URL.match(lead) else lead]
    parts += [lxml.html.tostring(child, encoding="unicode") for child in element]
    return "".join(parts)


_TEXT_NODES = lxml.etree.XPath(".//text()", smart_strings=False)


def _lines_of(root: lxml.html.HtmlElement) -> str:
    """The text under `root`, a line per text node and per line break in one (spaces squeezed,
    empty lines dropped): a name list in a byline stops where its text node does ("编辑：张某",
    then a tag "中美关系", is not two names). At most LINES_CHARS of it."""
    body = root.find("body") if root.tag == "html" else root
    nodes = _TEXT_NODES(root if body is None else body)
    if sum(map(len, nodes)) > LINES_CHARS:  # a page may be one 14 MB text node
        nodes = _first_chars(nodes, LINES_CHARS)
    # \0 (which no parsed text holds) marks where lines end while str.split squeezes spaces
    text = " ".join("\0".join(nodes).replace("\n", "\0").split())
    return "\n".join(filter(None, text.replace(" \0", "\0").replace("\0 ", "\0").split("\0")))


_LINE_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r" ?\n\s*")


def _first_chars(texts: list[str], most: int) -> list[str]:
    kept: list[str] = []
    for text in texts:
        kept.append(text[:most])
        most -= len(kept[-1])
        if most <= 0:
            break
    return kept


def _keep_first_part(root: lxml.html.HtmlElement, most_chars: int) -> bool:
    """Cut `root` in place after its first PEER_NODES elements and attributes and PEER_CHARS
    characters of text; whether it was cut. Readability, trafilatura and htmldate each copy
    the tree they are given several times over, and no article is that long. `most_chars`: a
    bound on its characters of text (the page's length)."""
    if _fits(root, most_chars):
        return False
    end = _end_of_first_part(root)
    if end is None:
        return False
    element, where, room = end
    if where == "element":
        _drop_following(element, root)
        element.getparent().remove(element)  # its tail with it
        return True
    if where == "text":
        del element[:]
        element.tail = None
    try:
        setattr(element, where, getattr(element, where)[:room])
    except ValueError:  # a control character the parser let through and lxml refuses to set
        setattr(element, where, None)
    _drop_following(element, root)
    return True


def _fits(root: lxml.html.HtmlElement, most_chars: int) -> bool:
    """Whether all of `root` is within the first part, counted by libxml2 (nearly every page is:
    walking it in Python would cost more than the body finder); its text is not measured when
    the page is too short to hold more than PEER_CHARS of it."""
    nodes = 1 + len(root.attrib) + root.xpath("count(.//*) + count(.//@*)")
    if nodes > PEER_NODES:
        return False
    return most_chars <= PEER_CHARS or root.xpath("string-length(.)") <= PEER_CHARS


def _end_of_first_part(
    root: lxml.html.HtmlElement,
) -> tuple[lxml.html.HtmlElement, str, int] | None:
    """Where the first part of `root` ends: at an element ("element": the first one left out)
    or in the text or tail of one ("text", "tail", with how many characters of it are kept);
    None when all of it fits."""
    nodes = chars = 0
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            nodes += 1 + len(element.attrib)
            if nodes > PEER_NODES and element is not root:
                return element, "element", 0
            where = "text"
        elif element is root:
            continue  # its tail is not part of it
        else:
            where = "tail"
        length = len(getattr(element, where) or "")
        if chars + length > PEER_CHARS:
            return element, where, PEER_CHARS - chars
        chars += length
    return None


def _drop_following(element: lxml.html.HtmlElement, root: lxml.html.HtmlElement) -> None:
    """Remove what follows `element` inside `root`, in document order."""
    while element is not root:
        parent = element.getparent()
        while (following := element.getnext()) is not None:
            parent.remove(following)
        if parent is not root:
            parent.tail = None
        element = parent


def _published(tree, meta, ld, regions: tuple[str, str, str], zone: dt.tzinfo) -> int | None:
    """Markup for the day; the date printed for the time when it agrees on the day: between
    the headline and the body, else under the body, else in the lines under the headline."""
    stated, _ = md.structured_published(tree, meta, ld, zone)
    head, tail, window = regions
    printed = (
        md.date_in_text(head, zone) or md.date_under(tail, zone) or md.date_in_text(window, zone)
    )
    if stated is None:
        return printed
    if printed is not None and md.same_day(stated, printed, zone):
        return printed  # the time the page shows its readers, over the one in its markup
    return stated


def _htmldate(tree: lxml.html.HtmlElement, zone: dt.tzinfo) -> int | None:
    from htmldate import find_date

    try:
        found = find_date(tree, extensive_search=False, original_date=True)
    except (ValueError, TypeError):
        return None
    return md.parse_date(found, zone) if found else None
