"""Interface words of the site and the web app, in each language `site.language` may name."""

from __future__ import annotations

from functools import cache

import opencc

from newsvault.errors import ArchiveError

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-Hans",
        "latest": "最新文章",
        "stories": "多家媒体报道的新闻",
        "sources": "来源",
        "days": "按日期",
        "all_days": "全部日期",
        "all_stories": "全部新闻事件",
        "articles": "篇",
        "outlets": "家媒体",
        "author": "作者",
        "origin": "转载自",
        "editor": "编辑",
        "photographer": "摄影",
        "published": "发布时间",
        "original": "原文链接",
        "capture": "原始网页存档 (WARC)",
        "summary_only": "仅摘要：订阅源只给出了这段摘要，原文网页没有存档。",
        "capture_feed": "原始订阅源存档 (WARC)",
        "story": "同一新闻的其他报道",
        "reprint_of": "本文是以下文章的转载",
        "older": "更早",
        "newer": "更新",
        "feed": "订阅 (Atom)",
        "home": "首页",
        "search": "搜索",
        "search_placeholder": "搜索存档（简体、繁体均可）",
        "search_help": "输入词语搜索全部存档的标题和正文；简体、繁体均可，多个词之间用空格。",
        "all_sources": "全部来源",
        "since": "起始日期",
        "until": "截止日期",
        "previous_page": "上一页",
        "next_page": "下一页",
        "no_results": "没有找到结果。",
        "results": "条结果",
        "submit": "提交网址存档",
        "submit_help": "输入新闻网页的网址，我们会抓取并存档。每行一个网址。",
        "submit_button": "存档",
        "submit_accepted": "{count} 个网址已加入存档队列，查看进度",
        "outcome_failed": "抓取失败：",
        "outcome_no_article": "页面中没有找到文章：",
        "outcome_internal": "内部错误：",
        "refused_empty": "请输入要存档的网页网址",
        "refused_long": "网址超过 {most} 个字符",
        "refused_scheme": "不是 http(s) 网址，请输入网页的完整网址",
        "refused_credentials": "含用户名或密码的网址不予存档",
        "refused_port": "网址的端口号无效",
        "refused_resolve": "找不到主机 {host}，请检查网址",
        "refused_private": "{host} 是内网或本机地址，不予存档",
        "refused_rate": "提交过于频繁，请 {wait} 秒后再试",
        "refused_full": "存档队列已满（{waiting} 个网页等待中），请 {wait} 秒后再试",
        "submission": "存档任务",
        "status_queued": "排队中",
        "status_running": "正在抓取",
        "status_done": "已存档",
        "status_failed": "失败",
        "view_article": "查看存档文章",
        "refresh_note": "页面每隔几秒自动刷新。",
        "removed": "此文章已被管理员移除。",
        "not_found": "没有这个页面。",
        "time_zone": "北京时间",
        "watching": "删改记录",
        "deleted": "已被删除",
        "noticed": "发现于",
        "reason": "原因",
        "edited_once": "已修改 1 次",
        "edited_times": "已修改 {n} 次",
        "deleted_articles": "已被删除的文章",
        "edited_articles": "被修改过的文章",
        "none_deleted": "还没有发现被删除的文章。",
        "none_edited": "还没有发现被修改的文章。",
        "versions": "历次版本",
        "version": "版本",
        "archived_version": "存档时的版本",
        "baseline": "首次存档的网页（对比的基准，不算修改）",
        "edit": "修改",
        "from_page": "网页",
        "from_feed": "订阅源",
        "full_version": "全文（标出修改）",
        "no_change_shown": "正文没有变化。",
        "back_to_article": "阅读存档的文章",
        "archived": "存档于",
        "older_articles": "更早的文章：按日期浏览",
        "previous_story": "上一个新闻事件",
        "next_story": "下一个新闻事件",
        "first_report": "最先报道",
        "duplicate": "副本",
        "copy_of": "原文",
        "copies_one": "另有 1 份副本",
        "copies": "另有 {n} 份副本",
        "no_articles_yet": "还没有文章",
        "no_articles": "还没有存档的文章。",
        "month": "{year}年{month}月",
    },
    "en": {
        "html_lang": "en",
        "latest": "Latest articles",
        "stories": "Stories told by several outlets",
        "sources": "Sources",
        "days": "By day",
        "all_days": "All days",
        "all_stories": "All stories",
        "articles": "articles",
        "outlets": "outlets",
        "author": "Author",
        "origin": "Reprinted from",
        "editor": "Editor",
        "photographer": "Photos",
        "published": "Published",
        "original": "Original page",
        "capture": "Raw capture of the page (WARC)",
        "summary_only": "Summary only: the feed gave no more than this, and the page itself "
        "was not archived.",
        "capture_feed": "Raw capture of the feed (WARC)",
        "story": "The same story elsewhere",
        "reprint_of": "This article reprints",
        "older": "Older",
        "newer": "Newer",
        "feed": "Feed (Atom)",
        "home": "Home",
        "search": "Search",
        "search_placeholder": "Search the archive",
        "search_help": "Words to find in the titles and text of everything archived; "
        "Chinese in either script; several words separated by spaces.",
        "all_sources": "All sources",
        "since": "From",
        "until": "Until",
        "previous_page": "Previous page",
        "next_page": "Next page",
        "no_results": "Nothing found.",
        "results": "results",
        "submit": "Submit a URL",
        "submit_help": "Enter the address of a news page to archive it. One URL per line.",
        "submit_button": "Archive",
        "submit_accepted": "{count} URLs queued for archiving: see their progress",
        "outcome_failed": "failed: ",
        "outcome_no_article": "no article found: ",
        "outcome_internal": "internal error: ",
        "refused_empty": "give the address of a page to archive",
        "refused_long": "the URL is longer than {most} characters",
        "refused_scheme": "not an http(s) URL; give the page's full address",
        "refused_credentials": "URLs with a user name or password are not archived",
        "refused_port": "the URL has no valid port number",
        "refused_resolve": "{host} does not resolve; check the address",
        "refused_private": "{host} is a private or local address; not archived",
        "refused_rate": "too many submissions; try again in {wait} s",
        "refused_full": "the archiving queue is full ({waiting} pages waiting); try again in "
        "{wait} s",
        "submission": "Archiving job",
        "status_queued": "queued",
        "status_running": "fetching",
        "status_done": "archived",
        "status_failed": "failed",
        "view_article": "Read the archived article",
        "refresh_note": "This page refreshes itself every few seconds.",
        "removed": "An administrator removed this article.",
        "not_found": "No such page.",
        "time_zone": "UTC+8",
        "watching": "Deletions and edits",
        "deleted": "deleted",
        "noticed": "noticed",
        "reason": "reason",
        "edited_once": "edited 1 time",
        "edited_times": "edited {n} times",
        "deleted_articles": "Deleted articles",
        "edited_articles": "Edited articles",
        "none_deleted": "No deleted article noticed yet.",
        "none_edited": "No edited article noticed yet.",
        "versions": "Versions",
        "version": "Version",
        "archived_version": "as archived",
        "baseline": "the page first archived (the baseline, not an edit)",
        "edit": "edit",
        "from_page": "page",
        "from_feed": "feed",
        "full_version": "The whole text, changes marked",
        "no_change_shown": "The text did not change.",
        "back_to_article": "Read the archived article",
        "archived": "archived",
        "older_articles": "Older articles, by day",
        "previous_story": "Previous story",
        "next_story": "Next story",
        "first_report": "reported first",
        "duplicate": "copy",
        "copy_of": "of",
        "copies_one": "1 more copy",
        "copies": "{n} more copies",
        "no_articles_yet": "no articles yet",
        "no_articles": "Nothing archived yet.",
        "month": "{month_name} {year}",
    },
}


