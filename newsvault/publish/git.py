"""Publish to git mirrors: the archive directory is the work tree; articles/, lists/ and
media/ (the mirrored images the markdown links to; and site/ when publish.git.site is set)
are committed when they changed, then pushed to every remote in publish.git.remotes. A remote
that fails never stops the others. The archive's checksums (SHA256SUMS, SHA256SUMS.json) are
brought up to date first and committed with them, so that a clone can be checked with
`newsvault verify` (or `sha256sum -c --ignore-missing SHA256SUMS`).

All of media/ is committed, not only the files some article links to now: it holds nothing
but the images mirrored for archived articles, and a mirror must keep a picture as long as
any copy of an article links it (reading every article file to tell would cost each publish
the whole archive).

All of it runs under the archive lock, and git's automatic gc never outlives the command,
so a git `*.lock` file found when publishing starts was left by a git that was killed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from newsvault.archive import Archive
from newsvault.errors import NewsvaultError
from newsvault.publish.checksums import CACHE, DETAILS, SUMS, write_checksums

PUSH_TIMEOUT = 120.0
IDENTITY = ("-c", "user.name=newsvault", "-c", "user.email=newsvault@localhost")
# `commit` may start `gc --auto` / `maintenance run --auto`: in the foreground, under our lock.
NO_DETACH = ("-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false")
IGNORED = (
    "newsvault.db*",
    "newsvault.*.lock",
    "newsvault.toml",  # may hold serve.admin_token
    "captures/",
    CACHE,  # the checksums' own cache: sizes and mtimes of this machine's files
)
NO_LONGER_IGNORED = ("media/",)  # written to .gitignore by earlier versions: taken out


@dataclass(frozen=True)
class PushResult:
    remote: str  # as configured, with any password in a URL hidden
    outcome: str  # "pushed", "up to date", "nothing to push" or "failed"
    error: str | None = None  # one line from git when the push failed

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass
class GitReport:
    root: Path
    branch: str
    initialized: bool = False  # `git init` ran on this call
    commit: str | None = None  # the new commit; None when nothing changed
    message: str | None = None
    head: str | None = None  # what was pushed (None: nothing committed yet)
    pushes: list[PushResult] = field(default_factory=list)
    stale_locks: list[str] = field(default_factory=list)  # removed: ".git/index.lock", ...

    @property
    def failed(self) -> list[PushResult]:
        return [p for p in self.pushes if p.failed]


def publish_git(archive: Archive, *, timeout: float = PUSH_TIMEOUT) -> GitReport:
    """Commit the published folders, then push to each remote, holding the archive's git lock."""
    git = _git_binary()
    settings = archive.settings
    branch = settings["publish.git.branch"]
    folders = ["articles", "lists", "media"] + (["site"] if settings["publish.git.site"] else [])
    report = GitReport(root=archive.root, branch=branch)
    with archive.lock("git"):
        report.initialized = _ensure_repository(git, archive.root, branch)
        report.stale_locks = remove_stale_locks(archive.root)
        with archive.lock("publish"):  # the files stay as the checksums list them
            write_checksums(archive.root, archive.captures_dir)
            report.commit, report.message = commit_folders(
                git, archive.root, [*folders, SUMS, DETAILS]
            )
        head = _run(git, archive.root, "rev-parse", "--verify", "--quiet", "HEAD")
        report.head = head.stdout.strip() if head.returncode == 0 else None
        for remote in settings["publish.git.remotes"]:
            if report.head is None:
                report.pushes.append(PushResult(redact(remote), "nothing to push"))
            else:
                report.pushes.append(push(git, archive.root, remote, branch, timeout=timeout))
    return report


def remove_stale_locks(root: Path) -> list[str]:
    """Remove every `*.lock` file in root/.git (index.lock, HEAD.lock, refs/heads/*.lock, ...)
    and return their paths. Only under the archive lock: then no git of ours is running (a git
    run by hand in the archive at that very moment would lose its lock)."""
    stale = sorted(p for p in (root / ".git").rglob("*.lock") if p.is_file())
    for path in stale:
        path.unlink(missing_ok=True)
    return [path.relative_to(root).as_posix() for path in stale]


