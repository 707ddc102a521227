"""Whole databases on the archive's PostgreSQL server, for `rebuild`: one made afresh beside
the archive's (`<name>_rebuilt`), and the renames that put it in the archive's place, the old
one kept as `<name>_before_rebuild`.

CREATE and DROP DATABASE run outside a transaction, on a connection to the server's
maintenance database (`postgres`, else `template1`, as createdb does); the two renames of a
swap run in one transaction, so that either both are done or neither is. A database is
renamed only when no other session is connected to it: the others are never terminated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from newsvault.errors import NewsvaultError
from newsvault.store.engine import database_url

MAX_NAME = 63  # bytes in a PostgreSQL identifier: a longer name is cut, and could collide
MAINTENANCE = ("postgres", "template1")
IN_USE = "55006"  # object_in_use: another session is connected to the database
STOP_FIRST = (
    "stop `watch`, `serve` and workers first (newsvault never ends other sessions), "
    "then run `newsvault rebuild --replace` again"
)
STILL_RUNNING = "another rebuild still running? end it first, then run `newsvault rebuild` again"


def is_postgresql(url: str) -> bool:
    try:
        return make_url(database_url(url)).get_backend_name() == "postgresql"
    except ArgumentError:
        return False


def database_name(url: str) -> str:
    name = make_url(url).database
    if not name:
        raise NewsvaultError(f"{shown(url)}: the database setting names no database")
    return name


def sibling(url: str, suffix: str) -> str:
    """The URL of the database named `<the archive's database><suffix>` on the same server,
    as the same user. A name too long for PostgreSQL is refused: cut to 63 bytes it could
    be the archive's own database."""
    name = database_name(url) + suffix
    if len(name.encode()) > MAX_NAME:
        raise NewsvaultError(
            f"{shown(url)}: the database's name is too long to have `{suffix}` added "
            f"(PostgreSQL keeps {MAX_NAME} bytes of a name); rename it to a shorter one"
        )
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url)._replace(password=None).render_as_string()  # set(): None keeps it
    except ArgumentError:
        return "the database setting"


def create_fresh(url: str, *, like: str) -> None:
    """The database at `url`, dropped when it is there (what a killed run left) and created
    empty, with the encoding and locale of the database at `like` when that one is there."""
    name = database_name(url)
    avoid = (name, database_name(like))
    with _maintenance(url, avoid=avoid) as (engine, quote), _autocommit(engine) as conn:
        _refuse_if_connected(conn, name, url, STILL_RUNNING)
        _run(conn, url, f"DROP DATABASE IF EXISTS {quote(name)}", STILL_RUNNING)
        model = conn.execute(
            text(
                "SELECT pg_encoding_to_char(encoding), datcollate, datctype "
                "FROM pg_database WHERE datname = :name"
            ),
            {"name": database_name(like)},
        ).first()
        create = f"CREATE DATABASE {quote(name)}"
        if model is not None:
            encoding, collate, ctype = model
            create += (
                f" TEMPLATE template0 ENCODING {_literal(encoding)} "
                f"LC_COLLATE {_literal(collate)} LC_CTYPE {_literal(ctype)}"
            )
        _run(conn, url, create)


def refuse_if_connected(url: str) -> None:
    """Fail in one line when another session is connected to the database at `url`."""
    name = database_name(url)
    with _maintenance(url, avoid=(name,)) as (engine, _), _autocommit(engine) as conn:
        _refuse_if_connected(conn, name, url, STOP_FIRST)


def swap_in(url: str, rebuilt: str, backup: str) -> None:
    """The database at `rebuilt` renamed to the archive's (`url`), the archive's renamed to
    `backup` (an earlier one of that name dropped first), both in one transaction. When the
    archive's database is not there (dropped by hand), the rebuilt one takes its name and
    `backup` is left alone: it may be the only copy of what the archive had."""
    current, new, kept = database_name(url), database_name(rebuilt), database_name(backup)
    with _maintenance(url, avoid=(current, new, kept)) as (engine, quote):
        with _autocommit(engine) as conn:
            names = set(
                conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname IN (:a, :b)"),
                    {"a": current, "b": new},
                ).scalars()
            )
            if new not in names:
                raise NewsvaultError(
                    f"{shown(rebuilt)}: no rebuilt database; run `newsvault rebuild` first"
                )
            _refuse_if_connected(conn, new, rebuilt, STILL_RUNNING)
            if current in names:
                _refuse_if_connected(conn, current, url, STOP_FIRST)
                _run(conn, backup, f"DROP DATABASE IF EXISTS {quote(kept)}")
        with engine.connect() as conn, conn.begin():
            if current in names:
                _run(conn, url, f"ALTER DATABASE {quote(current)} RENAME TO {quote(kept)}")
            _run(conn, rebuilt, f"ALTER DATABASE {quote(new)} RENAME TO {quote(current)}")


# -- the maintenance connection ------------------------------------------------------------


@contextmanager
def _maintenance(
    url: str, *, avoid: tuple[str, ...]
) -> Iterator[tuple[Engine, Callable[[str], str]]]:
    """An engine on the server's maintenance database (one not among `avoid`: a database
    cannot be dropped or renamed by a session connected to it), and the quoting of names."""
    if not is_postgresql(url):
        raise NewsvaultError(f"{shown(url)}: not a PostgreSQL URL (postgresql://USER@HOST/NAME)")
    server = make_url(database_url(url))
    last: DBAPIError | None = None
    for name in (m for m in MAINTENANCE if m not in avoid):
        engine = create_engine(server.set(database=name), poolclass=NullPool)
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            engine.dispose()
            last = exc
            continue
        try:
            yield engine, engine.dialect.identifier_preparer.quote
        finally:
            engine.dispose()
        return
    raise NewsvaultError(f"{shown(url)}: the server cannot be reached: {_first_line(last)}")


@contextmanager
def _autocommit(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def _refuse_if_connected(conn: Connection, name: str, url: str, advice: str) -> None:
    # autovacuum is not counted: PostgreSQL stops its workers itself for a rename or a drop
    others = conn.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
            "AND pid <> pg_backend_pid() AND backend_type <> 'autovacuum worker'"
        ),
        {"name": name},
    ).scalar()
    if others:
        sessions = f"{others} other session{'s are' if others != 1 else ' is'}"
        raise NewsvaultError(f"{shown(url)}: {sessions} connected to the database; {advice}")


def _run(conn: Connection, url: str, statement: str, advice: str = STOP_FIRST) -> None:
    try:
        conn.execute(text(statement))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == IN_USE:
            raise NewsvaultError(
                f"{shown(url)}: another session is connected to the database; {advice}"
            ) from None
        raise NewsvaultError(f"{shown(url)}: {_first_line(exc)}") from None


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_line(exc: BaseException | None) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
