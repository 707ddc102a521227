"""The body of a page no rule covers: newsvault's own finder, on the tree already parsed.

One bottom-up walk of the tree counts, for every element, the characters of text under it, the
part of them inside links, the punctuation among the rest, and the elements and links under it.
Every block that holds text directly (a <p>, or a <div> whose lines are separated by <br>) is a
paragraph, scored from its length and its punctuation (prose is punctuated, menus and lists of
headlines are not: the text-and-symbol-density idea gne implements, which matters for Chinese),
less its share of link text; its score goes to its parent and, halved, to its grandparent (the
containers an article's paragraphs share). A container's score is then weighed by its own link
density, by hints in its tag, class and id ("article", "content", "正文" for; "comment",
"related", "share" against), and by its text density (characters per element). The best
container wins; its siblings join it when they score near it or are plain paragraphs of prose
(articles split across sibling <div>s); then the blocks inside that are link lists, share bars,
related-article boxes or comment sections are left out. The region is a copy: the page's tree
stays whole for the metadata read after.

The weights are in FinderParams; benchmarks/extraction.py chooses among a few of them
leave-one-site-out, so that no figure it reports for a site was tuned on that site.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from functools import lru_cache

import lxml.etree
import lxml.html

from newsvault.normalize import new_element

# Punctuation that ends or divides sentences: Chinese, and Latin where a space follows or the
# text ends (not the dots of an address or a number). Counted with str.count, 4 times as fast
# as one regular expression.
_CJK_PUNCTUATION = tuple("，。！？；：、")
_LATIN_PUNCTUATION = tuple(f"{mark} " for mark in ".,;:!?")


def _punctuation(text: str) -> int:
    """The punctuation marks in `text`, stripped of white space at its ends."""
    # a Latin mark counts only with a space after it
    found = sum(map(text.count, _LATIN_PUNCTUATION)) if " " in text else 0
    if not text.isascii():
        found += sum(map(text.count, _CJK_PUNCTUATION))
    return found + (text[-1] in ".!?")


# Blocks: an element of these starts a new line; text directly inside one is a paragraph of it.
_BLOCK = frozenset((
    "p", "div", "td", "th", "li", "dd", "dt", "blockquote", "pre", "section", "article", "main",
    "body", "center", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tbody", "tr", "ul", "ol", "dl",
    "form", "figure", "figcaption", "header", "address",
))  # fmt: skip
_PARAGRAPH = frozenset((
    "p", "pre", "blockquote", "li", "dd", "td", "h2", "h3", "h4", "h5", "h6", "figcaption",
))  # fmt: skip
_LINE_HOLDERS = frozenset(("font", "span"))
_LINES = 2  # line breaks that make a <font> or <span> a block of lines
_TAG_WEIGHT = {
    "article": 10.0, "main": 5.0, "div": 5.0, "section": 3.0, "td": 3.0, "pre": 3.0,
    "blockquote": 3.0, "ul": -3.0, "ol": -3.0, "dl": -3.0, "li": -3.0, "form": -3.0,
    "h1": -5.0, "h2": -5.0, "h3": -5.0, "th": -5.0, "body": -10.0, "header": -10.0,
    "table": 0.0, "tbody": 0.0, "tr": 0.0, "dd": -3.0, "center": 0.0, "figure": 0.0,
}  # fmt: skip
_GOOD = re.compile(
    r"article|artic|content|body|entry|main|post|story|text|detail|正文|news_?txt|cont\b|"
    r"zoom|endtext|neirong|wenzhang|rich_media",
    re.I,
)
_BAD = re.compile(
    r"comment|footer|foot\b|sidebar|side\b|\bnav|menu|share|social|related|relate|recommend|"
    r"\bhot|rank|advert|\bad[s_-]|banner|sponsor|promo|copyright|breadcrumb|\btags?\b|widget|"
    r"popup|login|subscribe|pagination|pager|tool|qrcode|erweima|weixin|wechat|guess|like|"
    r"more|list|links?\b|top_?news|masthead|header|title|headline|byline|author|\bmeta|"
    r"timestamp|dateline|gallery|slideshow|carousel",
    re.I,
)
_JUNK = re.compile(
    r"comment|share|social|related|relate|recommend|\bad[s_-]|advert|sponsor|promo|"
    r"qrcode|erweima|breadcrumb|pagination|pager|\btags?\b|guess|hot_?news|rank|gallery|"
    r"slideshow|carousel|author|\bbio\b|contributor",
    re.I,
)
# A line that only announces a list of other articles (read with its spaces and dots out).
_LISTS = (
    r"you ?may ?also ?like|you ?might ?also ?like|related(?: ?articles| ?stories| ?coverage)?|"
    r"more ?from ?[\w ]+|more ?stories|most ?read[\w ]*|most ?popular|read ?more|recommended|"
    r"trending(?: ?now)?|相关(?:阅读|新闻|文章|推荐|链接|報導|报道)|相關(?:閱讀|新聞|文章)|"
    r"推荐阅读|推薦閱讀|延伸阅读|延伸閱讀|延伸推荐|猜你喜欢|热门(?:推荐|文章|新闻)|熱門|"
    r"更多(?:精彩|阅读|新闻)"
)
_LIST_HEADING = re.compile(rf"^(?:{_LISTS})\W*$", re.I)
# A box that starts with such a line (its first words; not "相关报道称", which starts prose).
_LIST_BOX = re.compile(
    r"^(?:you ?may ?also ?like|related ?(?:articles|stories)|more ?stories|most ?read|"
    r"相关(?:阅读|新闻|文章|推荐|链接)|推荐阅读|延伸阅读|延伸推荐|猜你喜欢|热门推荐)",
    re.I,
)
_HEADING_NOISE = re.compile(r"[\s·•|｜/\-—:：]+")


def _heading(text: str) -> str:
    return _HEADING_NOISE.sub("", text[:40]).strip()


@dataclass(frozen=True)
class FinderParams:
    """The finder's weights (benchmarks/extraction.py chooses among some leave-one-site-out)."""

    min_paragraph: int = 20  # characters a block needs to count as a paragraph
    hint: float = 25.0  # what a good or bad class or id adds or takes away
    sibling_share: float = 0.3  # a sibling scoring this share of the best joins it
    list_links: float = 0.35  # a block inside the region with more link text than this goes
    density: float = 1.0  # how much text density (characters per element) counts


