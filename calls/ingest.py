"""Switchboard events into call records.

The body of ``POST /api/v1/cti/events`` is one event or a batch ``{"events": [...]}`` of up to
:data:`MAX_BATCH`. An event:

    {"type": "offered" | "answered" | "ended" | "abandoned",
     "call_id": "the switchboard's call id",
     "at": "2026-03-10T09:15:02+08:00",        # ISO 8601 with a UTC offset
     "caller": "13800138000",                   # optional; the offered event's value wins
     "queue": "综合",                            # required when offered
     "agent": "8001"}                           # required when answered

Rules:

- (system, call id, type) is unique: an event sent again is a no-op ("duplicate"), whatever it
  carries the second time.
- Events of a call may arrive in any order: each sets its own time, and the derived columns
  (wait, handling time, local date and hour of the offer) are recomputed from the times. An
  "ended" before its "answered" waits in the record until the answer arrives.
- "ended" closes an answered call; "abandoned" is a caller hanging up before an answer. A call
  with both an answer and an abandon, or with times out of order (answered before offered,
  ended before answered), is bad input.
- Bad input is a :class:`core.errors.ValidationError` naming the event (``events[2].at``);
  the whole request changes nothing (the entry point rolls back).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from calls.models import Call, CallEvent, CtiSystem, EventType
from calls.service import AGENT_CODE, staff_for_agents
from core import clock
from core.db import session_timezone
from core.errors import DomainError, ValidationError
from core.i18n import N_
from core.inputs import has_bad_text

MAX_BATCH = 500
MAX_BODY = 512 * 1024  # bytes; a full batch of 500 events is about 100 KB
_TYPES = frozenset(t.value for t in EventType)
MAX_QUEUE = 40
_CALL_ID = re.compile(r"[\x21-\x7e]{1,100}")  # printable ASCII, no spaces
_CALLER = re.compile(r"\+?[0-9]{3,20}")
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_AHEAD = dt.timedelta(days=1)  # an event time later than this after our clock is a typo


class TooLarge(DomainError):
    http_status = 413


TOO_LARGE = N_("The request is too large: send at most 500 events of 512 KB in all.")
NOT_JSON = N_('The body must be JSON: one event or {"events": [...]}.')


@dataclass(frozen=True)
class EventIn:
    type: EventType
    call_id: str
    at: dt.datetime  # aware UTC
    caller: str | None = None
    queue: str | None = None
    agent: str | None = None


@dataclass(frozen=True)
class EventResult:
    call_id: str
    type: str
    status: str  # "accepted" or "duplicate"
    call: Call


def _text(raw: Any, pattern: re.Pattern[str] | None = None, maximum: int = 100) -> str | None:
    """A clean string, or None when absent; raises ValueError when wrong."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError
    value = raw.strip()
    if not value:
        return None
    if len(value) > maximum or has_bad_text(value) or any(ch < " " for ch in value):
        raise ValueError
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError
    return value


def _moment(raw: Any) -> dt.datetime:
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValueError
    moment = dt.datetime.fromisoformat(raw.strip())
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError
    moment = moment.astimezone(dt.UTC)
    if not EARLIEST <= moment <= clock.now() + MAX_AHEAD:
        raise ValueError
    return moment


def parse_event(raw: Any, prefix: str = "") -> EventIn:
    """One event from JSON, or a ValidationError naming its bad fields."""
    if not isinstance(raw, dict):
        raise ValidationError({prefix or "event": N_("An event must be a JSON object.")})
    fields: dict[str, str] = {}
    kind: EventType | None = None
    if isinstance(raw.get("type"), str) and raw["type"] in _TYPES:
        kind = EventType(raw["type"])
    else:
        fields["type"] = N_("Use one of: offered, answered, ended, abandoned.")
    call_id = at = caller = queue = agent = None
    try:
        call_id = _text(raw.get("call_id"), _CALL_ID)
        if call_id is None:
            raise ValueError
    except ValueError:
        fields["call_id"] = N_("Give the call id: 1 to 100 printable characters, no spaces.")
    try:
        at = _moment(raw.get("at"))
    except (ValueError, OverflowError):
        fields["at"] = N_(
            "Give the time as ISO 8601 with a UTC offset, after 2000 and not in the future."
        )
    try:
        caller = _text(raw.get("caller"), _CALLER)
    except ValueError:
        fields["caller"] = N_("A caller number has 3 to 20 digits, optionally after a +.")
    try:
        queue = _text(raw.get("queue"), maximum=MAX_QUEUE)
        if queue is None and kind is EventType.OFFERED:
            raise ValueError
    except ValueError:
        fields["queue"] = N_("Give the queue, up to 40 characters (required when offered).")
    try:
        agent = _text(raw.get("agent"), AGENT_CODE, maximum=40)
        if agent is None and kind is EventType.ANSWERED:
            raise ValueError
    except ValueError:
        fields["agent"] = N_(
            "Give the agent code: letters, digits, dots, dashes or underscores "
            "(required when answered)."
        )
    if fields:
        raise ValidationError({f"{prefix}{name}": message for name, message in fields.items()})
    assert kind is not None and call_id is not None and at is not None
    return EventIn(kind, call_id, at, caller=caller, queue=queue, agent=agent)


def parse_events(body: Any) -> tuple[list[EventIn], bool]:
    """The events of a request body, and whether it was a batch. Checks every event before
    any is applied."""
    if not isinstance(body, dict):
        raise ValidationError({"body": N_('Send one event or {"events": [...]} as JSON.')})
    if "events" not in body:
        return [parse_event(body)], False
    items = body["events"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ValidationError({"events": N_("Send a list of 1 to 500 events.")})
    events: list[EventIn] = []
    fields: dict[str, str] = {}
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item, f"events[{index}]."))
        except ValidationError as error:
            fields.update(error.fields)
    if fields:
        raise ValidationError(fields)
    return events, True


