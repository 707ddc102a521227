"""The archive's named locks on PostgreSQL: one step that one process at a time may take
(publishing, stories), held by processes on any number of machines sharing the database.

A lock is a session advisory lock on a connection of its own, opened for it and closed with
it: the lock lasts as long as the step, whatever transactions the step runs meanwhile, and a
process that dies holding it loses it with its connection. The database is the archive, so
(LOCK_SPACE, the name's number) names the lock; advisory locks do not cross databases.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from newsvault.store.engine import database_url

LOCK_SPACE = 0x6E76_6C6B  # "nvlk"; store/db.py's other advisory locks use keys of their own


def lock_key(name: str) -> int:
    """The lock's number in LOCK_SPACE (a positive int4)."""
    return zlib.crc32(name.encode()) & 0x7FFF_FFFF


@contextmanager
def advisory_lock(url: str, name: str, *, wait: float) -> Iterator[bool]:
    """Hold lock `name` of the database at `url`, waiting up to `wait` seconds for another
    process to let it go: yields True while held, False when the wait ran out."""
    engine = create_engine(database_url(url), poolclass=NullPool)
    key = {"space": LOCK_SPACE, "key": lock_key(name)}
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if wait <= 0:  # lock_timeout 0 would mean no timeout at all
                held = bool(
                    conn.execute(text("SELECT pg_try_advisory_lock(:space, :key)"), key).scalar()
                )
            else:
                conn.execute(text(f"SET lock_timeout = {max(1, round(wait * 1000))}"))
                try:
                    conn.execute(text("SELECT pg_advisory_lock(:space, :key)"), key)
                    held = True
                except OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                        raise
                    held = False
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:space, :key)"), key)
    finally:
        engine.dispose()