# The Traditional Chinese interface: the simplified words in Taiwan's characters (OpenCC
# s2tw), but for these, whose usual wording differs.
HANT_WORDS = {
    "html_lang": "zh-Hant",
    "published": "發布時間",
    "search": "搜尋",
    "search_placeholder": "搜尋存檔（簡體、繁體均可）",
    "search_help": "輸入詞語搜尋全部存檔的標題和內文；簡體、繁體均可，多個詞之間用空格。",
    "story": "同一新聞的其他報導",
    "first_report": "最先報導",
    "stories": "多家媒體報導的新聞",
    "refresh_note": "頁面每隔幾秒自動重新整理。",
    "view_article": "檢視存檔文章",
}

# What a time in each zone is called; another zone is shown by its IANA name.
ZONE_NAMES: dict[str, dict[str, str]] = {
    "zh": {
        "Asia/Shanghai": "北京时间",
        "Asia/Taipei": "台北时间",
        "Asia/Hong_Kong": "香港时间",
        "Asia/Macau": "澳门时间",
        "Asia/Singapore": "新加坡时间",
        "Asia/Tokyo": "东京时间",
        "Asia/Seoul": "首尔时间",
        "America/New_York": "纽约时间",
        "America/Los_Angeles": "洛杉矶时间",
        "Europe/London": "伦敦时间",
        "Europe/Paris": "巴黎时间",
        "Europe/Berlin": "柏林时间",
        "UTC": "协调世界时",
    },
    "en": {
        "Asia/Shanghai": "Beijing time",
        "Asia/Taipei": "Taipei time",
        "Asia/Hong_Kong": "Hong Kong time",
        "Asia/Macau": "Macau time",
        "Asia/Singapore": "Singapore time",
        "Asia/Tokyo": "Tokyo time",
        "Asia/Seoul": "Seoul time",
        "America/New_York": "New York time",
        "America/Los_Angeles": "Los Angeles time",
        "Europe/London": "London time",
        "Europe/Paris": "Paris time",
        "Europe/Berlin": "Berlin time",
        "UTC": "UTC",
    },
}


LANGUAGES = ("zh", "zh-Hant", "en")


def traditional(table: dict[str, str]) -> dict[str, str]:
    """A table of simplified Chinese words in Taiwan's characters (OpenCC s2tw)."""
    convert = opencc.OpenCC("s2tw").convert
    return {key: convert(text) for key, text in table.items()}


@cache  # made when first asked for: OpenCC's dictionaries take a quarter second to load
def words(language: str) -> dict[str, str]:
    if language not in LANGUAGES:
        raise ArchiveError(
            f"site.language = {language!r} is not known; use one of {', '.join(LANGUAGES)}"
        )
    if language == "zh-Hant":
        return traditional(WORDS["zh"]) | HANT_WORDS
    return WORDS[language]


@cache
def _zone_names(language: str) -> dict[str, str]:
    if language == "zh-Hant":
        return traditional(ZONE_NAMES["zh"]) | {"Asia/Taipei": "台北時間"}
    return ZONE_NAMES.get(language, ZONE_NAMES["en"])


def zone_name(zone: str | None, language: str) -> str:
    """What times in `zone` (an IANA name; None: UTC+8, the archive's own) are called."""
    if zone is None:
        return words(language)["time_zone"]
    return _zone_names(language).get(zone, zone)
