"""The one source of "now". Tests freeze it; nothing else calls ``datetime.now`` directly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of an aware moment in the hotline's zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def today(timezone: str) -> date:
    return local_date(now(), timezone)


@contextlib.contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """Freeze :func:`now` at an aware moment (tests, demo data with past dates)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous
