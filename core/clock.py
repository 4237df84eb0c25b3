"""The one source of "now". Tests freeze it; nothing else calls ``datetime.now`` directly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_frozen: datetime | None = None
_offset: timedelta | None = None  # set by travelled(): the clock runs, from another moment


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    real = datetime.now(UTC)
    return real if _offset is None else real + _offset


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


@contextlib.contextmanager
def travelled(moment: datetime) -> Iterator[datetime]:
    """Move :func:`now` to an aware moment and let it run on from there.

    The test suite lives at a pinned date this way without stopping time: workers, retries and
    timeouts still see seconds pass. :func:`frozen` inside it still stops the clock.
    """
    global _offset
    if moment.tzinfo is None:
        raise ValueError("travelled() needs an aware datetime")
    previous, _offset = _offset, moment.astimezone(UTC) - datetime.now(UTC)
    try:
        yield moment.astimezone(UTC)
    finally:
        _offset = previous
