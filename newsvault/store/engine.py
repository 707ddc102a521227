"""The database engine, and transactions that several processes can share it with.

Several newsvault processes write to one archive at once (the `watch` daemon, `serve`, a cron
`run`, a command typed meanwhile). SQLite lets one write at a time; a transaction that reads
and then writes must take the write lock when it begins (BEGIN IMMEDIATE), or it fails with
"database is locked" when another process wrote in between. Reads begin as usual and never
wait for writers (WAL). `writing(engine)` is such a write transaction on any database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.dml import Insert

BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's transaction
CACHE_KIB = 8 * 1024  # SQLite's page cache, per connection (a pool holds up to 15)


def open_engine(url: str, *, durable: bool = False) -> Engine:
    """`durable` commits with synchronous=FULL: for what is acknowledged to a person.
    `postgresql://` is PostgreSQL through psycopg 3 (`postgresql+psycopg://`)."""
    engine = create_engine(database_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas("FULL" if durable else "NORMAL"))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def database_url(url: str) -> str:
    """A URL as SQLAlchemy opens it: `postgresql://` and `postgres://` through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def insert_new(conn: Connection, table: Table) -> Insert:
    """An INSERT that skips a row whose unique key is already there (ON CONFLICT DO
    NOTHING, on every dialect): on PostgreSQL a conflicting plain INSERT would abort the
    whole transaction. Whether a row was inserted: ask for `.returning(...)` (no row when it
    was skipped); rowcount is -1 on PostgreSQL, where the key is returned implicitly."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # 50 ms to import: where it is used only

        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no ON CONFLICT DO NOTHING on {conn.dialect.name}")


class Driver:
    """The driver's own cursor on a connection, in its transaction, for the small statements a
    hot path runs several times an article, and its many-row writes (`?` placeholders, SQL that
    SQLite and PostgreSQL both read). SQLAlchemy's work around one execute (an execution
    context, parameter processing, a result object: about 40 us), or for each row of many,
    cost more than SQLite's own for most of them."""

    def __init__(self, conn: Connection) -> None:
        self._cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._percent = conn.dialect.paramstyle != "qmark"  # psycopg

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._execute(sql, params)
        return self._cursor.fetchall()

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, None for no row."""
        self._execute(sql, params)
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._execute(sql, params)

    def many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement for many rows."""
        if rows:
            self._cursor.executemany(self._native(sql), rows)

    def _execute(self, sql: str, params: Sequence[Any]) -> None:
        self._cursor.execute(self._native(sql), params)

    def _native(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._percent else sql


@cache
def marks(count: int) -> str:
    """`(?, ?, ?)`: the placeholders of an IN list of `count` values."""
    return f"({', '.join('?' * count)})"


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed at the end, rolled back on an exception."""
    with engine.connect() as conn:
        conn.execution_options(newsvault_writing=True)
        with conn.begin():
            yield conn


def _sqlite_pragmas(synchronous: str):
    def apply(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions begun by _sqlite_begin alone
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # A statement that may need undoing alone (every write with foreign keys on, the
        # search index's many-row writes) keeps the pages it changes in a statement journal,
        # spilled to a temporary file past 64 KiB: in memory, archiving 400 pages writes 18,000
        # fewer pages. The page cache (2 MB by default) holds more of the indexes a run reads:
        # at 8 MB it reads 5,100 pages instead of 12,000 (at 32 MB 4,300, for four times the
        # memory of every connection).
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cursor.close()

    return apply


def _sqlite_begin(conn: Connection) -> None:
    writes = conn.get_execution_options().get("newsvault_writing")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
