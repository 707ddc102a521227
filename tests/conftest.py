"""Shared fixtures: a loopback HTTP server and archives in temporary directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsvault.archive import Archive
from newsvault.fetch.client import FetchOptions
from newsvault.loopback import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def fast_options() -> FetchOptions:
    """Loopback allowed, short deadlines and backoff so failure tests stay quick."""
    return FetchOptions(
        timeout=2.0, connect_timeout=1.0, retries=1, backoff=0.01, allow_private_networks=True
    )


def make_archive(root: Path, sources: list[tuple[str, str, str]], **fetch: object) -> Archive:
    """An archive following `sources` (slug, name, url) with loopback allowed."""
    settings = {"allow_private_networks": True, "timeout": 3.0, "retries": 1, "backoff": 0.01}
    settings.update(fetch)
    lines = ["[fetch]"]
    for key, value in settings.items():
        lines.append(f"{key} = {_toml(value)}")
    for slug, name, url in sources:
        lines += ["", "[[sources]]", f'slug = "{slug}"', f'name = "{name}"', f'url = "{url}"']
    return Archive.init(root, config_text="\n".join(lines) + "\n")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
