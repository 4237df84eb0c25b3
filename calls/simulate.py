"""A realistic day of switchboard events, for ``flask --app app cti simulate`` and the benchmark.

Arrivals follow a city hotline's day (quiet at night, peaks at 09:00–11:00 and 14:00–17:00, an
evening shoulder); 专席 人社 takes about a quarter of the calls, 综合 the rest. Each call waits
for a free agent (exponential, longer in the peak hours) unless the caller's patience runs out
first (abandoned); answered calls last a log-normal few minutes. A seed makes the day
reproducible. Pure: no database, no network.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

QUEUES: dict[str, tuple[float, list[str]]] = {
    # queue: (share of the calls, its agents' codes)
    "专席 人社": (0.25, [f"81{n:02d}" for n in range(1, 7)]),
    "综合": (0.75, [f"80{n:02d}" for n in range(1, 21)]),
}

# relative arrivals per local hour 0..23
HOURLY_SHAPE = (
    0.6, 0.4, 0.3, 0.25, 0.25, 0.4, 0.9, 2.0, 4.5, 7.5, 8.5, 8.0,
    5.5, 5.0, 7.0, 7.5, 7.0, 6.0, 4.0, 3.5, 3.0, 2.4, 1.6, 1.0,
)  # fmt: skip

MEAN_PATIENCE = 120.0  # seconds a caller waits on average before hanging up
MEAN_HANDLING = 200.0  # seconds


@dataclass(frozen=True)
class SimulatedCall:
    call_id: str
    caller: str
    queue: str
    agent: str | None
    offered_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    abandoned_at: dt.datetime | None


def _mean_wait(hour: int) -> float:
    """Busier hours wait longer: 6 s at night up to about 30 s at the morning peak."""
    return 6.0 + 3.0 * HOURLY_SHAPE[hour]


def simulate_calls(
    day: dt.date, *, calls: int, timezone: str = "Asia/Shanghai", seed: int | None = None
) -> list[SimulatedCall]:
    rng = random.Random(seed if seed is not None else day.toordinal())
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
    queue_names = list(QUEUES)
    queue_weights = [QUEUES[q][0] for q in queue_names]
    callers = [f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}" for _ in range(calls)]
    result = []
    for n in range(calls):
        hour = rng.choices(range(24), weights=HOURLY_SHAPE)[0]
        offered = start + dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        queue = rng.choices(queue_names, weights=queue_weights)[0]
        wait = rng.expovariate(1.0 / _mean_wait(hour))
        patience = rng.expovariate(1.0 / MEAN_PATIENCE)
        # one caller in eight calls again the same day (their number repeats)
        caller = callers[rng.randrange(max(1, n))] if n and rng.random() < 0.125 else callers[n]
        call_id = f"SIM-{day:%Y%m%d}-{n + 1:06d}"
        if patience < wait:
            result.append(
                SimulatedCall(
                    call_id,
                    caller,
                    queue,
                    None,
                    offered,
                    None,
                    None,
                    offered + dt.timedelta(seconds=patience),
                )
            )
            continue
        handling = rng.lognormvariate(math.log(MEAN_HANDLING) - 0.18, 0.6)
        answered = offered + dt.timedelta(seconds=wait)
        result.append(
            SimulatedCall(
                call_id,
                caller,
                queue,
                rng.choice(QUEUES[queue][1]),
                offered,
                answered,
                answered + dt.timedelta(seconds=handling),
                None,
            )
        )
    return sorted(result, key=lambda c: c.offered_at)


def events_of(call: SimulatedCall) -> list[dict[str, Any]]:
    """The switchboard events of one call, as JSON objects."""

    def at(moment: dt.datetime) -> str:
        return moment.isoformat(timespec="seconds")

    events: list[dict[str, Any]] = [
        {
            "type": "offered",
            "call_id": call.call_id,
            "at": at(call.offered_at),
            "caller": call.caller,
            "queue": call.queue,
        }
    ]
    if call.abandoned_at is not None:
        events.append({"type": "abandoned", "call_id": call.call_id, "at": at(call.abandoned_at)})
    if call.answered_at is not None:
        events.append(
            {
                "type": "answered",
                "call_id": call.call_id,
                "at": at(call.answered_at),
                "agent": call.agent,
            }
        )
    if call.ended_at is not None:
        events.append(
            {"type": "ended", "call_id": call.call_id, "at": at(call.ended_at), "agent": call.agent}
        )
    return events


def day_events(calls: list[SimulatedCall]) -> list[dict[str, Any]]:
    """Every event of the day in the order the switchboard would send them (by time)."""
    events = [event for call in calls for event in events_of(call)]
    return sorted(events, key=lambda e: dt.datetime.fromisoformat(e["at"]))
