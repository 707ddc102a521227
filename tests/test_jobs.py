"""The job table: enqueue once, claim under a lease, no job taken twice, a dead worker's jobs
taken again when their lease runs out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from newsvault.store import Store

MINUTE = 60_000


def open_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "db")


def test_enqueue_keeps_one_job_per_kind_and_target(tmp_path: Path) -> None:
    queue = open_store(tmp_path).jobs
    queue.enqueue("recheck", "7", due=5 * MINUTE, now=0)
    queue.enqueue("recheck", "7", due=9 * MINUTE, now=0)  # later: the earlier due stays
    assert queue.get("recheck", "7").due == 5 * MINUTE
    queue.enqueue("recheck", "7", due=2 * MINUTE, now=0)  # earlier: it wins
    assert queue.get("recheck", "7").due == 2 * MINUTE
    queue.enqueue("submission", "7", due=0, now=0)  # another kind, another job
    assert queue.pending(now=3 * MINUTE) == {"recheck": (1, 0), "submission": (1, 0)}


def test_claim_finish_reschedule_and_fail(tmp_path: Path) -> None:
    queue = open_store(tmp_path).jobs
    for n in range(5):
        queue.enqueue("poll", f"s{n}", due=n * MINUTE, now=0)
    taken = queue.claim("w1", now=2 * MINUTE, lease_ms=MINUTE, limit=10)
    assert [j.target for j in taken] == ["s0", "s1", "s2"]  # only the due ones, oldest first
    assert all(j.lease_owner == "w1" and j.attempts == 1 for j in taken)
    assert queue.claim("w2", now=2 * MINUTE, lease_ms=MINUTE, limit=10) == []  # leased
    assert queue.finish(taken[0], now=2 * MINUTE)
    assert queue.finish(taken[1], now=2 * MINUTE, next_due=30 * MINUTE)
    assert queue.fail(taken[2], "http 503", retry_at=4 * MINUTE)
    assert queue.get("poll", "s0").finished == 2 * MINUTE
    again = queue.claim("w2", now=4 * MINUTE, lease_ms=MINUTE, limit=10)
    assert [j.target for j in again] == ["s3", "s2", "s4"]  # s2 due again at 4 min
    retried = again[1]
    assert retried.attempts == 2 and retried.last_error == "http 503"
    assert queue.fail(retried, "http 503", retry_at=None)  # given up
    assert queue.failing()[0].target == "s2"
    later = queue.claim("w3", now=31 * MINUTE, lease_ms=MINUTE, limit=10)
    assert [j.target for j in later] == ["s3", "s4", "s1"]  # w2's leases ran out; s1 recurs


def test_a_finished_job_can_be_taken_up_again(tmp_path: Path) -> None:
    queue = open_store(tmp_path).jobs
    queue.enqueue("submission", "https://a.test/1", due=0, now=0)
    (job,) = queue.claim("w", now=0, lease_ms=MINUTE, limit=1)
    queue.finish(job, now=1)
    queue.enqueue("submission", "https://a.test/1", due=10, now=10)
    (again,) = queue.claim("w", now=10, lease_ms=MINUTE, limit=1)
    assert again.id == job.id and again.finished is None


def test_a_lost_lease_changes_nothing(tmp_path: Path) -> None:
    queue = open_store(tmp_path).jobs
    queue.enqueue("page", "https://a.test/1", due=0, now=0)
    (stalled,) = queue.claim("w1", now=0, lease_ms=MINUTE, limit=1)
    (taken,) = queue.claim("w2", now=MINUTE + 1, lease_ms=MINUTE, limit=1)  # lease ran out
    assert taken.id == stalled.id and taken.attempts == 2
    assert not queue.finish(stalled, now=MINUTE + 2)  # w1 no longer holds it
    assert queue.get("page", "https://a.test/1").lease_owner == "w2"
    assert queue.finish(taken, now=MINUTE + 3)


def test_release_gives_jobs_back(tmp_path: Path) -> None:
    queue = open_store(tmp_path).jobs
    for n in range(3):
        queue.enqueue("poll", f"s{n}", due=0, now=0)
    queue.claim("stopping", now=0, lease_ms=10 * MINUTE, limit=2)
    assert queue.release("stopping") == 2
    back = queue.claim("next", now=1, lease_ms=MINUTE, limit=10)
    assert len(back) == 3 and all(j.attempts == 1 for j in back)


def test_workers_claiming_at_once_never_share_a_job(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for n in range(300):
        store.jobs.enqueue("page", f"https://a.test/{n}", due=0, now=0)
    taken: dict[str, list[int]] = {}

    def work(name: str) -> None:
        mine = taken.setdefault(name, [])
        while batch := store.jobs.claim(name, now=1, lease_ms=MINUTE, limit=7):
            mine += [job.id for job in batch]

    workers = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ids = [job_id for mine in taken.values() for job_id in mine]
    assert len(ids) == 300 and len(set(ids)) == 300


def test_jobs_of_a_killed_worker_are_taken_again(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for n in range(4):
        store.jobs.enqueue("recheck", str(n), due=0, now=0)
    worker = textwrap.dedent(
        f"""
        import sys, time
        from newsvault.store import Store
        jobs = Store.open({str(tmp_path / "db")!r}).jobs.claim(
            "doomed", now=1000, lease_ms=60_000, limit=3)
        print(len(jobs), flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", worker], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "3"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert len(store.jobs.claim("next", now=2000, lease_ms=60_000, limit=10)) == 1
    late = store.jobs.claim("next", now=1000 + 60_001, lease_ms=60_000, limit=10)
    assert sorted(j.target for j in late) == ["0", "1", "2"]
