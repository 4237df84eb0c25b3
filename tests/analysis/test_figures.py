"""Each dashboard figure's definition on small hand-checked histories (Asia/Shanghai): local-date
buckets, the previous period, Spring Festival 2026 (2-15..2-23 off, Saturday 2-14 worked), a
department with no tickets, no surveys, calls across midnight, chat hand-offs, self-service."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analysis import figures
from analysis.periods import Period
from bot.engine.models import ChatMessage, Conversation, Handoff
from calls.figures import day_figures
from calls.ingest import ingest_events, parse_events
from calls.models import CtiSystem
from core import clock
from knowledge.models import KnowledgeGap
from tests.conftest import at
from tickets import workflow
from tickets.access import SYSTEM, CitizenActor
from tickets.calendar import load_calendar
from tickets.models import TicketEvent
from tickets.supervision import refresh_supervision


def _counts(rows: list[figures.Count]) -> dict[str, tuple[int, int]]:
    return {row.key: (row.current, row.previous) for row in rows}


# -- volumes ------------------------------------------------------------------------------------

WEEK = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8))  # Monday to Sunday


@pytest.fixture
def week(db: Session, new_ticket: Any, step: Any, departments: Any, staff: Any) -> Session:
    # 00:30 on 3-02 is 16:30 UTC on 3-01: a local day, not a UTC one
    a = new_ticket(at(2026, 3, 2, 0) + dt.timedelta(minutes=30), channel="web")
    new_ticket(at(2026, 3, 1, 23) + dt.timedelta(minutes=30), channel="wechat")  # previous
    new_ticket(
        at(2026, 3, 8, 23) + dt.timedelta(minutes=59), channel="telegram", kind="consultation"
    )
    new_ticket(at(2026, 3, 9, 0), channel="phone")  # the day after: not counted
    new_ticket(at(2026, 2, 23, 0) + dt.timedelta(minutes=10), channel="web")  # previous, day 1
    new_ticket(at(2026, 2, 22, 23), channel="open311")  # before the previous period
    step(at(2026, 3, 2, 9), workflow.dispatch_ticket, a, departments["chengguan"],
         actor=staff["operator"])  # fmt: skip
    return db


def test_volumes_by_local_day_with_the_same_day_one_period_earlier(week: Session) -> None:
    rows = figures.volumes_by_date(week, WEEK)
    assert [row.key for row in rows] == [d.isoformat() for d in WEEK.dates()]
    assert {k: v for k, v in _counts(rows).items() if v != (0, 0)} == {
        "2026-03-02": (1, 1),  # previous: 2-23 00:10
        "2026-03-08": (1, 1),  # previous: 3-01 23:30
    }
    assert rows[0].change == 0.0


def test_volumes_by_week_and_month(week: Session) -> None:
    assert _counts(figures.volumes_by_date(week, WEEK, grain="week")) == {"2026-03-02": (2, 2)}
    assert _counts(figures.volumes_by_date(week, WEEK, grain="month")) == {"2026-03-01": (2, 2)}
    with pytest.raises(ValueError):
        figures.volumes_by_date(week, WEEK, grain="year")


def test_volumes_by_channel_kind_and_department(week: Session, departments: Any) -> None:
    assert _counts(figures.volumes_by(week, WEEK, "channel")) == {
        "web": (1, 1),
        "wechat": (0, 1),
        "telegram": (1, 0),
        "phone": (0, 0),
        "open311": (0, 0),
    }
    kinds = _counts(figures.volumes_by(week, WEEK, "kind"))
    assert kinds["complaint"] == (1, 2) and kinds["consultation"] == (1, 0)
    assert kinds["report"] == (0, 0)
    by_department = figures.volumes_by(week, WEEK, "department")
    chengguan = str(departments["chengguan"].id)
    assert _counts(by_department) == {chengguan: (1, 0), "": (1, 2)}
    assert [r.label for r in by_department if r.key == chengguan] == [departments["chengguan"].name]
    assert by_department[0].change is None  # nothing the period before


def test_a_department_sees_only_its_tickets(week: Session, departments: Any) -> None:
    chengguan = departments["chengguan"].id
    rows = figures.volumes_by_date(week, WEEK, department_id=chengguan, grain="week")
    assert _counts(rows) == {"2026-03-02": (1, 0)}
    empty = figures.volumes_by_date(week, WEEK, department_id=departments["rensha"].id)
    assert sum(r.current + r.previous for r in empty) == 0


# -- departments, across Spring Festival 2026 ---------------------------------------------------

FESTIVAL = Period(dt.date(2026, 2, 9), dt.date(2026, 2, 27))


def _minutes(moment: dt.datetime, minutes: int) -> dt.datetime:
    return moment + dt.timedelta(minutes=minutes)


@pytest.fixture
def festival(db: Session, new_ticket: Any, step: Any, departments: Any, staff: Any) -> Session:
    calendar = load_calendar(db)
    assert calendar.is_workday(dt.date(2026, 2, 14)) and not calendar.is_workday(
        dt.date(2026, 2, 16)
    ), "the data set assumes the 2026 Spring Festival schedule"
    cg, zj = departments["chengguan"], departments["zhujian"]
    op, clerk, other, rv = staff["operator"], staff["dept"], staff["other_dept"], staff["reviewer"]

    # T1: dispatched Thu 2-12, review due 2-24 (2-13, Sat 2-14, then 2-24), accepted 23:30 on
    # the due date: on time. Urged once. Replied 2-25 (handling due 3-11): on time, 4 working
    # days after dispatch (2-13, 2-14, 2-24, 2-25).
    t1 = new_ticket(at(2026, 2, 12, 9))
    step(at(2026, 2, 12, 10), workflow.dispatch_ticket, t1, cg, actor=op)
    assert t1.review_due == dt.date(2026, 2, 24)
    step(at(2026, 2, 24, 12), workflow.urge_ticket, t1, actor=op)
    step(_minutes(at(2026, 2, 24, 23), 30), workflow.accept_ticket, t1, actor=clerk)
    step(at(2026, 2, 25, 10), workflow.reply_ticket, t1, actor=clerk, reply="已修复。")

    # T2: a consultation dispatched 2-12 (review due 2-24, handling due 2-26), accepted 2-25:
    # late; replied 2-26 10:00: on time, 5 working days; the reviewer transfers it to 住建 2-27.
    t2 = new_ticket(at(2026, 2, 12, 9), kind="consultation")
    step(at(2026, 2, 12, 10), workflow.dispatch_ticket, t2, cg, actor=op)
    assert t2.handling_due == dt.date(2026, 2, 26)
    step(at(2026, 2, 25, 9), workflow.accept_ticket, t2, actor=clerk)
    step(at(2026, 2, 26, 10), workflow.reply_ticket, t2, actor=clerk, reply="请咨询社区。")
    step(at(2026, 2, 27, 10), workflow.transfer_ticket, t2, zj, actor=rv, reason="不属城管")

    # T3: dispatched 2-13, returned to the operator the same day (review on time), then to 住建,
    # which accepts it only after the period.
    t3 = new_ticket(at(2026, 2, 13, 9))
    step(at(2026, 2, 13, 10), workflow.dispatch_ticket, t3, cg, actor=op)
    step(at(2026, 2, 13, 15), workflow.return_to_operator, t3, actor=clerk, reason="非本部门")
    step(at(2026, 2, 13, 16), workflow.dispatch_ticket, t3, zj, actor=op)
    step(at(2026, 2, 28, 10), workflow.accept_ticket, t3, actor=other)

    # T4: dispatched before the period (not received in it), accepted in it on time (due 2-11).
    t4 = new_ticket(at(2026, 2, 6, 9))
    step(at(2026, 2, 6, 10), workflow.dispatch_ticket, t4, cg, actor=op)
    step(at(2026, 2, 10, 10), workflow.accept_ticket, t4, actor=clerk)
    return db


def _department(rows: list[figures.DepartmentRow], department: Any) -> figures.DepartmentRow:
    return next(row for row in rows if row.department_id == department.id)


def test_department_figures_across_a_holiday(festival: Session, departments: Any) -> None:
    rows = figures.departments_figures(festival, FESTIVAL)
    cg = _department(rows, departments["chengguan"])
    assert (cg.received, cg.reviews, cg.reviews_on_time) == (3, 4, 3)
    assert cg.review_on_time == 75.0
    assert (cg.replies, cg.replies_on_time, cg.handling_on_time) == (2, 2, 100.0)
    assert cg.avg_reply_workdays == 4.5
    assert (cg.returns, cg.rereview_failures, cg.urges) == (1, 1, 1)
    zj = _department(rows, departments["zhujian"])
    assert (zj.received, zj.reviews, zj.review_on_time, zj.rereview_failures) == (2, 0, None, 0)


def test_a_department_with_no_tickets(festival: Session, departments: Any) -> None:
    rows = figures.departments_figures(festival, FESTIVAL, department_id=departments["rensha"].id)
    assert len(rows) == 1
    row = rows[0]
    assert (row.received, row.reviews, row.replies, row.returns, row.urges) == (0, 0, 0, 0, 0)
    assert (row.review_on_time, row.handling_on_time, row.avg_reply_workdays) == (None,) * 3
    assert (row.warning, row.yellow, row.red) == (0, 0, 0)


def test_cards_are_the_current_ones(festival: Session, departments: Any) -> None:
    with clock.frozen(at(2026, 3, 10, 10)):
        refresh_supervision(festival, full=True)
        festival.commit()
        rows = figures.departments_figures(festival, FESTIVAL)
    # T2 at 住建 since Fri 2-27: review due 3-03 (Sat 2-28 worked, 3-02, 3-03): red on 3-10.
    # T3 at 住建 in handling, due 3-12: normal. T1 is in re-review: no card. T4 at 城管 in
    # handling since its dispatch on 2-06, due 3-05 (15 working days): red.
    zj = _department(rows, departments["zhujian"])
    assert (zj.warning, zj.yellow, zj.red) == (0, 0, 1)
    cg = _department(rows, departments["chengguan"])
    assert (cg.warning, cg.yellow, cg.red) == (0, 0, 1)
    with clock.frozen(at(2026, 3, 5, 10)):
        refresh_supervision(festival, full=True)
        festival.commit()
        rows = figures.departments_figures(festival, FESTIVAL)
    assert _department(rows, departments["chengguan"]).warning == 1  # its due date


def test_a_return_to_the_operator_is_judged_on_the_clock_it_ended(
    db: Session, new_ticket: Any, step: Any, departments: Any, staff: Any
) -> None:
    # Dispatched Mon 3-02 (review due 3-04), returned the next day and not dispatched again yet:
    # a review on time, although the ticket has no deadline any more.
    ticket = new_ticket(at(2026, 3, 2, 9))
    step(at(2026, 3, 2, 10), workflow.dispatch_ticket, ticket, departments["chengguan"],
         actor=staff["operator"])  # fmt: skip
    step(at(2026, 3, 3, 10), workflow.return_to_operator, ticket, actor=staff["dept"],
         reason="非本部门")  # fmt: skip
    assert ticket.review_due is None
    row = _department(
        figures.departments_figures(db, Period(dt.date(2026, 3, 2), dt.date(2026, 3, 6))),
        departments["chengguan"],
    )
    assert (row.reviews, row.reviews_on_time, row.returns) == (1, 1, 1)


def _migration(name: str) -> Any:
    path = next((Path(__file__).resolve().parents[2] / "migrations" / "versions").glob(name))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_fills_in_earlier_steps_as_the_workflow_writes_them(
    festival: Session,
) -> None:
    """0014 fills the deadline of steps written before it: on the ticket's current clock from the
    ticket, on a replaced one (T2's before its transfer, T3's return) from the start before."""
    judged = TicketEvent.action.in_(figures.JUDGED_ACTIONS)
    written = festival.execute(
        select(TicketEvent.id, TicketEvent.due_date, TicketEvent.clock_start).where(judged)
    ).all()
    assert len(written) == 7 and all(due is not None for _, due, _ in written)
    festival.execute(update(TicketEvent).values(due_date=None, clock_start=None))
    migration = _migration("0014_*.py")
    with Operations.context(MigrationContext.configure(festival.connection())):
        migration._fill_current_clocks()
        migration._fill_earlier_clocks()
    festival.expire_all()
    filled = festival.execute(
        select(TicketEvent.id, TicketEvent.due_date, TicketEvent.clock_start).where(judged)
    ).all()
    assert sorted(filled) == sorted(written)


def test_an_early_range_sees_none_of_it(festival: Session, departments: Any) -> None:
    rows = figures.departments_figures(festival, Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    assert all(row.received == row.reviews == row.replies == 0 for row in rows)


# -- citizens -----------------------------------------------------------------------------------

SURVEY_WEEK = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 6))


def test_no_surveys(db: Session, departments: Any) -> None:
    result = figures.citizen_figures(db, SURVEY_WEEK)
    assert (result.satisfaction, result.callback_rate, result.survey_response_rate) == (None,) * 3
    assert result.reopened == 0


def test_citizen_figures(db: Session, make_ticket: Any, step: Any, staff: Any) -> None:
    handled = [make_ticket("re_review", when=at(2026, 2, 27, 10)) for _ in range(5)]
    s1, s2, s3, s4, s5 = handled
    for ticket in (s1, s2, s3, s4):
        step(at(2026, 3, 2, 10), workflow.pass_review, ticket, actor=staff["reviewer"])
    step(at(2026, 3, 5, 10), workflow.pass_review, s5, actor=staff["reviewer"])  # still waiting
    op = staff["operator"]
    step(at(2026, 3, 3, 10), workflow.record_callback, s1, actor=op, satisfaction="satisfied")
    citizen = CitizenActor(s2.citizen_id, s2.channel)
    step(at(2026, 3, 3, 11), workflow.answer_survey, s2, actor=citizen,
         satisfaction="basically_satisfied")  # fmt: skip
    step(at(2026, 3, 4, 10), workflow.record_callback, s3, actor=op, satisfaction="unsatisfied")
    step(at(2026, 3, 6, 10), workflow.close_without_response, s4, actor=SYSTEM)

    result = figures.citizen_figures(db, SURVEY_WEEK)
    assert (result.answered, result.satisfied) == (3, 2)
    assert round(result.satisfaction or 0, 2) == 66.67
    assert (result.closed_handled, result.called_back, result.callback_rate) == (4, 3, 75.0)
    assert (result.surveys_sent, result.surveys_responded) == (5, 3)
    assert result.survey_response_rate == 60.0

    # the supervisor reopens the unsatisfied one: it is no longer closed
    step(at(2026, 3, 5, 10), workflow.reopen_ticket, s3, actor=staff["supervisor"], reason="复查")
    result = figures.citizen_figures(db, SURVEY_WEEK)
    assert (result.reopened, result.closed_handled, result.called_back) == (1, 3, 2)
    # the survey of the 3rd still counts: it was answered in the range
    assert (result.answered, result.satisfied) == (3, 2)
    other = figures.citizen_figures(
        db, SURVEY_WEEK, department_id=staff["other_dept"].department_id
    )
    assert (other.answered, other.surveys_sent, other.satisfaction) == (0, 0, None)


# -- calls (calls.figures' definitions over a range) --------------------------------------------


def _t(day: int, hour: int, minute: int = 0, second: int = 0) -> str:
    return (at(2026, 3, day, hour) + dt.timedelta(minutes=minute, seconds=second)).isoformat()


CALLS = [
    {"type": "offered", "call_id": "X", "at": _t(10, 23, 59, 50), "queue": "综合"},
    {"type": "answered", "call_id": "X", "at": _t(11, 0, 0, 20), "agent": "8001"},  # 30 s
    {"type": "offered", "call_id": "Y", "at": _t(10, 9), "queue": "综合"},
    {"type": "answered", "call_id": "Y", "at": _t(10, 9, 0, 10), "agent": "8001"},  # 10 s
    {"type": "offered", "call_id": "Z", "at": _t(11, 8), "queue": "专席 人社"},
    {"type": "abandoned", "call_id": "Z", "at": _t(11, 8, 0, 40)},
    {"type": "offered", "call_id": "W", "at": _t(11, 8, 10), "queue": "专席 人社"},
    {"type": "answered", "call_id": "W", "at": _t(11, 8, 10, 5), "agent": "8002"},  # 5 s
]


@pytest.fixture
def calls(db: Session) -> Session:
    system = CtiSystem(name="test", created_at=clock.now())
    db.add(system)
    db.flush()
    with clock.frozen(at(2026, 3, 12, 12)):
        events, _ = parse_events({"events": CALLS})
        ingest_events(db, system, events)
    db.commit()
    return db


def _contact(rows: list[figures.ContactRow]) -> dict[Any, tuple[Any, ...]]:
    return {r.queue: (r.offered, r.answered, r.answer_rate, r.avg_wait, r.p90_wait) for r in rows}


def test_calls_across_midnight_count_on_the_day_offered(calls: Session) -> None:
    day = Period(dt.date(2026, 3, 10), dt.date(2026, 3, 10))
    assert _contact(figures.call_figures(calls, day)) == {
        "综合": (2, 2, 100.0, 20.0, 30.0),
        None: (2, 2, 100.0, 20.0, 30.0),
    }
    # the switchboard's own figures of that day say the same
    total = day_figures(calls, dt.date(2026, 3, 10)).total
    assert total is not None and (total.offered, total.avg_wait, total.p90_wait) == (2, 20.0, 30)
    next_day = Period(dt.date(2026, 3, 11), dt.date(2026, 3, 11))
    assert _contact(figures.call_figures(calls, next_day))[None] == (2, 1, 50.0, 5.0, 5.0)


def test_calls_over_two_days_by_queue_against_the_targets(calls: Session) -> None:
    rows = figures.call_figures(calls, Period(dt.date(2026, 3, 10), dt.date(2026, 3, 11)))
    assert _contact(rows) == {
        "专席 人社": (2, 1, 50.0, 5.0, 5.0),
        "综合": (2, 2, 100.0, 20.0, 30.0),
        None: (4, 3, 75.0, 15.0, 30.0),
    }
    total = rows[-1]
    assert (total.meets_answer_target, total.meets_wait_target) == (False, True)
    assert figures.call_figures(calls, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 1))) == []


# -- chats and self-service ---------------------------------------------------------------------


def _conversation(db: Session, user: str, wrote: dt.datetime, citizen_id: int | None = None):
    conversation = Conversation(
        channel="web", user_id=user, citizen_id=citizen_id, created_at=wrote, updated_at=wrote
    )
    db.add(conversation)
    db.flush()
    db.add(ChatMessage(conversation_id=conversation.id, sender="citizen", text="你好",
                       created_at=wrote))  # fmt: skip
    return conversation


def _handoff(db: Session, conversation: Conversation, queue: str, at_: dt.datetime, wait: float | None,
             status: str = "ended") -> None:  # fmt: skip
    db.add(
        Handoff(
            conversation_id=conversation.id,
            queue=queue,
            status=status,
            reason="asked",
            handed_off_at=at_,
            picked_up_at=None if wait is None else at_ + dt.timedelta(seconds=wait),
            wait_seconds=wait,
        )
    )


@pytest.fixture
def chats(db: Session, new_ticket: Any) -> Session:
    ten = at(2026, 3, 10, 10)
    self_served = _conversation(db, "u1", ten)
    specialist = _conversation(db, "u2", ten)
    _handoff(db, specialist, "specialist", ten, 20)
    general = [_conversation(db, f"g{n}", ten) for n in range(3)]
    _handoff(db, general[0], "general", ten, 40)
    _handoff(db, general[1], "general", ten, None, status="waiting")
    _handoff(db, general[2], "general", ten, None)  # cancelled
    ticketed = new_ticket(at(2026, 3, 10, 11), channel="web", user="u9")
    _conversation(db, "u9", ten, citizen_id=ticketed.citizen_id)
    _conversation(db, "u10", at(2026, 3, 12, 10))  # wrote after the range
    assert self_served.id
    for normalized, count, status, seen in [
        ("公积金怎么提取", 5, "open", ten),
        ("护照办理", 9, "open", ten),
        ("社保卡补办", 20, "attached", ten),
        ("旧问题", 30, "open", at(2026, 3, 1, 10)),
    ]:
        db.add(KnowledgeGap(normalized=normalized, sample=normalized, count=count, status=status,
                            channels=["web"], first_seen=seen, last_seen=seen))  # fmt: skip
    db.commit()
    return db


DAY = Period(dt.date(2026, 3, 10), dt.date(2026, 3, 10))


def test_chat_hand_offs_by_queue(chats: Session) -> None:
    assert _contact(figures.chat_rows(chats, DAY)) == {
        "specialist": (1, 1, 100.0, 20.0, 20.0),
        "general": (3, 1, 50.0, 40.0, 40.0),  # one still waiting: not decided yet
        None: (4, 2, pytest.approx(66.667, abs=0.001), 30.0, 40.0),
    }


def test_self_service_share_and_top_unanswered_questions(chats: Session) -> None:
    result = figures.self_service(chats, DAY)
    # six conversations wrote on the 10th: four handed off, one had a ticket, one self-served
    assert (result.conversations, result.self_served) == (6, 1)
    assert [gap.normalized for gap in result.gaps] == ["护照办理", "公积金怎么提取"]
    empty = figures.self_service(chats, Period(dt.date(2026, 2, 1), dt.date(2026, 2, 1)))
    assert (empty.conversations, empty.share, empty.gaps) == (0, None, [])


def test_the_whole_dashboard(week: Session, departments: Any) -> None:
    board = figures.dashboard(week, WEEK, grain="week")
    assert (board.total.current, board.total.previous) == (2, 2)
    assert set(board.by_dimension) == set(figures.DIMENSIONS)
    assert board.self_service is not None and board.calls == [] and board.chats != []
    one = figures.dashboard(week, WEEK, department_id=departments["chengguan"].id)
    assert one.self_service is None and one.chats == []
    assert [row.department_id for row in one.departments] == [departments["chengguan"].id]
