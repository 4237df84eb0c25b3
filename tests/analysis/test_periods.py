"""Periods of local dates and their UTC bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis.periods import Period, local_midnight, month_start, week_start


def test_a_period_and_the_one_before() -> None:
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert march.days == 31
    assert march.previous() == Period(dt.date(2026, 1, 29), dt.date(2026, 2, 28))
    assert march.dates()[0] == dt.date(2026, 3, 1) and march.dates()[-1] == dt.date(2026, 3, 31)
    with pytest.raises(ValueError):
        Period(dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_local_midnights() -> None:
    assert local_midnight(dt.date(2026, 3, 10), "Asia/Shanghai") == dt.datetime(
        2026, 3, 9, 16, tzinfo=dt.UTC
    )
    # a zone with daylight saving: the day clocks go forward has 23 hours
    start = local_midnight(dt.date(2026, 3, 29), "Europe/Berlin")
    end = local_midnight(dt.date(2026, 3, 30), "Europe/Berlin")
    assert end - start == dt.timedelta(hours=23)


def test_buckets() -> None:
    assert week_start(dt.date(2026, 3, 15)) == dt.date(2026, 3, 9)  # Sunday → its Monday
    assert month_start(dt.date(2026, 3, 15)) == dt.date(2026, 3, 1)
