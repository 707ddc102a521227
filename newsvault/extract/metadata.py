"""Metadata of a news page: title, author, published time, origin (syndication source), language.

Structured data first (meta tags, JSON-LD, <time>), then the lines a Chinese page prints
under its headline ("作者：", "记者", "文/", "来源：", "2024年6月20日 10:30", "发布时间："); for
the date, then the day in the URL, then htmldate. A time without a zone is read as UTC+8 on
Chinese pages and as UTC elsewhere.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from dataclasses import dataclass, field
from typing import Any

import lxml.etree
import lxml.html

# regex, not re: re compiles each class of Chinese characters from Python, character by
# character (a few ms each, 0.2 s for these patterns at every start); the matches are the same
import regex as re

from newsvault.models import CHINA_TIME, to_ms

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Chinese name is a whole run of 2-5 characters: "医技药剂党支部" is no name cut at five.
_NAME = rf"[{_CJK}·•]{{2,5}}(?![{_CJK}])|[A-Z][A-Za-z.'\-]+(?: [A-Z][A-Za-z.'\-]+){{0,3}}(?![\w])"
# the label of the next credit on the line: "摄影/张某 编辑/李某" lists no "编辑"
_NEXT_LABEL = (
    r"(?:责任编辑|責任編輯|编辑|編輯|责编|責編|摄影|攝影|来源|來源|记者|記者|作者|校对|校對|审核|審核)"
    r"(?=[\s:：/／]|$)"
)
# names in one list: separated by punctuation or spaces, not by the end of a line (of a page's
# text node: a byline then the first of the page's tags)
_NAMES_APART = r"\s*[、，,和及与與/&＆]\s*|[^\S\n]+"
_NAMES = rf"(?:{_NAME})(?:(?:{_NAMES_APART})(?!{_NEXT_LABEL})(?:{_NAME})(?!\s*[:：]))*"
# names that start a run of text, not in the middle of a word: "城市摄影队 周斌 摄"
_LONE_NAMES = rf"(?<![{_CJK}·•A-Za-z])(?:{_NAMES})"
_AUTHOR_PATTERNS = [
    re.compile(
        rf"(?:作者|撰文|撰稿|采写|採寫|记者|記者|文|图文|口述|整理|执笔|執筆)\s*[:：/／|｜]\s*({_NAMES})"
    ),
    re.compile(rf"(?<![{_CJK}])(?:作者|作\s者)\s+({_NAME})"),  # one: tags may follow
    re.compile(rf"(?:专栏作者|專欄作者|特约作者|特約作者|特约撰稿人|特約撰稿人)\s*({_NAMES})"),
    # "石佳/中国青年报": the writer, then the paper
    re.compile(
        rf"(?<![{_CJK}/／])({_NAME})\s*[/／]\s*(?=[{_CJK}]{{1,10}}(?:报|報|网|網|社|台|刊|新闻|新聞)(?![{_CJK}]))"
    ),
    re.compile(
        rf"(?:本报|本報|本台|新华社|新華社|中新社|中新网|央视|特约|通讯员)?(?:记者|記者)\s+({_NAMES})"
    ),
    re.compile(rf"(?:^|\s)(?:By|BY|by)\s+({_NAMES})"),
    re.compile(rf"(?:文/图|图/文|文／图|图／文)\s*[:：]?\s*({_NAMES})"),
    # a dateline: "新华社巴黎12月9日电（记者唐霁）", "（职工通讯员 李琴雯 刘会）"
    re.compile(
        rf"[（(](?:本报|本報|特约|特約|职工|職工)?(?:记者|記者|通讯员|通訊員)\s*({_NAMES})[）)]"
    ),
]
_PHOTO_CREDIT = re.compile(r"\s*(?:摄|攝|供图|供圖)")
_EDITOR = re.compile(
    rf"(?:责任编辑|責任編輯|编辑|編輯|责编|責編|值班编辑|值班編輯|主编|主編)\s*[:：/／]\s*({_NAMES})"
    r"(?!\s*[:：])"  # "责任编辑：" left empty, then another line's "香港警方：..."
)
_PHOTOGRAPHER = [
    re.compile(
        # "图/张某", not "图：" and the caption's words
        rf"(?:(?:摄影|攝影|摄像|攝像)\s*[:：/／]|(?<![{_CJK}])(?:图片|圖片|图|圖)\s*[/／])\s*({_NAMES})"
    ),
    re.compile(
        rf"(?:记者|記者|通讯员|通訊員)?\s*({_LONE_NAMES})\s*[/／]?\s*(?:摄|攝)(?:影)?(?![{_CJK}:：/／])"
    ),
]
_PHOTO_MARKS = ("摄", "攝", "图", "圖")  # what every _PHOTOGRAPHER pattern needs one of
# "（张某）" ending an article's last paragraph; "(文/图 李某)"
_END_BYLINE = re.compile(r"[（(]([^（）()]{2,30})[）)]\s*$")
_BARE_NAMES = re.compile(rf"[{_CJK}]{{2,4}}(?:[\s、，,][{_CJK}]{{2,4}})*")
_DATELINE = re.compile(
    rf"[（(](?:本报|本報|特约|特約|职工|職工|见习|見習)?(?:记者|記者|通讯员|通訊員)\s*({_NAMES})[）)]"
)
_DATELINE_CHARS = 200  # a dateline opens the text: "长江网10月4日讯（记者 李某）"
_TEAM = re.compile(
    r"(?:队|隊|组|組|部|室|处|處|局|院|厅|廳|团|團|社|站|所|科|记者|記者|通讯员|通訊員)$"
)
# bracketed words ending a text that name nobody: "（完）", "（待续）", "（图文无关）"
_NOT_NAMES = {
    "完", "全文完", "待续", "待續", "未完待续", "未完待續", "图文无关", "圖文無關", "资料图",
    "資料圖", "图片", "圖片", "视频", "視頻", "原标题", "原標題", "编辑", "編輯", "责编", "責編",
    "记者", "記者", "本报讯", "本報訊", "图文", "圖文", "截图", "截圖", "供图", "供圖", "摄影",
    "视觉中国", "視覺中國", "东方IC", "東方IC", "图虫创意", "圖蟲創意",
}  # fmt: skip
# What pages print where an author's name would be, naming nobody.
_NOBODY = {
    "网络整理",
    "网络",
    "網絡",
    "佚名",
    "本站",
    "综合",
    "綜合",
    "网络综合",
    "未知",
    "匿名",
    "Taboola",
}
_ORIGIN = re.compile(
    rf"(?:来源于|來源於|来源|來源|稿源|转自|轉自|转载自|轉載自|出处|出處|来自|來自)\s*[:：]\s*"
    rf"([{_CJK}A-Za-z·.\-《》（）()]{{2,30}}|[A-Za-z0-9.\-]{{2,30}})"
)
# A byline that names an organisation (网易, 新京报, 证券时报网) names the source, not a person.
_ORGANISATION = re.compile(
    rf"[{_CJK}](?:网|網|报|報|社|台|刊|新闻|新聞|日报|晚报|周刊|财经|財經|科技|频道|頻道|中心|传媒|"
    rf"傳媒|媒体|媒體|集团|集團|委员会|委員會|党支部|政府)$|\.(?:com|net|org|cn)$|^[{_CJK}]+(?:网|網)|"
    rf"自媒体|自媒體|[{_CJK}][_\-][{_CJK}]",  # "新浪财经-自媒体综合"
    re.I,
)
_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})(?:\s*[年/.\-]\s*|\s+)(?P<m>[01]?\d)\s*[月/.\-]\s*(?P<d>[0-3]?\d)\s*日?"
    r"(?:\s*(?:T|\s)?\s*(?P<H>[0-2]?\d)\s*[:：时時]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d))?)?"
)
_LABELLED_DATE = re.compile(
    r"(?:发布时间|發佈時間|发表时间|發表時間|发布日期|發佈日期|更新时间|时间|時間|日期|发表于|發表於|"
    r"发布于|發佈於)\s*[:：]?\s*" + _DATE.pattern
)
_PUBLISHED_META = [
    "article:published_time", "og:article:published_time", "article:published",
    "publishdate", "publish_date", "pubdate", "datepublished", "dc.date.issued", "dc.date",
    "dcterms.created", "sailthru.date", "og:release_date", "article:create_at", "og:time",
    "parsely-pub-date", "date", "apub:time", "dateupdate",
]  # fmt: skip
_AUTHOR_META = [
    "author",
    "article:author",
    "og:article:author",
    "dc.creator",
    "byl",
    "parsely-author",
]
_SITE_SUFFIX = re.compile(rf"\s*(?:[_|｜–—]|\s-\s|－|--|(?<=[{_CJK}])-(?=[{_CJK}]))\s*")
_SPACES = re.compile(r"\s+")
# JSON-LD longer than this is not read: its objects take ten times its size in memory
MAX_JSON_LD = 1_000_000
WINDOW = 400  # characters after the headline where bylines, dates and source lines are looked for


@dataclass
class Metadata:
    title: str | None = None
    author: str | None = None
    published: int | None = None
    origin: str | None = None
    lang: str | None = None
    site: str | None = None
    editor: str | None = None
    photographer: str | None = None
    found_by: dict[str, str] = field(default_factory=dict)


def page_lang(tree: lxml.html.HtmlElement) -> str | None:
    value = (tree.get("lang") or "").strip().lower()
    for meta in tree.xpath('//meta[@http-equiv="content-language" or @name="language"]/@content'):
        value = value or meta.strip().lower()
    return value.split("-")[0].split("_")[0] or None


def meta_values(tree: lxml.html.HtmlElement) -> dict[str, str]:
    values: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = (meta.get("content") or "").strip()
        if key and content and key not in values:
            values[key] = content
    return values


def json_ld(tree: lxml.html.HtmlElement) -> dict[str, Any]:
    """The first article-like JSON-LD object on the page (headline, author, datePublished)."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        if len(script.text or "") > MAX_JSON_LD:
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in _ld_items(data):
            if isinstance(item, dict) and (item.get("headline") or item.get("datePublished")):
                return item
    return {}


