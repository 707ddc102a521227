"""The demo: recorded feeds and pages of six outlets, archived offline as if from the web.

The data (built by scripts/build_demo_data.py from real pages) lives in demo/data: `site/`
holds each file at `<host><path>` of the URL it stands for, `demo.toml` names the sources (with
a note on what each is) and the headers the files are served with. While the demo runs, the
fetcher sends every request to a loopback server serving `site/` (fetch.client.routed), so
the archive keeps the real URLs, its article pages are fetched and extracted as real ones are,
and nothing leaves the machine: a URL the recording lacks gets a 404 from that server.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit

from newsvault.archive import CONFIG_NAME, Archive
from newsvault.errors import ArchiveError
from newsvault.fetch.client import routed
from newsvault.loopback import LoopbackServer
from newsvault.models import Source
from newsvault.pipeline import RunReport

DATA = Path(__file__).parent / "data"
DEMO_HEADER = "newsvault demo archive:"
INTRO = f"""\
{DEMO_HEADER} recorded feeds and pages of six outlets, archived by `newsvault demo`,
which archives them again (nothing new: the recording does not change). `newsvault run`
fetches these feeds from the internet: voa and coolloud are the outlets' own feeds; the
four under demo.newsvault.invalid were assembled by the demo and answer nowhere."""


def _manifest() -> dict[str, Any]:
    return tomllib.loads((DATA / "demo.toml").read_text(encoding="utf-8"))


def demo_server() -> LoopbackServer:
    """A started-later server for the recorded sites (use it as a context manager)."""
    return LoopbackServer.from_directory(DATA / "site", headers=_manifest().get("headers", {}))


def local_url(base: str, url: str) -> str:
    """Where the demo server at `base` serves the file standing for `url`: /<host><path>."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}/{parts.hostname}{parts.path or '/'}{query}"


def demo_sources() -> list[Source]:
    """The demo's sources as it archives them: no article page is fetched of a source whose
    pages were not recorded (its archive's newsvault.toml leaves that out, for `run`)."""
    return [
        Source(slug=s["slug"], name=s["name"], url=s["url"], fetch_full=s.get("fetch_full", "auto"))
        for s in _manifest()["sources"]
    ]


def demo_config() -> str:
    """The demo archive's newsvault.toml: the sources at their real addresses, each with a
    comment saying what it is."""
    document = tomlkit.document()
    for line in INTRO.splitlines():
        document.add(tomlkit.comment(line))
    tables = tomlkit.aot()
    for entry in _manifest()["sources"]:
        table = tomlkit.table()
        table.add(tomlkit.comment(entry["note"]))
        table.update({"slug": entry["slug"], "name": entry["name"], "url": entry["url"]})
        if "timezone" in entry:  # an outlet outside UTC+8 has its times shown in its own
            table["timezone"] = entry["timezone"]
        tables.append(table)
    document.add("sources", tables)
    return tomlkit.dumps(document)


def run_demo(directory: Path, progress: Callable[[Archive, list[Source]], RunReport]) -> RunReport:
    """Archive the recorded sites into `directory` (created, or a demo archive reused), the
    fetcher sent to the demo server meanwhile."""
    existing = directory / CONFIG_NAME
    if existing.exists():
        text = existing.read_text(encoding="utf-8")
        if DEMO_HEADER not in text:
            raise ArchiveError(f"{directory}: an archive that is not a demo; choose another DIR")
        if "http://127.0.0.1:" in text:
            raise ArchiveError(
                f"{directory}: a demo archive made by an older newsvault (its sources are on "
                "a loopback port); remove it and run the demo again"
            )
        archive = Archive(directory.resolve())
    else:
        archive = Archive.init(directory, config_text=demo_config())
    with demo_server() as server, routed(partial(local_url, server.base_url)):
        return progress(archive, demo_sources())
