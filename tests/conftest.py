"""Shared fixtures: a loopback HTTP server, archives in temporary directories, and a
PostgreSQL database for the test session."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from newsvault.archive import DEFAULT_CONFIG, Archive
from newsvault.fetch.client import FetchOptions
from newsvault.loopback import LoopbackServer

# tests/test_fuzz.py: 150 examples per property by default (the whole file in about twenty
# seconds); HYPOTHESIS_PROFILE=ci runs ten times as many, the same ones every run (CI must not
# fail on an example it happened to draw; the default profile goes on drawing new ones), =dev a
# quick handful.
settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile("ci", max_examples=1500, deadline=None, derandomize=True, database=None)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (127.0.0.1:5432, user postgres),
    dropped at the end; the test is skipped only when the server cannot be reached."""
    import psycopg

    name = f"newsvault_test_{os.getpid()}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}".splitlines()[0])
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# NEWSVAULT_TEST_DATABASE=postgresql runs the whole suite with every archive on PostgreSQL: each
# archive a test makes (Archive.init: make_archive, `init`, the demo) is given a database of
# its own, made from a migrated template and written as `database = ...` at the top of its
# newsvault.toml, so commands in subprocesses use it too; they are dropped after the test.
# Tests of what only SQLite has (the newsvault.db file itself) are marked `sqlite_only`.
TEST_DATABASE = os.environ.get("NEWSVAULT_TEST_DATABASE", "sqlite")
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise pytest.UsageError(
        f"NEWSVAULT_TEST_DATABASE={TEST_DATABASE!r}: use sqlite (the default) or postgresql"
    )
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/"


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[tuple[Any, str]]:
    """An autocommit admin connection and a migrated template database for this session."""
    import psycopg

    from newsvault.store.db import Store

    name = f"newsvault_template_{os.getpid()}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError as exc:
        raise pytest.UsageError(
            f"NEWSVAULT_TEST_DATABASE=postgresql, but 127.0.0.1:5432 cannot be reached: {exc}"
        ) from None
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")
    Store(PG_SERVER + name).close()
    try:
        yield admin, name
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


_databases = itertools.count(1)


@pytest.fixture(autouse=True)
def archive_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if TEST_DATABASE == "postgresql" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("tests what only SQLite has")
    with each_archive_its_database(request):
        yield


@contextmanager
def each_archive_its_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under NEWSVAULT_TEST_DATABASE=postgresql, every archive made meanwhile is given a
    database of its own (dropped at the end); nothing changes on SQLite. Module-scoped
    fixtures that make archives use it too."""
    if TEST_DATABASE == "sqlite":
        yield
        return
    admin, template = request.getfixturevalue("_postgres_template")
    made: list[str] = []
    init = Archive.init.__func__  # type: ignore[attr-defined]

    def init_on_postgres(cls: type[Archive], root: Path, config_text: str = DEFAULT_CONFIG):
        if (root / "newsvault.toml").exists() or "database =" in config_text:
            return init(cls, root, config_text)
        name = f"newsvault_test_{os.getpid()}_{next(_databases)}"
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        made.append(name)
        return init(cls, root, f'database = "{PG_SERVER}{name}"\n{config_text}')

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NEWSVAULT_DATABASE", raising=False)
        patch.setattr(Archive, "init", classmethod(init_on_postgres))
        try:
            yield
        finally:
            for name in made:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def fast_options() -> FetchOptions:
    """Loopback allowed, short deadlines and backoff so failure tests stay quick; no delay
    between requests to one host (robots.txt is still read: the loopback server answers 404,
    everything allowed)."""
    return FetchOptions(
        timeout=2.0,
        connect_timeout=1.0,
        retries=1,
        backoff=0.01,
        host_delay=0.0,
        allow_private_networks=True,
    )


def make_archive(
    root: Path,
    sources: list[tuple[str, str, str]],
    *,
    database: str | None = None,
    **fetch: object,
) -> Archive:
    """An archive following `sources` (slug, name, url) with loopback allowed and no delay
    between requests to one host; `database` is its `database` setting (a PostgreSQL URL)."""
    settings: dict[str, object] = {
        "allow_private_networks": True,
        "timeout": 3.0,
        "retries": 1,
        "backoff": 0.01,
        "host_delay": 0.0,
    }
    settings.update(fetch)
    lines = [f"database = {_toml(database)}", ""] if database else []
    lines.append("[fetch]")
    for key, value in settings.items():
        lines.append(f"{key} = {_toml(value)}")
    for slug, name, url in sources:
        lines += ["", "[[sources]]", f'slug = "{slug}"', f'name = "{name}"', f'url = "{url}"']
    return Archive.init(root, config_text="\n".join(lines) + "\n")


def archive_sql(root: Path, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    """One SQL statement on the archive's database, SQLite or PostgreSQL alike (for tests that
    move stored times back or read a table the commands do not show)."""
    from sqlalchemy import text

    store = Archive(root).store()
    try:
        with store.engine.begin() as conn:
            result = conn.execute(text(statement), params or {})
            return list(result) if result.returns_rows else []
    finally:
        store.close()


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
