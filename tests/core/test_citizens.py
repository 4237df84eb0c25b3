"""A citizen's identity as messages arrive: who they are, and since when they were last heard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core import clock
from directory.citizens import SEEN_EVERY, get_or_create_citizen, mark_reachable, mark_unreachable
from directory.models import ChannelIdentity
from tests.statements import recorded

START = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def _writes(db: Any, action: Any) -> list[str]:
    """The INSERT and UPDATE statements ``action`` sends."""
    with recorded(db.get_bind(), "INSERT", "UPDATE") as statements:
        action()
    return statements


def _at(seconds: int, action: Any, db: Any, openid: str) -> None:
    """``action`` for a WeChat citizen, ``seconds`` after START, committed."""
    with clock.frozen(START + dt.timedelta(seconds=seconds)):
        action(db, "wechat", openid)
        db.commit()


def _identity(db: Any, external_id: str) -> ChannelIdentity:
    found = db.query(ChannelIdentity).filter_by(channel="wechat", external_id=external_id).one()
    assert isinstance(found, ChannelIdentity)
    return found


def test_messages_within_a_minute_leave_the_identity_row_alone(app: Any, db: Any) -> None:
    """A busy citizen's every message would otherwise be a write and a row lock on their
    identity; the reply windows last_seen_at opens are hours long."""
    with clock.frozen(START):
        first = get_or_create_citizen(db, "wechat", "o-busy", phone="13800138000")
        db.commit()
    with clock.frozen(START + SEEN_EVERY - dt.timedelta(seconds=1)):
        again = _writes(db, lambda: get_or_create_citizen(db, "wechat", "o-busy"))
        db.commit()
    assert again == []
    assert _identity(db, "o-busy").last_seen_at == START
    with clock.frozen(START + SEEN_EVERY):
        citizen = get_or_create_citizen(db, "wechat", "o-busy")
        db.commit()
    assert citizen.id == first.id and citizen.phone == "13800138000"
    assert _identity(db, "o-busy").last_seen_at == START + SEEN_EVERY


def test_a_citizen_who_writes_after_unsubscribing_is_reachable_at_once(app: Any, db: Any) -> None:
    """Seconds after an unsubscribe (the outbox stops) the citizen subscribes and writes again:
    last_seen_at must move past the unsubscribe whatever its age."""
    _at(0, get_or_create_citizen, db, "o-back")
    _at(5, mark_unreachable, db, "o-back")
    _at(10, get_or_create_citizen, db, "o-back")
    identity = _identity(db, "o-back")
    assert identity.last_seen_at == START + dt.timedelta(seconds=10)
    assert identity.last_seen_at > identity.unreachable_at  # type: ignore[operator]
    _at(0, get_or_create_citizen, db, "o-resubscribed")
    _at(5, mark_unreachable, db, "o-resubscribed")
    _at(8, mark_reachable, db, "o-resubscribed")  # the subscribe event
    identity = _identity(db, "o-resubscribed")
    assert identity.unreachable_at is None
    assert identity.last_seen_at == START + dt.timedelta(seconds=8)


def test_the_citizen_comes_with_the_identity(app: Any, db: Any) -> None:
    """One statement finds both: the identity's citizen is joined, not loaded after it."""
    with clock.frozen(START):
        get_or_create_citizen(db, "wechat", "o-joined", name="王五")
        db.commit()
    db.expunge_all()
    with (
        recorded(db.get_bind(), "SELECT") as selects,
        clock.frozen(START + dt.timedelta(seconds=30)),
    ):
        citizen = get_or_create_citizen(db, "wechat", "o-joined")
        name = citizen.name
    assert name == "王五"
    assert len(selects) == 1, selects
