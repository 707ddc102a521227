"""Days as readers mean them: a bare date is a day in China time (UTC+8), the zone the
archive's lists, pages and feeds date articles in, and a range's last day is included."""

from __future__ import annotations

import datetime as dt

from newsvault.errors import NewsvaultError
from newsvault.models import CHINA_TIME


def parse_day(value: str | None, option: str, *, end: bool = False) -> dt.datetime | None:
    """YYYY-MM-DD (a day in UTC+8) or an ISO 8601 time (UTC+8 when it names no zone). With
    `end`, a bare date means the end of that day, as the start of the next: `--until
    2024-06-19` includes the 19th. NewsvaultError names `option` for anything else."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    try:
        moment = (
            dt.datetime.combine(day, dt.time(), CHINA_TIME)
            if day
            else dt.datetime.fromisoformat(value)
        )
    except ValueError:
        raise NewsvaultError(
            f"{option} {value!r}: give a date as YYYY-MM-DD or a time as YYYY-MM-DDTHH:MM"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TIME)
    return moment + dt.timedelta(days=1) if day and end else moment


def date_only(ms: int) -> bool:
    """Whether a time is a bare date: midnight of a day in UTC+8, to the millisecond, as a
    date given without a time is stored (a real article stamped 00:00:00.000 reads the same)."""
    return ms % 86_400_000 == (-8 * 3_600_000) % 86_400_000


def shown(ms: int | None) -> str:
    """A time for people: ISO 8601 in UTC+8, or the day alone when it is a bare date."""
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(ms / 1000, CHINA_TIME)
    return moment.date().isoformat() if date_only(ms) else moment.isoformat(timespec="seconds")
