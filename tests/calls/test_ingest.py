"""Events into call records: the whole life of a call, duplicates, any order, bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calls import service
from calls.models import Call, CallEvent
from core import clock
from core.errors import PermissionDenied, ValidationError
from directory.models import Role
from tests.calls.conftest import counts, event, fresh, only_call
from tests.conftest import at

T0 = at(2026, 3, 10, 9)


def _s(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _life(call_id: str = "C-1") -> list[dict[str, Any]]:
    return [
        event("offered", call_id, _s(0), caller="13800138000", queue="专席 人社"),
        event("answered", call_id, _s(18), agent="8001"),
        event("ended", call_id, _s(18 + 240)),
    ]


def test_a_call_from_offer_to_end(post, db: Session, make_staff) -> None:
    agent = make_staff(Role.OPERATOR, username="agent1")
    service.set_agent_code(db, agent, "8001", actor=agent_admin(make_staff))
    db.commit()
    response = post({"events": _life()})
    assert response.status_code == 200
    body = response.get_json()
    assert body["batch"] is True and body["accepted"] == 3 and body["duplicates"] == 0
    call = only_call(db)
    assert (call.caller_number, call.queue, call.agent_code) == ("13800138000", "专席 人社", "8001")
    assert call.staff_id == agent.id
    assert (call.wait_seconds, call.handling_seconds, call.status) == (18, 240, "ended")
    assert (call.offered_date, call.offered_hour) == (dt.date(2026, 3, 10), 9)
    assert call.offered_at == T0 and call.ended_at == _s(258)


def agent_admin(make_staff: Any) -> Any:
    return make_staff(Role.ADMIN)


def test_a_single_event_is_not_a_batch(post, db: Session) -> None:
    response = post(_life()[0])
    body = response.get_json()
    assert response.status_code == 200 and body["batch"] is False
    assert body["results"] == [
        {"call_id": "C-1", "type": "offered", "status": "accepted", "call_status": "offered"}
    ]


def test_a_resent_event_changes_nothing_even_with_other_values(post, db: Session) -> None:
    assert post({"events": _life()}).status_code == 200
    before = only_call(db)
    snapshot = (before.answered_at, before.agent_code, before.wait_seconds, before.updated_at)
    resent = [
        event("answered", "C-1", _s(99), agent="8999"),
        event("offered", "C-1", _s(-50), caller="13900000000", queue="综合"),
    ]
    response = post({"events": resent})
    assert response.get_json()["accepted"] == 0 and response.get_json()["duplicates"] == 2
    after = only_call(db)
    assert (after.answered_at, after.agent_code, after.wait_seconds, after.updated_at) == snapshot
    assert after.queue == "专席 人社"
    assert counts(db)[:2] == (1, 3)


def test_the_same_event_twice_in_one_batch_counts_once(post, db: Session) -> None:
    first = _life()[0]
    body = post({"events": [first, first]}).get_json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]
    assert counts(db)[:2] == (1, 1)


@pytest.mark.parametrize("order", [(2, 1, 0), (1, 2, 0), (2, 0, 1), (0, 2, 1)])
def test_events_in_any_order_make_the_same_record(post, db: Session, order) -> None:
    life = _life()
    for index in order:  # one request per event, in the shuffled order
        assert post(life[index]).status_code == 200
    call = only_call(db)
    assert (call.wait_seconds, call.handling_seconds, call.status) == (18, 240, "ended")
    assert call.queue == "专席 人社" and call.caller_number == "13800138000"
    assert call.offered_hour == 9


def test_an_end_before_its_answer_waits_in_the_record(post, db: Session) -> None:
    life = _life()
    post(life[0])
    post(life[2])
    call = only_call(db)
    assert call.ended_at == _s(258) and call.handling_seconds is None
    assert call.status == "ended"  # ended, but not yet counted as answered
    post(life[1])
    call = only_call(db)
    assert (call.status, call.handling_seconds, call.wait_seconds) == ("ended", 240, 18)


def test_an_abandoned_call_waited_until_the_caller_hung_up(post, db: Session) -> None:
    post(
        {
            "events": [
                event("offered", "C-2", _s(0), queue="综合"),
                event("abandoned", "C-2", _s(42)),
            ]
        }
    )
    call = only_call(db)
    assert (call.status, call.wait_seconds, call.handling_seconds) == ("abandoned", 42, None)
    assert call.caller_number is None  # a withheld number is allowed


def test_a_call_offered_before_midnight_belongs_to_that_day(post, db: Session) -> None:
    offered = at(2026, 3, 10, 23) + dt.timedelta(minutes=59, seconds=50)
    post(
        {
            "events": [
                event("offered", "C-3", offered, queue="综合"),
                event("answered", "C-3", offered + dt.timedelta(seconds=20), agent="8002"),
                event("ended", "C-3", offered + dt.timedelta(minutes=5)),
            ]
        }
    )
    call = only_call(db)
    assert (call.offered_date, call.offered_hour, call.wait_seconds) == (
        dt.date(2026, 3, 10),
        23,
        20,
    )


def test_the_local_day_uses_the_configured_zone_not_utc(post, db: Session) -> None:
    # 2026-03-10 01:30 in Shanghai is 2026-03-09 17:30 UTC
    post(event("offered", "C-4", at(2026, 3, 10, 1) + dt.timedelta(minutes=30), queue="综合"))
    call = only_call(db)
    assert (call.offered_date, call.offered_hour) == (dt.date(2026, 3, 10), 1)


BAD_EVENTS = [
    ({"call_id": "C-9", "at": T0.isoformat(), "queue": "综合"}, "type"),
    (event("rang", "C-9", T0, queue="综合"), "type"),
    (event("offered", "", T0, queue="综合"), "call_id"),
    (event("offered", "has space", T0, queue="综合"), "call_id"),
    (event("offered", "C-9", T0, queue="综合") | {"call_id": 12}, "call_id"),
    (event("offered", "x" * 101, T0, queue="综合"), "call_id"),
    (event("offered", "C-9", "2026-03-10T09:00:00", queue="综合"), "at"),  # no offset
    (event("offered", "C-9", "yesterday", queue="综合"), "at"),
    (event("offered", "C-9", "1999-12-31T23:00:00+08:00", queue="综合"), "at"),
    (event("offered", "C-9", "2026-03-12T10:00:00+08:00", queue="综合"), "at"),  # future
    (event("offered", "C-9", T0, queue="综合") | {"at": 1773104400}, "at"),
    (event("offered", "C-9", T0), "queue"),
    (event("offered", "C-9", T0, queue="q" * 41), "queue"),
    (event("offered", "C-9", T0, queue="综\n合"), "queue"),
    (event("offered", "C-9", T0, queue="综合", caller="138-0013"), "caller"),
    (event("offered", "C-9", T0, queue="综合", caller=13800138000), "caller"),
    (event("answered", "C-9", T0), "agent"),
    (event("answered", "C-9", T0, agent="8 001"), "agent"),
]


@pytest.mark.parametrize("bad, field", BAD_EVENTS)
def test_a_bad_event_is_422_and_changes_nothing(post, db: Session, bad, field) -> None:
    assert post(_life("C-1")[0]).status_code == 200
    before = counts(db)
    single = post(bad)
    assert single.status_code == 422
    assert field in single.get_json()["fields"]
    batch = post({"events": [*_life("C-8"), bad]})
    assert batch.status_code == 422
    assert f"events[3].{field}" in batch.get_json()["fields"]
    assert counts(db) == before  # not even the three good events of the batch, nor the nonce


@pytest.mark.parametrize(
    "body, status",
    [
        ([], 422),
        ("offered", 422),
        ({"events": []}, 422),
        ({"events": "C-1"}, 422),
        ({"events": [1]}, 422),
        ({"events": [_life()[0]] * 501}, 422),
    ],
)
def test_a_body_of_the_wrong_shape_is_refused(post, db: Session, body, status) -> None:
    response = post(body)
    assert response.status_code == status
    assert "error" in response.get_json()
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b'{"type": "offered"', b"[" * 500])
def test_unreadable_json_is_400(post, db: Session, raw: bytes) -> None:
    response = post(None, raw=raw)
    assert response.status_code in (400, 422)
    assert counts(db) == (0, 0, 0)


def test_a_nul_character_is_refused(post, db: Session) -> None:
    response = post(event("offered", "C-1", T0, queue="综\u0000合"))
    assert response.status_code == 400
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    "known, second, problem",
    [
        (2, event("abandoned", "C-1", _s(30)), "既已接通又已放弃"),
        (1, event("answered", "C-1", _s(-5), agent="8001"), "早于呼入"),
        (2, event("ended", "C-1", _s(10)), "结束时间早于接通时间"),
        (1, event("abandoned", "C-1", _s(-1)), "早于呼入"),
    ],
)
def test_events_that_contradict_their_call_are_refused(
    post, db: Session, known: int, second, problem: str
) -> None:
    assert post({"events": _life()[:known]}).status_code == 200
    before = only_call(db)
    snapshot = (before.answered_at, before.ended_at, before.abandoned_at, before.wait_seconds)
    response = post(second)
    assert response.status_code == 422
    assert any(problem in message for message in response.get_json()["fields"].values())
    after = only_call(db)
    assert (after.answered_at, after.ended_at, after.abandoned_at, after.wait_seconds) == snapshot
    assert len(db.scalars(select(CallEvent)).all()) == known


def test_an_abandoned_call_cannot_end(post, db: Session) -> None:
    post(
        {"events": [event("offered", "C-2", _s(0), queue="综合"), event("abandoned", "C-2", _s(9))]}
    )
    response = post(event("ended", "C-2", _s(60)))
    assert response.status_code == 422
    assert only_call(db).ended_at is None


def test_call_ids_are_per_switchboard(app, post, db: Session, staff) -> None:
    from calls.keys import create_key

    other = create_key(db, "另一台交换机", pepper=app.config["SECRET_KEY"], actor=staff["admin"])
    db.commit()
    post(_life()[0])
    post(_life()[0], key=other)
    fresh(db)
    assert len(db.scalars(select(Call)).all()) == 2


# -- the intake screen's view ------------------------------------------------------------


def test_active_call_for_staff(post, db: Session, make_staff) -> None:
    admin = make_staff(Role.ADMIN)
    agent = make_staff(Role.OPERATOR, username="agent1")
    other = make_staff(Role.OPERATOR, username="agent2")
    service.set_agent_code(db, agent, "8001", actor=admin)
    db.commit()
    with clock.frozen(_s(30)):
        life = _life()
        post({"events": life[:2]})
        fresh(db)
        call = service.active_call_for_staff(db, agent.id)
        assert call is not None and call.caller_number == "13800138000"
        assert call.answered_at == _s(18) and call.queue == "专席 人社"
        assert service.get_call(db, call.id) is call
        assert service.active_call_for_staff(db, other.id) is None
        # a newer answered call of the same agent is the one to show
        post(
            {
                "events": [
                    event("offered", "C-2", _s(20), caller="13900139000", queue="综合"),
                    event("answered", "C-2", _s(25), agent="8001"),
                ]
            }
        )
        fresh(db)
        latest = service.active_call_for_staff(db, agent.id)
        assert latest is not None and latest.call_id == "C-2"
        post(event("ended", "C-2", _s(29)))
        fresh(db)
        latest = service.active_call_for_staff(db, agent.id)
        assert latest is not None and latest.call_id == "C-1"
    with clock.frozen(_s(18) + service.ACTIVE_CALL_MAX_AGE + dt.timedelta(seconds=1)):
        fresh(db)
        assert service.active_call_for_staff(db, agent.id) is None  # its end was lost
    assert service.get_call(db, 10**6) is None


def test_an_agent_mapped_after_the_answer_still_gets_the_call(
    post, db: Session, make_staff
) -> None:
    admin = make_staff(Role.ADMIN)
    agent = make_staff(Role.OPERATOR, username="agent1")
    with clock.frozen(_s(30)):
        post({"events": _life()[:2]})
        fresh(db)
        assert only_call(db).staff_id is None
        service.set_agent_code(db, db.merge(agent), "8001", actor=admin)
        db.commit()
        call = service.active_call_for_staff(db, agent.id)
        assert call is not None and call.staff_id == agent.id


def test_agent_codes_are_unique_checked_and_admin_only(db: Session, make_staff) -> None:
    admin = make_staff(Role.ADMIN)
    first = make_staff(Role.OPERATOR)
    second = make_staff(Role.OPERATOR)
    service.set_agent_code(db, first, " 8001 ", actor=admin)
    assert first.agent_code == "8001"
    with pytest.raises(ValidationError) as taken:
        service.set_agent_code(db, second, "8001", actor=admin)
    assert "another staff member" in taken.value.fields["agent_code"]
    with pytest.raises(ValidationError):
        service.set_agent_code(db, second, "80 01", actor=admin)
    with pytest.raises(PermissionDenied):
        service.set_agent_code(db, second, "8002", actor=first)
    service.set_agent_code(db, first, "", actor=admin)
    assert first.agent_code is None
    service.set_agent_code(db, second, "8001", actor=admin)
    assert second.agent_code == "8001"


def test_a_body_over_512_kb_is_413(post, db: Session) -> None:
    padded = b'{"events": []' + b" " * (512 * 1024) + b"}"
    response = post(None, raw=padded)
    assert response.status_code == 413 and "error" in response.get_json()
    assert counts(db) == (0, 0, 0)


def test_errors_speak_chinese_by_default(post, db: Session) -> None:
    body = post(event("offered", "C-1", T0)).get_json()
    assert body["error"] == "请修改标出的内容。"
    assert body["fields"]["queue"].startswith("请提供队列名称")
