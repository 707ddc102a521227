"""The app's /status page: extraction health problems, the job queue, failing jobs.

Everything on it is text from the archive (source slugs, error messages, job targets that are
URLs someone submitted): the template escapes all of it and links none of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from newsvault.models import to_ms
from newsvault.publish.i18n import traditional
from newsvault.settings import Settings
from newsvault.store import Store
from newsvault.watch.health import problems

FAILING_JOBS = 50
WORDS = {
    "zh": {
        "title": "运行状态",
        "problems": "抓取健康",
        "no_problems": "没有问题。",
        "source": "来源",
        "check": "检查",
        "in_a_row": "连续",
        "since": "开始于",
        "jobs": "任务队列",
        "kind": "类型",
        "due": "待办",
        "later": "稍后",
        "no_jobs": "没有排队的任务。",
        "failing": "失败的任务",
        "target": "目标",
        "attempts": "尝试次数",
        "error": "错误",
    },
    "en": {
        "title": "Status",
        "problems": "Extraction health",
        "no_problems": "No problems.",
        "source": "source",
        "check": "check",
        "in_a_row": "in a row",
        "since": "since",
        "jobs": "Job queue",
        "kind": "kind",
        "due": "due now",
        "later": "later",
        "no_jobs": "No jobs queued.",
        "failing": "Failing jobs",
        "target": "target",
        "attempts": "attempts",
        "error": "error",
    },
}


def register_status(
    app: FastAPI, store: Store, settings: Settings, page: Callable[..., HTMLResponse]
) -> None:
    """Add GET /status to `app`; `page(template, **context)` renders a template of the site
    (register before any catch-all route)."""
    language = settings["site.language"]
    words = traditional(WORDS["zh"]) if language == "zh-Hant" else WORDS.get(language, WORDS["en"])

    @app.get("/status", response_class=HTMLResponse)
    def status_page() -> HTMLResponse:
        now = to_ms(time.time())
        return page(
            "status.html",
            sw=words,
            problems=problems(store, settings, now),
            jobs=sorted(store.jobs.pending(now=now).items()),
            failing=store.jobs.failing(limit=FAILING_JOBS),
        )
