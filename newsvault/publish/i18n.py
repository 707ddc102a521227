"""Interface words of the site and the web app, in each language `site.language` may name."""

from __future__ import annotations

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
        "published": "发布时间",
        "original": "原文链接",
        "capture": "原始网页存档 (WARC)",
        "story": "同一新闻的其他报道",
        "reprint_of": "本文是以下文章的转载",
        "older": "更早",
        "newer": "更新",
        "feed": "订阅 (Atom)",
        "home": "首页",
        "search": "搜索",
        "search_placeholder": "搜索存档（简体、繁体均可）",
        "no_results": "没有找到结果。",
        "results": "条结果",
        "submit": "提交网址存档",
        "submit_help": "输入新闻网页的网址，我们会抓取并存档。每行一个网址。",
        "submit_button": "存档",
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
        "published": "Published",
        "original": "Original page",
        "capture": "Raw capture (WARC)",
        "story": "The same story elsewhere",
        "reprint_of": "This article reprints",
        "older": "Older",
        "newer": "Newer",
        "feed": "Feed (Atom)",
        "home": "Home",
        "search": "Search",
        "search_placeholder": "Search the archive",
        "no_results": "Nothing found.",
        "results": "results",
        "submit": "Submit a URL",
        "submit_help": "Enter the address of a news page to archive it. One URL per line.",
        "submit_button": "Archive",
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
    },
}


def words(language: str) -> dict[str, str]:
    if language not in WORDS:
        raise ArchiveError(
            f"site.language = {language!r} is not known; use one of {', '.join(WORDS)}"
        )
    return WORDS[language]
