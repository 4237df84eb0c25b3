"""Staffed hours of the chat seats, read from the configuration the entry point passes in.

``CHAT_STAFFED_HOURS`` is "HH:MM-HH:MM" in the hotline's time zone (``TIMEZONE``); several ranges
may be separated by commas ("08:00-12:00,13:30-22:00"); "00:00-24:00" means always staffed, and a
range may run past midnight ("20:00-02:00").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_STAFFED_HOURS = "08:00-22:00"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def _minutes(value: str) -> int:
    hours, _, minutes = value.strip().partition(":")
    total = int(hours) * 60 + int(minutes or 0)
    if not 0 <= total <= 24 * 60:
        raise ValueError(f"not a time of day: {value!r}")
    return total


def parse_ranges(spec: str) -> list[tuple[int, int]]:
    ranges = []
    for part in spec.split(","):
        if part.strip():
            start, _, end = part.partition("-")
            ranges.append((_minutes(start), _minutes(end)))
    return ranges


def staffed_hours_text(config: Mapping[str, Any]) -> str:
    return str(config.get("CHAT_STAFFED_HOURS") or DEFAULT_STAFFED_HOURS)


def is_staffed(moment: dt.datetime, config: Mapping[str, Any]) -> bool:
    zone = ZoneInfo(str(config.get("TIMEZONE") or DEFAULT_TIMEZONE))
    local = moment.astimezone(zone)
    minute = local.hour * 60 + local.minute
    for start, end in parse_ranges(staffed_hours_text(config)):
        if start <= end and start <= minute < end:
            return True
        if start > end and (minute >= start or minute < end):  # past midnight
            return True
    return False