def _ld_items(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [i for d in data for i in _ld_items(d)]
    if isinstance(data, dict) and "@graph" in data:
        return _ld_items(data["@graph"])
    return [data]


def squeeze(text: str) -> str:
    """White space runs made one space, ends trimmed: " ".join(text.split()) without a list of
    every word (a large page has millions)."""
    return _SPACES.sub(" ", text).strip()


def element_text(element: lxml.html.HtmlElement) -> str:
    return squeeze(element.text_content())


def title_tag(tree: lxml.html.HtmlElement) -> str:
    """The text of the page's <title>, spaces collapsed."""
    return " ".join(" ".join(tree.xpath("//title//text()")).split())


def find_title(tree: lxml.html.HtmlElement, meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    page_title = title_tag(tree)
    headings = [element_text(h) for h in tree.iter("h1")]
    headings = [h for h in headings if 2 <= len(h) <= 200]
    for heading in headings:
        if page_title and heading in page_title:
            return heading
    # Chinese templates often set the headline in an h2-h5 or a div.title, the <title> adding
    # the site's name after it ("标题 东区办事处", "标题-EDN 电子技术设计")
    others = _title_candidates(tree)
    inside = [c for c in others if len(c) >= 6 and c in page_title]
    if inside:
        return max(inside, key=len)
    for candidate in (meta.get("og:title"), meta.get("twitter:title"), ld.get("headline")):
        if isinstance(candidate, str) and candidate.strip():
            return strip_site_name(" ".join(candidate.split()))
    if len(headings) == 1:
        return headings[0]
    stripped = strip_site_name(page_title)
    named_only = not any(page_title in c or (stripped and stripped in c) for c in others)
    if others and named_only and _CJK_TEXT.search(page_title) and not headings:
        return others[0]  # a <title> that is only the site's name: the first headline wins
    return stripped or (headings[0] if headings else None)


_CJK_TEXT = re.compile(f"[{_CJK}]")
_TITLE_XPATH = (
    "//h2|//h3|//h4|//h5|//*[contains(@class, 'title') or contains(@id, 'title')]"
    "[not(self::title or self::head or self::body or self::html)]"
)


def _title_candidates(tree: lxml.html.HtmlElement) -> list[str]:
    """Headline-like texts outside links and menus, in page order."""
    found: dict[str, None] = {}
    for element in tree.xpath(_TITLE_XPATH):
        if any(a.tag in ("a", "nav", "li", "ul", "footer") for a in element.iterancestors()):
            continue
        if element.find(".//a") is not None and element.tag not in ("h2", "h3"):
            continue
        text = element_text(element)
        if 8 <= len(text) <= 120:
            found.setdefault(text)
    return list(found)


def strip_site_name(title: str) -> str:
    """'标题_新浪新闻' -> '标题': the first part when it is long enough, else the longest."""
    parts = [p for p in _SITE_SUFFIX.split(title) if p]
    if len(parts) <= 1:
        return title
    return parts[0] if len(parts[0]) >= 6 else max(parts, key=len)


def parse_date(text: str, zone: dt.tzinfo = CHINA_TIME) -> int | None:
    """Milliseconds since the epoch from an ISO 8601, RFC 2822 or Chinese date; `zone` when the
    text names none."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is None:
        match = _DATE.search(text)
        return _match_to_ms(match, zone) if match else None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return to_ms(moment) if 1990 <= moment.year <= 2100 else None


def _match_to_ms(match: re.Match[str], zone: dt.tzinfo) -> int | None:
    parts = match.groupdict()
    try:
        moment = dt.datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
    return to_ms(moment)


def date_in_text(text: str, zone: dt.tzinfo) -> int | None:
    """A labelled date ('发布时间：...'), else the first date with a time of day, else a date."""
    for pattern in (_LABELLED_DATE, _DATE):
        with_time = [m for m in pattern.finditer(text) if m.group("H")]
        for match in with_time or list(pattern.finditer(text))[:1]:
            ms = _match_to_ms(match, zone)
            if ms is not None:
                return ms
    return None


def without_dates(text: str) -> str:
    """`text` with its dates (and their times of day) taken out."""
    return _DATE.sub(" ", text)


def author_in_text(text: str) -> str | None:
    """The first byline in `text` (the one printed first, whichever way it is written)."""
    found: list[tuple[int, str]] = []
    for pattern in _AUTHOR_PATTERNS:
        for match in pattern.finditer(text):
            if _PHOTO_CREDIT.match(text, match.end()):
                continue  # "中新社记者 贾天勇 摄": who took the picture, not who wrote
            if name := clean_author(match.group(1)):
                found.append((match.start(), name))
                break
    return min(found)[1] if found else None


def editor_in_text(text: str) -> str | None:
    """The editor a line names ("责任编辑：赵某", "编辑/钱某")."""
    for match in _EDITOR.finditer(text):
        if name := _people(match.group(1)):
            return name
    return None


def photographers_in_text(text: str) -> str | None:
    """Who took the pictures: "摄影：张某", "图/张某", "张某/摄", "记者 张某 摄", "（张某摄）"."""
    names: dict[str, None] = {}
    if not any(mark in text for mark in _PHOTO_MARKS):  # one of them is in every credit
        return None
    for pattern in _PHOTOGRAPHER:
        for match in pattern.finditer(text):
            if people := _people(match.group(1)):
                names.update(dict.fromkeys(people.split()))
    return " ".join(names) or None


def inline_author(opening: str, closing: list[str]) -> str | None:
    """A reporter the text itself names: a dateline at its start ("（记者 王某）"), a name in
    brackets ending its last paragraph ("……举行。（张某）", "(文/图 李某 王某)"), or a
    byline line among them ("采写：记者 王某"; the clean-up leaves one that is not at the very
    end, above a box the body finder kept)."""
    start = _DATELINE.search(opening[:_DATELINE_CHARS])
    if start and (name := clean_author(start.group(1))):
        return name
    end = _END_BYLINE.search(closing[-1]) if closing else None
    if end and not end.group(1).endswith(("摄", "攝", "供图", "供圖")):
        inner = end.group(1)
        name = author_in_text(inner) or (_people(inner) if _BARE_NAMES.fullmatch(inner) else None)
        if name:
            return name
    for text in reversed(closing):
        if len(text) <= _BYLINE_LINE and _BYLINE_START.match(text):
            return author_in_text(text)
        if name := byline_line(text):
            return name
    return None


_BYLINE_LINE = 40
_PAPER_REPORTER = re.compile(rf"^[{_CJK}]{{1,6}}(?:记者|記者|通讯员|通訊員)\s+")
_REPORTER_LINE = re.compile(
    rf"[{_CJK}]{{0,10}}?(?:记者|記者|通讯员|通訊員)\s*({_NAMES})\s*(?:报道|報導|报导)?"
)


_CREDIT = re.compile(
    r"(?:责任编辑|責任編輯|编辑|編輯|责编|責編|美编|美編|校对|校對|审核|審核|监制|監製|统筹|統籌|"
    r"摄影|攝影|摄像|攝像|作者|撰文|文字|来源|來源)\s*[:：/／]\s*[^\s:：/／]+|\S{2,12}(?:供稿|供图|供圖)"
)


def is_credit_line(text: str) -> bool:
    """A line of credits and nothing else: "药剂科供稿 摄影/张艳 编辑/苏芳"."""
    if len(text) > _BYLINE_LINE * 2 or len(_CREDIT.findall(text)) < 2:
        return False
    return not re.sub(r"[\W\d_]", "", _CREDIT.sub("", text))


def byline_line(text: str) -> str | None:
    """The reporters a line that is only a byline names: "扬子晚报记者 张楠", "本报记者 王某"."""
    match = _REPORTER_LINE.fullmatch(text) if len(text) <= _BYLINE_LINE else None
    return _people(match.group(1)) if match else None


_BYLINE_START = re.compile(r"^\W?(?:作者|撰文|撰稿|采写|採寫|记者|記者|执笔|執筆)\s*[:：/／]")


def _people(value: str) -> str | None:
    """The people `value` lists, space-joined; None when it names none (an outlet, a team)."""
    kept = []
    for name in re.split(r"\s*[、，,和及与與/&＆]\s*|\s+", value.strip()):
        cleaned = clean_author(name)
        if (
            cleaned
            and not _TEAM.search(cleaned)
            and cleaned not in _NOT_NAMES
            and not (_NOT_A_NAME.search(cleaned))
        ):
            kept.append(cleaned)
    return " ".join(kept) or None


def outlet_or_none(
    author: str | None, origin: str | None, tree: lxml.html.HtmlElement, meta: dict[str, str]
) -> str | None:
    """An author from markup, unless it names the outlet (网易, 参考消息): the site itself, or
    the source the page reprints."""
    if author is None:
        return None
    page_title = title_tag(tree)
    outlets = [origin or "", meta.get("og:site_name", ""), *re.split(r"[_|｜\-—–]", page_title)[1:]]
    if any(author == o.strip() or (o.strip() and author in o) for o in outlets):
        return None
    return author


def clean_author(value: str) -> str | None:
    value = re.sub(
        r"^(?:作者|撰文|(?:见习|見習|摄影|攝影|特约|特約)?(?:记者|記者)|通讯员|通訊員|实习生|實習生|文|By|BY|by)"
        r"\s*[:：/／]?\s*",
        "",
        value.strip(),
    )
    value = re.sub(r"\s*(?:报道|報導|报导|摄影|攝影|编辑|編輯|整合|整理|供稿|摄|攝)$", "", value)
    value = " ".join(value.split()).strip("|｜/／ ,，")
    value = re.sub(rf"(?<=[{_CJK}])\s*[、，,/／&＆]\s*(?=[{_CJK}])", " ", value)  # one space
    value = _PAPER_REPORTER.sub("", value).strip()  # "南都记者 王某": the paper's, not a name
    if not value or value.startswith("http") or len(value) > 60 or "@" in value:
        return None
    if value in _NOBODY or value.split()[0] in _NOBODY:
        return None
    if _ORGANISATION.search(value):
        return None
    return value if re.search(r"[^\W\d_]", value) else None  # a name has letters


def origin_in_text(text: str) -> str | None:
    match = _ORIGIN.search(text)
    return clean_origin(match.group(1)) if match else None


def clean_origin(value: str) -> str | None:
    value = re.sub(
        r"^(?:来源于|來源於|来源|來源|稿源|转自|轉自|出处|出處)\s*[:：]\s*", "", value.strip()
    )
    value = value.split()[0] if value.split() else ""
    value = value.strip("|｜/／,，。:：")
    return value if 2 <= len(value) <= 30 else None


_ORIGIN_META = ["contentsource", "source", "article:source", "og:article:source", "dc.source"]


def structured_origin(meta: dict[str, str]) -> str | None:
    """The source a page's meta tags name (TRS pages: ContentSource)."""
    for key in _ORIGIN_META:
        value = meta.get(key, "")
        if value and "/" not in value and (origin := clean_origin(value)):
            return origin
    return None


def structured_author(meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    authors = ld.get("author")
    for author in authors if isinstance(authors, list) else [authors]:
        name = author.get("name") if isinstance(author, dict) else author
        if isinstance(name, str) and (cleaned := clean_author(name)):
            return cleaned
    for key in _AUTHOR_META:
        if key in meta and (cleaned := clean_author(meta[key])):
            return cleaned
    return None


def structured_published(
    tree: lxml.html.HtmlElement, meta: dict[str, str], ld: dict[str, Any], zone: dt.tzinfo
) -> tuple[int | None, bool]:
    """The published time the page's markup states, and whether it gives a time of day."""
    candidates = [meta[key] for key in _PUBLISHED_META if key in meta]
    if isinstance(ld.get("datePublished"), str):
        candidates.insert(0, ld["datePublished"])
    candidates += tree.xpath("//time/@datetime")[:1]
    for candidate in candidates:
        ms = parse_date(candidate, zone)
        if ms is not None:
            return ms, bool(re.search(r"\d[:：]\d", candidate))
    return None, False


def date_under(tail: str, zone: dt.tzinfo) -> int | None:
    """The date printed under an article: one labelled as its date ("发布日期：2019-03-06"), or
    a date and time of day right after its last line (not the dates of a list further on)."""
    for match in _LABELLED_DATE.finditer(tail):
        ms = _match_to_ms(match, zone)
        if ms is not None:
            return ms
    for match in _DATE.finditer(tail[:TAIL_DATE]):
        if match.group("H") and (ms := _match_to_ms(match, zone)) is not None:
            return ms
    return None


# Only schema.org and rel markup: class="author" is as often a self-media account's name or a
# commenter's as the writer's.
_AUTHOR_MARKUP = lxml.etree.XPath(
    "//*[@itemprop='author' or @rel='author']"
    "[not(ancestor-or-self::*[contains(@class, 'comment') or contains(@class, 'reply')])]"
)
_MARKED = 6  # elements marked as the author's looked at
_NOT_A_NAME = re.compile(
    r"时间|時間|来源|來源|日期|编辑|編輯|阅读|閱讀|浏览|瀏覽|评论|評論|分享|关注|關注|粉丝|粉絲|"
    r"文章|更多|首页|首頁|作者|专栏|專欄|主页|主頁|简介|簡介|订阅|訂閱|登录|登錄|举报|舉報|正文|"
    r"前天|昨天|今天|经理|經理|管理员|管理員|导航|導航|上一页|下一页|上一頁|下一頁"
)
_BYLINE_LABEL = re.compile(r"^(?:作者|撰文|记者|記者|文|By|BY|by)\s*[:：/／]?\s*")


def markup_author(tree: lxml.html.HtmlElement) -> str | None:
    """The name in an element the page marks as its author's (itemprop="author", rel="author"):
    the first of its texts that is a name and nothing else."""
    for element in _AUTHOR_MARKUP(tree)[:_MARKED]:
        for node in element.xpath(".//text()"):
            value = _BYLINE_LABEL.sub("", squeeze(node))
            named = _WHOLE_NAMES.fullmatch(value) and not _NOT_A_NAME.search(value)
            if named and (name := _people(value)):
                return name
    return None


_WHOLE_NAMES = re.compile(_NAMES)
HEAD_BEFORE = 200  # characters before the body read as its header when no headline is found
TAIL_DATE = 60  # characters after the body where an unlabelled date is the article's
TAIL = 200  # characters after the body where bylines, editors and dates are printed


def regions(page_text: str, title: str | None, first: str, last: str) -> tuple[str, str]:
    """The page's text around the article: (between the headline and the body's first line,
    after its last line). `first` and `last` are texts that open and close the body."""
    start = page_text.find(first) if first else -1
    head = ""
    key = (title or "")[:30]
    if key:
        at = page_text.find(key, 0, start) if start > 0 else -1
        until = start
        if at < 0:
            at, until = page_text.find(key), -1
        if at >= 0:
            begin = at + len(key)
            if until < begin:
                until = begin + WINDOW
            head = page_text[begin : min(until, begin + WINDOW)]
            if until - begin > WINDOW:  # the lines just above the body too
                head += " " + page_text[until - WINDOW // 2 : until]
    if not head and start > 0:
        head = page_text[max(0, start - HEAD_BEFORE) : start]
    tail = ""
    end = page_text.find(last, max(start, 0)) if last else -1
    if end >= 0:
        tail = page_text[end + len(last) : end + len(last) + TAIL]
    return head, tail


def same_day(a: int, b: int, zone: dt.tzinfo) -> bool:
    def day(ms: int) -> dt.date:
        return dt.datetime.fromtimestamp(ms / 1000, zone).date()

    return day(a) == day(b)


def header_window(page_text: str, title: str | None) -> str:
    """The text printed just under the headline, where bylines and dates live."""
    if title:
        at = page_text.find(title[:30])
        if at >= 0:
            return page_text[at + len(title[:30]) : at + len(title[:30]) + WINDOW]
    return ""


_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[/_-]?([01]\d)[/_-]?([0-3]\d)(?!\d)")


def date_in_url(url: str, zone: dt.tzinfo) -> int | None:
    """The day a URL names (/20240620/, /2024/06/20/, 2019-11-25): news sites file by date."""
    for match in _URL_DATE.finditer(url):
        try:
            day = dt.datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=zone)
        except ValueError:
            continue
        return to_ms(day)
    return None


# starts with a literal, which the regex engine finds fast (a leading \b made it try every
# position: 30 times as slow); the word boundary before `var` is checked on each match
_SCRIPT_TIME = re.compile(r"var\s+(?:ct|publish_time|pubtime)\s*=\s*[\"']?(\d{10})\b")


def script_time(tree: lxml.html.HtmlElement) -> int | None:
    """The epoch seconds some pages (WeChat: `var ct = "1581517074"`) keep only in a script,
    printing "昨天" or "前天" instead."""
    for script in tree.iter("script"):
        text = script.text or ""
        for match in _SCRIPT_TIME.finditer(text):
            start = match.start()
            if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
                return int(match.group(1)) * 1000
    return None