DEFAULT = FinderParams()


class _Stats:
    """What the walk counted under one element."""

    __slots__ = (
        "block", "chars", "elements", "inline_chars", "inline_links", "inline_punctuation",
        "links", "punctuation", "score",
    )  # fmt: skip

    def __init__(self) -> None:
        self.chars = 0  # characters of text (white space at the ends of runs trimmed) under it
        self.links = 0  # of which inside <a>
        self.punctuation = 0  # punctuation outside links
        self.elements = 1  # elements under it, itself included
        self.inline_chars = 0  # characters not inside a block child: its own paragraph
        self.inline_links = 0
        self.inline_punctuation = 0
        self.score = 0.0  # what the paragraphs under it gave it
        self.block = False  # a block, or an inline element holding lines of text


@dataclass
class Found:
    """The body a finder found, and how sure it is."""

    body: lxml.html.HtmlElement
    score: float
    chars: int  # characters of text in the body
    page_chars: int  # characters of text in the page


def find_body(root: lxml.html.HtmlElement, params: FinderParams = DEFAULT) -> Found | None:
    """The region of `root` that holds the article, copied; None when no block scores."""
    body = root.find("body")
    stats = _walk(root if body is None else body, params)
    scored = sorted(
        ((_container_score(e, s, params), e) for e, s in stats.items() if s.score > 0),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if not scored or scored[0][0] <= 0:
        return None
    best_score, best = scored[0]
    best = _shared_ancestor(best, [e for v, e in scored[1:6] if v >= best_score * 0.75], root)
    parts = _with_siblings(best, best_score, stats, params)
    outer = _outer_wrapper(best, stats)
    if len(parts) == 1 and outer is not best:
        parts = _with_siblings(outer, best_score, stats, params, deep=True)
        if len(parts) == 1:
            parts = [best]
    region = _copy_without_junk(parts, stats, params)
    chars = sum(stats[p].chars for p in parts)
    page = stats.get(root if body is None else body)
    return Found(region, best_score, chars, page.chars if page else chars)


_WRAPPER_EXTRA = 0.03  # a parent with no more text than its child than this is its wrapper


def _outer_wrapper(
    best: lxml.html.HtmlElement, stats: dict[lxml.html.HtmlElement, _Stats]
) -> lxml.html.HtmlElement:
    """The outermost element holding little more text than `best`: the level at which an
    article split into sibling boxes has its other boxes."""
    chars = stats[best].chars
    parent = best.getparent()
    while parent is not None and parent.tag not in ("body", "html"):
        s = stats.get(parent)
        if s is None or s.chars > chars * (1 + _WRAPPER_EXTRA):
            break
        best, parent = parent, parent.getparent()
    return best


_DEEP_SHARE = 2.0  # beside a wrapper, a box must hold twice the sibling share to join
_SHARED_LEVELS = 3  # how far above the best container a shared ancestor may be


def _shared_ancestor(
    best: lxml.html.HtmlElement, near: list[lxml.html.HtmlElement], root: lxml.html.HtmlElement
) -> lxml.html.HtmlElement:
    """An article in many sibling boxes: when three or more of the near-best containers (the
    best among them) share an ancestor below <body>, that ancestor is the region."""
    if len(near) < 2:
        return best
    lineage = [best, *_ancestors(best, root)]
    depth = {id(e): i for i, e in enumerate(lineage)}
    near = [e for e in near if id(e) not in depth and best not in set(_ancestors(e, root))]
    if len(near) < 2:
        return best
    highest = 0
    for element in near:
        for ancestor in (element, *_ancestors(element, root)):
            if id(ancestor) in depth:
                highest = max(highest, depth[id(ancestor)])
                break
    shared = lineage[highest]
    return best if shared.tag in ("body", "html") or highest > _SHARED_LEVELS else shared


def _walk(root: lxml.html.HtmlElement, params: FinderParams) -> dict[lxml.html.HtmlElement, _Stats]:
    stats: dict[lxml.html.HtmlElement, _Stats] = {}
    get = stats.get
    in_links = set(root.xpath("//a//*"))  # a box inside a link is a teaser, not a paragraph
    minimum = params.min_paragraph
    # shared by the many empty elements (<br>, <img>); a <br> is told by its own
    leaf, block_leaf, br_leaf = _Stats(), _Stats(), _Stats()
    new_stats = object.__new__
    block_leaf.block = True
    # reversed document order visits every element after all of its descendants
    for element in reversed(list(root.iter())):
        tag = element.tag
        if not isinstance(tag, str):
            continue
        text = element.text
        if text:
            text = text.strip()
        if not text and not len(element):
            stats[element] = br_leaf if tag == "br" else block_leaf if tag in _BLOCK else leaf
            continue
        s = new_stats(_Stats)  # every field is set below
        prior = get(element)  # made by a paragraph under it, holding the score it gave
        s.score = 0.0 if prior is None else prior.score
        if text:
            # the punctuation of a link's own text counts nowhere
            inline, inline_punctuation = len(text), 0 if tag == "a" else _punctuation(text)
        else:
            inline = inline_punctuation = 0
        chars, links, punctuation, elements, inline_links = inline, 0, inline_punctuation, 1, 0
        breaks = 0
        for child in element:
            tail = child.tail
            if tail:
                tail = tail.strip()
                if tail:
                    n, p = len(tail), _punctuation(tail)
                    chars += n
                    punctuation += p
                    inline += n
                    inline_punctuation += p
            c = get(child)
            if c is None:
                continue
            if c is br_leaf:
                breaks += 1
                elements += 1
                continue
            chars += c.chars
            links += c.links
            punctuation += c.punctuation
            elements += c.elements
            if not c.block:
                inline += c.chars
                inline_links += c.links
                inline_punctuation += c.punctuation
        if tag == "a":
            links, punctuation, inline_links = chars, 0, inline
        s.chars, s.links, s.punctuation, s.elements = chars, links, punctuation, elements
        s.inline_chars, s.inline_links = inline, inline_links
        s.inline_punctuation = inline_punctuation
        # <font> or <span> holding lines of text between <br>s: the block of old portal pages
        s.block = tag in _BLOCK or (breaks >= _LINES and tag in _LINE_HOLDERS)
        stats[element] = s
        if inline >= minimum and s.block and element not in in_links:
            _score_paragraph(element, s, stats)
    return stats


def _score_paragraph(
    element: lxml.html.HtmlElement, s: _Stats, stats: dict[lxml.html.HtmlElement, _Stats]
) -> None:
    """Give the paragraph's score to the containers it belongs to."""
    plain = s.inline_chars - s.inline_links
    if plain <= 0:
        return
    if not s.inline_punctuation and plain < 50:
        return  # a short line without punctuation: a headline, a menu item, a label
    score = (1 + s.inline_punctuation + min(plain / 100, 3.0)) * (plain / s.inline_chars)
    if element.tag in ("li", "dd", "td"):
        score /= 2  # list items and cells hold lists of headlines as often as text
    # A paragraph tag gives to its parent and grandparent; a div holding lines of text
    # directly is itself the container, and gives to its parent half.
    holder = element.getparent() if element.tag in _PARAGRAPH else element
    share = 1.0
    while holder is not None and share >= 0.5:
        target = stats.get(holder)
        if target is None:  # an ancestor: not walked yet
            target = stats[holder] = _Stats()
        target.score += score * share
        holder, share = holder.getparent(), share / 2


def _container_score(element: lxml.html.HtmlElement, s: _Stats, params: FinderParams) -> float:
    if s.chars <= 0:
        return 0.0
    score = s.score + _TAG_WEIGHT.get(element.tag, 0.0) + _hint(element, params)
    score *= 1 - s.links / s.chars
    if params.density:
        # characters per element: a box of short links and icons is dense in elements
        density = (s.chars - s.links) / max(s.elements, 1)
        score *= 1 + params.density * math.log1p(density) / 10
    return score


def _hint(element: lxml.html.HtmlElement, params: FinderParams) -> float:
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    return _hint_of(names) * params.hint if len(names) > 1 else 0.0


@lru_cache(maxsize=4096)
def _hint_of(names: str) -> int:
    """+1 for a class or id that names content, -1 for one that names the rest, 0 for both."""
    return bool(_GOOD.search(names)) - bool(_BAD.search(names))


def _with_siblings(
    best: lxml.html.HtmlElement,
    best_score: float,
    stats: dict[lxml.html.HtmlElement, _Stats],
    params: FinderParams,
    deep: bool = False,
) -> list[lxml.html.HtmlElement]:
    parent = best.getparent()
    if parent is None:
        return [best]
    threshold = max(10.0, best_score * params.sibling_share)
    parts = []
    for sibling in parent:
        if sibling is best:
            parts.append(best)
            continue
        s = stats.get(sibling)
        if s is None or not isinstance(sibling.tag, str):
            continue
        if _joins(sibling, stats, threshold, params, deep) or _same_box(sibling, best, stats):
            parts.append(sibling)
    return parts


def _same_box(
    sibling: lxml.html.HtmlElement,
    best: lxml.html.HtmlElement,
    stats: dict[lxml.html.HtmlElement, _Stats],
) -> bool:
    """A box of the same tag and class as the best one, holding prose: one article printed in
    several boxes of one template."""
    names = best.get("class")
    if not names or sibling.tag != best.tag or sibling.get("class") != names:
        return False
    s = stats[sibling]
    return s.chars > 0 and s.links < 0.25 * s.chars and s.punctuation >= 3


def _joins(
    sibling: lxml.html.HtmlElement,
    stats: dict[lxml.html.HtmlElement, _Stats],
    threshold: float,
    params: FinderParams,
    deep: bool,
) -> bool:
    s = stats[sibling]
    if s.chars == 0:
        return False
    if _JUNK.search(f"{sibling.get('class') or ''} {sibling.get('id') or ''}"):
        return False
    link_density = s.links / s.chars
    if deep:  # beside the wrapper of the best: a box holding a container that scores near it
        inner = (_container_score(e, stats[e], params) for e in sibling.iter() if e in stats)
        if max(inner, default=0.0) >= threshold * _DEEP_SHARE:
            return True
    elif s.score and _container_score(sibling, s, params) >= threshold:
        return True
    paragraph = sibling.tag in ("p", "blockquote", "pre") or (
        sibling.tag == "div" and s.inline_chars == s.chars  # a <div> used as a paragraph
    )
    if paragraph and link_density < 0.25:
        plain = s.chars - s.links
        if plain >= 80 and s.punctuation >= 2:
            return True
        if 0 < plain < 80 and s.punctuation and link_density == 0:
            text = (sibling.text_content() or "").strip()
            return text[-1:] in '。！？.!?”"）)'
    return False


def _copy_without_junk(
    parts: list[lxml.html.HtmlElement],
    stats: dict[lxml.html.HtmlElement, _Stats],
    params: FinderParams,
) -> lxml.html.HtmlElement:
    """The parts copied into one <div>, less the blocks in them that are not the article's."""
    total = sum(stats[p].chars for p in parts) or 1
    drop = set()
    for part in parts:
        # depth first, in document order; what is inside a dropped block is not looked at
        below = [iter(part)]
        while below:
            for element in below[-1]:
                if not isinstance(element.tag, str):
                    continue
                s = stats.get(element)
                if s is not None and _is_junk(element, s, total, params):
                    drop.add(element)
                elif len(element):
                    below.append(iter(element))
                    break
            else:
                below.pop()
    wrapper = new_element("div")
    for part in parts:
        copy = deepcopy(part)
        copy.tail = None
        if drop:
            doomed = [c for o, c in zip(part.iter(), copy.iter(), strict=True) if o in drop]
            for element in doomed:
                if element.getparent() is not None:
                    element.drop_tree()
        wrapper.append(copy)
    _lines_to_paragraphs(wrapper)
    return wrapper


# Elements whose lines, separated by <br>, may be the paragraphs of an article.
_LINE_HOLDING = ("div", "td", "th", "font", "span", "section", "article", "center", "main", "dd")


def _lines_to_paragraphs(root: lxml.html.HtmlElement) -> None:
    """Lines of text between <br>s directly in a box (old pages print articles so) made <p>s,
    for the clean-up to read them as paragraphs; a line that is one link, or that announces a
    list of other articles, goes."""
    for element in list(root.iter(_LINE_HOLDING)):
        if sum(1 for child in element if child.tag == "br") < _LINES:
            continue
        if any(ancestor.tag == "p" for ancestor in element.iterancestors()):
            continue  # lines of a paragraph (a poem, an address) stay one paragraph
        runs: list[tuple[str | None, list[lxml.html.HtmlElement]] | lxml.html.HtmlElement] = []
        text: str | None = element.text
        inline: list[lxml.html.HtmlElement] = []
        for child in list(element):
            if child.tag == "br" or child.tag in _BLOCK:
                runs.append((text, inline))
                text, inline = child.tail, []
                child.tail = None
                if child.tag != "br":
                    runs.append(child)
            else:
                inline.append(child)
        runs.append((text, inline))
        element.text = None
        for child in list(element):
            element.remove(child)
        for run in runs:
            if not isinstance(run, tuple):
                element.append(run)
                continue
            paragraph = new_element("p")
            paragraph.text = run[0]
            for child in run[1]:
                paragraph.append(child)  # its tail with it
            line = paragraph.text_content().strip()
            linked = sum(len(a.text_content().strip()) for a in paragraph.iter("a"))
            prose = bool(line) and linked < len(line) and not _LIST_HEADING.match(_heading(line))
            if prose or (not line and len(paragraph)):  # or an image on a line of its own
                element.append(paragraph)


def _ancestors(
    element: lxml.html.HtmlElement, stop: lxml.html.HtmlElement
) -> Iterator[lxml.html.HtmlElement]:
    parent = element.getparent()
    while parent is not None and parent is not stop:
        yield parent
        parent = parent.getparent()


def _is_junk(element: lxml.html.HtmlElement, s: _Stats, total: int, params: FinderParams) -> bool:
    tag = element.tag
    if tag not in _BLOCK or tag == "body" or s.chars > total / 2 or s.chars == 0:
        return False  # s.chars == 0: an image's box, a rule
    if s.links == s.chars and tag in _PARAGRAPH:
        return True  # a paragraph that is one link: a related article
    if tag == "article":
        return True  # an article inside the article (and less than half of it): a teaser
    if s.chars <= 40 and _LIST_HEADING.match(_heading(element.text_content())):
        return True
    if tag == "p":
        return False
    if _LIST_BOX.match(_heading(element.text_content())):
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    if _JUNK.search(names) and not _GOOD.search(names):
        return True
    link_density = s.links / s.chars
    if link_density > params.list_links:
        return True
    if tag in ("ul", "ol", "dl") and link_density > 0.3:
        return True
    # a block of text without punctuation, much of it links: a menu or a row of tags
    return s.chars >= 20 and s.punctuation == 0 and link_density > 0.2
