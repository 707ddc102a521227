"""The demo: bundled feeds and pages served from a loopback server and archived offline.

The data (built by scripts/build_demo_data.py from real pages) lives in demo/data: `site/`
is served as it is, `demo.toml` names the sources and the headers some files need.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import tomlkit

from newsvault.archive import CONFIG_NAME, Archive
from newsvault.errors import ArchiveError
from newsvault.files import write_atomic
from newsvault.loopback import LoopbackServer
from newsvault.models import Source
from newsvault.pipeline import RunReport

DATA = Path(__file__).parent / "data"


def demo_server() -> LoopbackServer:
    """A started-later server for the demo site (use it as a context manager)."""
    manifest = tomllib.loads((DATA / "demo.toml").read_text(encoding="utf-8"))
    return LoopbackServer.from_directory(DATA / "site", headers=manifest.get("headers", {}))


def demo_sources(server: LoopbackServer) -> list[Source]:
    manifest = tomllib.loads((DATA / "demo.toml").read_text(encoding="utf-8"))
    return [
        Source(
            slug=s["slug"],
            name=s["name"],
            url=server.url(s["path"]),
            fetch_full="auto" if _links_stay_local(s["path"]) else "never",
        )
        for s in manifest["sources"]
    ]


def _links_stay_local(feed_path: str) -> bool:
    """Whether every article link in a demo feed points at the demo server: the demo fetches
    article pages only then, so that it never reaches for the internet."""
    feed = (DATA / "site" / feed_path.lstrip("/")).read_bytes().decode("ascii", "replace")
    links = re.findall(
        r"<link>([^<]+)</link>|\"url\":\s*\"([^\"]+)\"|<link[^>]*href=\"([^\"]+)\"", feed
    )
    urls = [next(u for u in groups if u) for groups in links]
    return all(u.startswith("{{BASE}}") for u in urls)


DEMO_HEADER = "newsvault demo archive: feeds served from a loopback server."


def demo_config(sources: list[Source]) -> str:
    document = tomlkit.document()
    document.add(tomlkit.comment(DEMO_HEADER))
    fetch = tomlkit.table()
    fetch.add("allow_private_networks", True)
    fetch.add("host_delay", 0.0)  # one loopback server plays every outlet: no one to spare
    document.add("fetch", fetch)
    tables = tomlkit.aot()
    for source in sources:
        table = tomlkit.table()
        table.update({"slug": source.slug, "name": source.name, "url": source.url})
        if source.fetch_full != "auto":
            table.add("fetch_full", source.fetch_full)
        tables.append(table)
    document.add("sources", tables)
    return tomlkit.dumps(document)


def run_demo(directory: Path, progress: Callable[[Archive, list[Source]], RunReport]) -> RunReport:
    """Serve the demo data, archive it into `directory` (created or reused), stop the server."""
    with demo_server() as server:
        sources = demo_sources(server)
        config = demo_config(sources)
        existing = directory / CONFIG_NAME
        if existing.exists():
            if DEMO_HEADER not in existing.read_text(encoding="utf-8"):
                raise ArchiveError(
                    f"{directory}: an archive that is not a demo; choose another DIR"
                )
            # The server's port changes between runs: point the sources at this one.
            write_atomic(existing, config)
            archive = Archive(directory.resolve())
        else:
            archive = Archive.init(directory, config_text=config)
        return progress(archive, archive.sources())
