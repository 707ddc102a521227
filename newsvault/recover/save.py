"""Save Page Now: each newly archived URL given to the Wayback Machine, where
recover.save_to = ["wayback"] (off by default: it tells the Internet Archive what the archive
holds).

The `watch` daemon runs one `save` job per web archive, a request at a time, at most one every
recover.save_interval: `POST /save` (form field `url`, `Accept: application/json`, with
`Authorization: LOW ACCESS:SECRET` where recover.wayback_keys is set) answers
`{"url": …, "job_id": "spn2-…"}`, and `GET /save/status/<job_id>` later answers
`{"status": "pending"}`, `{"status": "success", "timestamp": "20240619034512",
"original_url": …}` or `{"status": "error", "status_ext": "error:…", "message": …}`. Every
outcome is kept (`newsvault saves` lists them, failures first) and logged; a failure is
reported, never retried and never in archiving's way. A 429, or an archive that cannot be
reached, waits five minutes and asks again for the same URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from newsvault.errors import FetchError, one_line
from newsvault.fetch.api import ApiClient, ApiResponse
from newsvault.models import Job
from newsvault.settings import Settings, duration_ms
from newsvault.store import Store
from newsvault.store.saves import SaveStore

BUSY_MS = 5 * 60_000  # a 429 or an archive out of reach: asked again this much later
PENDING_MS = 15 * 60_000  # a capture still pending after this long is reported as failed


@dataclass
class SaveReport:
    url: str
    outcome: str  # submitted | saved | pending | failed: … | busy: …
    snapshot: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome.startswith("failed")

    @property
    def busy(self) -> bool:
        return self.outcome.startswith("busy")


def ensure_save_jobs(store: Store, settings: Settings, *, now: int) -> None:
    """A `save` job for each web archive in recover.save_to (saving begins, or begins again
    once it was off, after the article archived last), none for those taken out."""
    wanted = list(settings["recover.save_to"])
    for service in wanted:
        job = store.jobs.get("save", service)
        if job is None or job.finished is not None:
            SaveStore(store.engine).begin(service, now=now)
    store.jobs.ensure("save", wanted, due=now, now=now)
    store.jobs.retire("save", wanted, now=now)


async def run_save_job(
    store: Store, settings: Settings, job: Job, *, now: int
) -> SaveReport | None:
    """One turn of a leased `save` job: ask for an outcome or save the next URL; the job
    is due again after recover.save_interval (BUSY_MS when the archive was busy)."""
    async with ApiClient(settings.fetch_options()) as api:
        report = await save_step(api, store, settings, job.target, now=now)
    wait = duration_ms(settings["recover.save_interval"], "recover.save_interval")
    if report is not None and report.busy:
        wait = max(wait, BUSY_MS)
    store.jobs.finish(job, now=now, next_due=now + wait)
    return report


async def save_step(
    api: ApiClient, store: Store, settings: Settings, service: str, *, now: int
) -> SaveReport | None:
    """One request to `service`: the outcome of the oldest capture asked for, else the next
    article's URL saved; None when there is nothing to do."""
    saves = SaveStore(store.engine)
    base = settings["recover.wayback_url"].rstrip("/")
    headers = {"Accept": "application/json"}
    if settings["recover.wayback_keys"]:
        headers["Authorization"] = f"LOW {settings['recover.wayback_keys']}"
    waiting = saves.submitted(service)
    if waiting is not None:
        try:
            answer = await api.request(
                "GET", f"{base}/save/status/{quote(waiting.job_id or '', safe='')}",
                headers=headers,
            )  # fmt: skip
        except FetchError as exc:
            return SaveReport(waiting.url, f"busy: {exc.reason}")
        state, snapshot, message = _status(answer, base)
        if state == "pending" and now - waiting.requested > PENDING_MS:
            state, message = "failed", f"still pending after {PENDING_MS // 60_000} minutes"
        if state == "busy":
            return SaveReport(waiting.url, f"busy: {message}")
        if state != "pending":
            saves.settle(waiting.id, state, now=now, snapshot=snapshot, message=message)
        outcome = {"done": "saved", "pending": "pending"}.get(state, f"failed: {message}")
        return SaveReport(waiting.url, outcome, snapshot)
    following = saves.next_article(service)
    if following is None:
        return None
    article_id, url = following
    try:
        answer = await api.request("POST", f"{base}/save", form={"url": url}, headers=headers)
    except FetchError as exc:
        return SaveReport(url, f"busy: {exc.reason}")
    if answer.status == 429 or answer.status >= 500:
        return SaveReport(url, f"busy: HTTP {answer.status}: {_message(answer)}")
    job_id = _json(answer).get("job_id") if answer.status < 400 else None
    if isinstance(job_id, str) and job_id:
        saves.add(service, article_id, url, "submitted", now=now, job_id=job_id)
        return SaveReport(url, "submitted")
    message = f"HTTP {answer.status}: {_message(answer)}"
    saves.add(service, article_id, url, "failed", now=now, message=message)
    return SaveReport(url, f"failed: {message}")


def _status(answer: ApiResponse, base: str) -> tuple[str, str | None, str | None]:
    """(done | pending | failed | busy, the new copy's address, why it failed)."""
    if answer.status == 429 or answer.status >= 500:
        return "busy", None, f"HTTP {answer.status}: {_message(answer)}"
    data = _json(answer)
    status = data.get("status")
    if answer.status < 400 and status == "success" and data.get("timestamp"):
        original = data.get("original_url") or ""
        return "done", f"{base}/web/{data['timestamp']}/{original}", None
    if answer.status < 400 and status == "pending":
        return "pending", None, None
    return "failed", None, f"HTTP {answer.status}: {_message(answer)}"


def _json(answer: ApiResponse) -> dict:
    try:
        data = answer.json()
    except FetchError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(answer: ApiResponse) -> str:
    """What the archive said: its status_ext and message, else the body's first line."""
    data = _json(answer)
    said = " ".join(str(data[k]) for k in ("status_ext", "message") if data.get(k))
    if not said:
        said = answer.body.decode("utf-8", "replace").strip().split("\n", 1)[0]
        if not data and said.startswith("<"):
            said = "the answer is not JSON (an anonymous request? see recover.wayback_keys)"
    return one_line(said or "no reason given", 200)