def _insert(session: Session, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on either database."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _call_rows(
    session: Session, system: CtiSystem, call_ids: list[str], now: dt.datetime
) -> dict[str, Call]:
    """The calls' rows, created when new (two requests creating one call both succeed), locked
    for this transaction on PostgreSQL. Rows are inserted in call-id order and locked in id
    order, so two concurrent batches about the same calls wait for each other, never
    deadlock."""
    # executemany of one cached statement (SQLAlchemy batches it as "insertmanyvalues")
    session.execute(
        _insert(session, Call.__table__).on_conflict_do_nothing(
            index_elements=["system_id", "call_id"]
        ),
        [
            {"system_id": system.id, "call_id": c, "created_at": now, "updated_at": now}
            for c in sorted(call_ids)
        ],
    )
    rows = session.scalars(
        select(Call)
        .where(Call.system_id == system.id, Call.call_id.in_(call_ids))
        .order_by(Call.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {call.call_id: call for call in rows}


def _new_events(
    session: Session,
    system: CtiSystem,
    events: list[EventIn],
    calls: dict[str, Call],
    now: dt.datetime,
) -> set[tuple[str, str]]:
    """Insert the events; the (call id, type) pairs that were not known before."""
    rows = [
        {
            "system_id": system.id,
            "call_id": e.call_id,
            "event_type": e.type.value,
            "call_row_id": calls[e.call_id].id,
            "occurred_at": e.at,
            "received_at": now,
            "detail": {
                name: value
                for name, value in (("caller", e.caller), ("queue", e.queue), ("agent", e.agent))
                if value is not None
            },
        }
        for e in sorted(events, key=lambda e: (e.call_id, e.type.value))
    ]
    table = CallEvent.__table__
    inserted = session.execute(
        _insert(session, table)
        .on_conflict_do_nothing(index_elements=["system_id", "call_id", "event_type"])
        .returning(table.c.call_id, table.c.event_type),
        rows,
    )
    return {(call_id, kind) for call_id, kind in inserted}


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds())


def _check(call: Call, prefix: str) -> None:
    """The call's times must tell one story."""
    problem = None
    if call.answered_at is not None and call.abandoned_at is not None:
        problem = N_("A call cannot be both answered and abandoned.")
    elif call.ended_at is not None and call.abandoned_at is not None:
        problem = N_("An abandoned call has no end event; only answered calls end.")
    elif call.offered_at is not None and any(
        t is not None and t < call.offered_at
        for t in (call.answered_at, call.ended_at, call.abandoned_at)
    ):
        problem = N_("The call's times are out of order: nothing happens before the offer.")
    elif (
        call.answered_at is not None
        and call.ended_at is not None
        and call.ended_at < call.answered_at
    ):
        problem = N_("The call's times are out of order: it ended before it was answered.")
    if problem is not None:
        raise ValidationError({f"{prefix}type": problem})


def _derive(call: Call, timezone: str) -> None:
    call.wait_seconds = _seconds(call.offered_at, call.answered_at or call.abandoned_at)
    call.handling_seconds = _seconds(call.answered_at, call.ended_at)
    if call.offered_at is None:
        call.offered_date = call.offered_hour = None
    else:
        local = call.offered_at.astimezone(ZoneInfo(timezone))
        call.offered_date = local.date()
        call.offered_hour = local.hour


def _apply(call: Call, event: EventIn, staff_ids: dict[str, int]) -> None:
    setattr(call, f"{event.type.value}_at", event.at)
    authoritative = event.type is EventType.OFFERED
    if event.caller and (authoritative or call.caller_number is None):
        call.caller_number = event.caller
    if event.queue and (authoritative or call.queue is None):
        call.queue = event.queue
    agent_wins = event.type is EventType.ANSWERED
    if event.agent and (agent_wins or call.agent_code is None) and event.agent != call.agent_code:
        call.agent_code = event.agent
        call.staff_id = staff_ids.get(event.agent)


def ingest_events(
    session: Session, system: CtiSystem, events: list[EventIn], *, batch: bool | None = None
) -> list[EventResult]:
    """Apply ``events`` of ``system`` in the order given; flushes, never commits. Raises
    :class:`ValidationError` (the caller rolls back) when an event contradicts its call; its
    field is ``events[i].type`` in a batch (``batch``, default: more than one event), else
    ``type``.

    A fixed number of statements whatever the batch size: the calls' rows (insert the new ones,
    select all), the events (one insert that returns which were new), the agents' staff, the
    updated calls."""
    if not events:
        return []
    now = clock.now()
    timezone = session_timezone(session)
    batched = len(events) > 1 if batch is None else batch
    firsts: dict[tuple[str, str], EventIn] = {}
    for e in events:  # an event twice in one batch: the first one counts
        firsts.setdefault((e.call_id, e.type.value), e)
    with session.no_autoflush:
        calls = _call_rows(session, system, list(dict.fromkeys(e.call_id for e in events)), now)
        new = _new_events(session, system, list(firsts.values()), calls, now)
        staff_ids = staff_for_agents(session, {e.agent for e in events if e.agent})
        results: list[EventResult] = []
        for index, event in enumerate(events):
            key = (event.call_id, event.type.value)
            call = calls[event.call_id]
            if key not in new or firsts[key] is not event:
                results.append(EventResult(event.call_id, event.type.value, "duplicate", call))
                continue
            _apply(call, event, staff_ids)
            _check(call, f"events[{index}]." if batched else "")
            _derive(call, timezone)
            call.updated_at = now
            results.append(EventResult(event.call_id, event.type.value, "accepted", call))
    session.flush()
    return results