def commit_folders(git: str, root: Path, folders: list[str]) -> tuple[str | None, str | None]:
    """Stage exactly `folders` (and files) and commit them if anything changed: (commit,
    message)."""
    present = [f for f in folders if (root / f).exists()]
    if present:
        _check(_run(git, root, "add", "-A", "--", *present), "git add")
    for gone in (f for f in folders if f not in present):  # a folder deleted since
        _check(_run(git, root, "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", gone), "rm")
    diff = _check(
        _run(git, root, "diff", "--cached", "--name-status", "--no-renames", "-z"), "git diff"
    )
    message = commit_message(diff.stdout)
    if message is None:
        return None, None
    identity = () if _has_identity(git, root) else IDENTITY
    _check(_run(git, root, *identity, *NO_DETACH, "commit", "-q", "-m", message), "git commit")
    return _check(_run(git, root, "rev-parse", "HEAD"), "git rev-parse").stdout.strip(), message


def commit_message(name_status: str) -> str | None:
    """'newsvault: 12 articles added, 3 changed' from `git diff --name-status -z` output;
    None when nothing is staged, or only the checksums (what changed is not committed: the
    captures, or site/ when it is not published), which then wait for the next commit."""
    fields = name_status.split("\0")
    changes = list(zip(fields[0::2], fields[1::2], strict=False))
    changes = [(status, path) for status, path in changes if path not in (SUMS, DETAILS)]
    if not changes:
        return None
    articles = Counter(
        status[0]
        for status, path in changes
        if path.startswith("articles/") and path.endswith(".md")
    )
    images = sum(status[0] == "A" and path.startswith("media/") for status, path in changes)
    counts = [(articles[c], w) for c, w in (("A", "added"), ("M", "changed"), ("D", "removed"))]
    counts = [(n, word) for n, word in counts if n]
    pictures = f"{images} image{'' if images == 1 else 's'} added" if images else ""
    if not counts:
        touched = {path.split("/", 1)[0] for _, path in changes}
        if images:  # said as the images added
            touched.discard("media")
        said = [pictures] if pictures else []
        if touched:
            said.append(f"{', '.join(sorted(touched))} updated")
        return "newsvault: " + ", ".join(said)
    (n, word), *rest = counts
    noun = "article" if n == 1 else "articles"
    message = f"newsvault: {n} {noun} {word}" + "".join(f", {m} {w}" for m, w in rest)
    return message + (f", {pictures}" if pictures else "")


def push(git: str, root: Path, remote: str, branch: str, *, timeout: float) -> PushResult:
    """`git push REMOTE HEAD:refs/heads/BRANCH`, never asking for a password."""
    shown = redact(remote)
    command = [git, "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}"]
    env = _environment(git, root)
    # A session of its own, so a timeout also ends the helpers git starts (ssh, curl).
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return PushResult(shown, "failed", f"no answer within {timeout:g} s")
    flags = [line.split("\t") for line in stdout.splitlines() if "\t" in line]
    if process.returncode == 0:
        up_to_date = flags and all(parts[0] == "=" for parts in flags)
        return PushResult(shown, "up to date" if up_to_date else "pushed")
    rejected = [parts[2] for parts in flags if parts[0] == "!" and len(parts) > 2]
    reason = rejected[0] if rejected else _first_error(stderr)
    return PushResult(shown, "failed", reason.replace(remote, shown))


def redact(remote: str) -> str:
    """A URL's password (or token) hidden: https://user:***@host/..."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*:)[^/@]*@", r"\1***@", remote, flags=re.I)


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[0] if lines else "git push failed"


def _git_binary() -> str:
    git = shutil.which("git")
    if git is None:
        raise NewsvaultError("publish git: the git program is not installed (or not on PATH)")
    return git


def _ensure_repository(git: str, root: Path, branch: str) -> bool:
    """`git init -b BRANCH` when the archive is not a repository yet; ignore what is private."""
    created = False
    if not (root / ".git").exists():
        _check(_run(git, root, "init", "-q", "-b", branch), "git init")
        created = True
    ignore = root / ".gitignore"
    current = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    lines = current.splitlines()
    kept = [line for line in lines if line not in NO_LONGER_IGNORED]
    missing = [p for p in IGNORED if p not in kept]
    if missing or kept != lines:
        text = "".join(f"{line}\n" for line in kept + missing)
        ignore.write_text(text, encoding="utf-8")
    return created


def _has_identity(git: str, root: Path) -> bool:
    return all(_run(git, root, "config", key).stdout.strip() for key in ("user.name", "user.email"))


def _environment(git: str, root: Path) -> dict[str, str]:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if not (env.get("GIT_SSH_COMMAND") or env.get("GIT_SSH")):
        configured = subprocess.run(
            [git, "config", "core.sshCommand"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        if not configured:
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"  # no password prompt over ssh
    return env


def _run(git: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [git, *args],
        cwd=root,
        env=dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )


def _check(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise NewsvaultError(f"publish git: {what} failed: {_first_error(result.stderr)}")
    return result
