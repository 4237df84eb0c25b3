"""Deadline policies (tickets.policies): due dates and cards on a hand-checked calendar.

The business-request policy (企业诉求) below is Zhuhai's: the department responds within 1
working hour, a consultation is closed within 2 working days, anything else within 4; working
hours 08:30–12:00 and 14:30–17:30. The 2026 calendar (official schedule) used by hand:
Labour Day Fri 05-01 – Tue 05-05 off, Sat 05-09 a 调休 working day; Tue 03-10 an ordinary week.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import clock
from core.errors import PermissionDenied, ValidationError
from directory.models import Category
from tickets import workflow
from tickets.calendar import load_calendar, set_calendar_override
from tickets.models import DeadlinePolicy, Ticket
from tickets.policies import (
    create_deadline_policy,
    deactivate_deadline_policy,
    matching_policy,
    policy_deadlines,
)
from tickets.sla import InvalidDeadline, WorkCalendar, WorkingHours
from tickets.supervision import refresh_supervision

pytestmark = pytest.mark.date_matrix

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def business_policy(db, staff, **overrides) -> DeadlinePolicy:
    values = {
        "code": "business",
        "name": "企业诉求",
        "business_only": True,
        "review_hours": 1,
        "total_days": {"consultation": 2},
        "default_total_days": 4,
        "working_hours": "08:30-12:00,14:30-17:30",
    }
    values.update(overrides)
    policy = create_deadline_policy(db, actor=staff["admin"], **values)
    db.commit()
    return policy


def dispatched(db, make_ticket, departments, staff, moment, *, kind="complaint", business=True):
    ticket = make_ticket("submitted", kind=kind, when=moment)
    with clock.frozen(moment):
        if business:
            workflow.set_business_request(db, ticket, True, actor=staff["operator"])
        workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    db.commit()
    return ticket


# -- working hours, pure ------------------------------------------------------------------------

HOURS = WorkingHours.parse("08:30-12:00,14:30-17:30")
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        # across the lunch break: 30 minutes before noon, 30 after 14:30
        (local(2026, 3, 10, 11, 30), 60, local(2026, 3, 10, 15, 0)),
        # ending exactly when the morning ends stays there
        (local(2026, 3, 10, 11, 0), 60, local(2026, 3, 10, 12, 0)),
        # in the lunch break: the clock starts at 14:30
        (local(2026, 3, 10, 13, 0), 60, local(2026, 3, 10, 15, 30)),
        # in the evening: the next working morning
        (local(2026, 3, 10, 20, 0), 60, local(2026, 3, 11, 9, 30)),
        # across a weekend: Fri 17:00 → 30 minutes, then Monday 08:30 + 30
        (local(2026, 3, 13, 17, 0), 60, local(2026, 3, 16, 9, 0)),
        # across Labour Day (05-01 – 05-05 off): Thu 04-30 17:00 → Wed 05-06 09:00
        (local(2026, 4, 30, 17, 0), 60, local(2026, 5, 6, 9, 0)),
        # onto a 调休 Saturday: Fri 05-08 17:15 → Sat 05-09 09:15
        (local(2026, 5, 8, 17, 15), 60, local(2026, 5, 9, 9, 15)),
        # a whole working day is 6.5 hours: Tue 08:30 + 7 h → Wed 09:00
        (local(2026, 3, 10, 8, 30), 420, local(2026, 3, 11, 9, 0)),
    ],
)
def test_working_hours_skip_lunch_nights_weekends_and_holidays(start, minutes, due) -> None:
    assert HOURS.add(start, minutes, CAL) == due


def test_working_hours_follow_staff_overrides() -> None:
    calendar = WorkCalendar({D(2026, 3, 16): False})  # Monday made a holiday by staff
    assert HOURS.add(local(2026, 3, 13, 17, 0), 60, calendar) == local(2026, 3, 17, 9, 0)


@pytest.mark.parametrize(
    "text", ["", "08:30", "12:00-08:30", "08:30-12:00,11:00-14:00", "8点半-12点"]
)
def test_bad_working_hours_are_refused(text: str) -> None:
    with pytest.raises(InvalidDeadline):
        WorkingHours.parse(text)


def test_parse_reads_the_chinese_comma_and_prints_canonically() -> None:
    assert str(WorkingHours.parse("8:30-12:00， 14:30-17:30")) == "08:30-12:00,14:30-17:30"


# -- the policy's deadlines on tickets ------------------------------------------------------------


def test_business_complaint_across_the_lunch_break(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 10, 11, 30))
    assert ticket.deadline_policy_id is not None
    assert ticket.review_due_at == local(2026, 3, 10, 15, 0)
    assert ticket.review_due == D(2026, 3, 10)
    assert ticket.due_at == ticket.review_due_at and ticket.due_date == D(2026, 3, 10)
    # anything else: 4 working days, the dispatch day not counted (11, 12, 13, 16)
    assert ticket.handling_due == D(2026, 3, 16) and ticket.handling_due_at is None
    assert ticket.total_days == 4
    assert ticket.supervision == "warning"  # due today, not yet passed


def test_business_consultation_across_labour_day(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    moment = local(2026, 4, 30, 17, 0)
    ticket = dispatched(db, make_ticket, departments, staff, moment, kind="consultation")
    assert ticket.review_due_at == local(2026, 5, 6, 9, 0)
    assert ticket.handling_due == D(2026, 5, 7)  # 05-06, 05-07
    assert ticket.supervision == "normal"
    complaint = dispatched(db, make_ticket, departments, staff, moment)
    assert complaint.handling_due == D(2026, 5, 9)  # 05-06, 07, 08 and the 调休 Saturday


def test_the_default_stays_for_other_tickets(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    moment = local(2026, 3, 10, 11, 30)
    ordinary = dispatched(db, make_ticket, departments, staff, moment, business=False)
    assert ordinary.deadline_policy_id is None
    assert ordinary.review_due_at is None and ordinary.due_at is None
    assert ordinary.review_due == D(2026, 3, 13)  # 3 working days
    assert ordinary.handling_due == D(2026, 3, 31)  # 15 working days
    assert ordinary.total_days == 15


def test_a_category_policy_and_both_conditions(db, make_ticket, departments, staff) -> None:
    categories = list(db.scalars(select(Category).order_by(Category.id)).all())[:2]
    assert len(categories) == 2
    policy = create_deadline_policy(
        db,
        actor=staff["admin"],
        code="fast",
        name="快办",
        category_codes=[categories[0].code],
        review_days=1,
        default_total_days=3,
    )
    both = business_policy(db, staff, code="both", category_codes=[categories[1].code])
    db.commit()
    ticket = make_ticket("submitted", when=local(2026, 3, 10, 10))
    ticket.category_id = categories[0].id
    assert matching_policy(db, ticket) == policy
    ticket.category_id = categories[1].id
    assert matching_policy(db, ticket) is None  # the second needs the business flag too
    ticket.business_request = True
    assert matching_policy(db, ticket) == both
    ticket.category_id = None
    assert matching_policy(db, ticket) is None
    ticket.category_id = categories[0].id
    with clock.frozen(local(2026, 3, 10, 10)):
        workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    assert ticket.deadline_policy_id == policy.id
    assert (ticket.review_due, ticket.review_due_at) == (D(2026, 3, 11), None)
    assert ticket.handling_due == D(2026, 3, 13)


def test_the_ticket_keeps_its_policy(db, make_ticket, departments, staff) -> None:
    policy = business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 10, 11, 30))
    deactivate_deadline_policy(db, policy.id, actor=staff["admin"])
    with clock.frozen(local(2026, 3, 10, 12, 0)):
        workflow.accept_ticket(db, ticket, actor=staff["dept"])
    assert ticket.deadline_policy_id == policy.id
    assert ticket.due_date == D(2026, 3, 16) and ticket.due_at is None
    later = dispatched(db, make_ticket, departments, staff, local(2026, 3, 10, 14))
    assert later.deadline_policy_id is None and later.handling_due == D(2026, 3, 31)


def test_a_returned_ticket_takes_the_reviewers_choice(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 10, 9))
    with clock.frozen(local(2026, 3, 10, 9, 10)):
        workflow.accept_ticket(db, ticket, actor=staff["dept"])
        workflow.reply_ticket(db, ticket, actor=staff["dept"], reply="已处理。")
        workflow.return_to_department(
            db, ticket, actor=staff["reviewer"], total_days=5, reason="答复不完整"
        )
    assert ticket.deadline_policy_id is None and ticket.due_at is None
    assert (ticket.review_due, ticket.handling_due) == (D(2026, 3, 13), D(2026, 3, 17))


def test_cards_follow_the_working_hour(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 10, 11, 30))
    ordinary = dispatched(
        db, make_ticket, departments, staff, local(2026, 3, 10, 11, 30), business=False
    )

    def status_at(moment: dt.datetime) -> tuple[str | None, str | None]:
        with clock.frozen(moment):
            refresh_supervision(db, full=True)
        db.commit()
        db.expire_all()
        return db.get(Ticket, ticket.id).supervision, db.get(Ticket, ordinary.id).supervision

    assert status_at(local(2026, 3, 10, 14, 59)) == ("warning", "normal")
    assert status_at(local(2026, 3, 10, 15, 0)) == ("yellow", "normal")
    assert status_at(local(2026, 3, 11, 9)) == ("yellow", "normal")  # 1st working day after
    assert status_at(local(2026, 3, 12, 9)) == ("red", "normal")
    assert status_at(local(2026, 3, 13, 20)) == ("red", "warning")
    # the day ladder for the handling deadline (Mon 03-16, to the end of the day)
    with clock.frozen(local(2026, 3, 12, 10)):
        workflow.accept_ticket(db, ticket, actor=staff["dept"])
    db.commit()
    assert ticket.supervision == "normal"
    # the ordinary ticket's review is due Fri 03-13 (3 working days): the seed's ladder
    assert status_at(local(2026, 3, 14, 10)) == ("normal", "warning")
    assert status_at(local(2026, 3, 16, 18)) == ("warning", "yellow")
    assert status_at(local(2026, 3, 17, 9)) == ("yellow", "red")
    assert status_at(local(2026, 3, 18, 9)) == ("red", "red")


def test_a_passed_hour_before_a_weekend_is_yellow_then_red(
    db, make_ticket, departments, staff
) -> None:
    business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 13, 9))
    assert ticket.review_due_at == local(2026, 3, 13, 10, 0)
    for moment, expected in [
        (local(2026, 3, 13, 9, 59), "warning"),
        (local(2026, 3, 13, 10, 1), "yellow"),
        (local(2026, 3, 14, 10), "yellow"),  # Saturday: late already
        (local(2026, 3, 16, 10), "yellow"),  # Monday: the 1st working day after
        (local(2026, 3, 17, 10), "red"),
    ]:
        with clock.frozen(moment):
            refresh_supervision(db, full=True)
        db.commit()
        db.expire_all()
        assert db.get(Ticket, ticket.id).supervision == expected, moment


def test_a_calendar_override_moves_policy_deadlines(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 13, 17, 0))
    ordinary = dispatched(
        db, make_ticket, departments, staff, local(2026, 3, 13, 17, 0), business=False
    )
    assert ticket.review_due_at == local(2026, 3, 16, 9, 0)
    assert ticket.handling_due == D(2026, 3, 19)
    with clock.frozen(local(2026, 3, 13, 18)):
        set_calendar_override(db, D(2026, 3, 16), False, actor=staff["admin"])
    db.commit()
    db.expire_all()
    moved = db.get(Ticket, ticket.id)
    assert moved.review_due_at == local(2026, 3, 17, 9, 0)
    assert moved.due_at == moved.review_due_at and moved.due_date == D(2026, 3, 17)
    assert moved.handling_due == D(2026, 3, 20)
    assert db.get(Ticket, ordinary.id).review_due == D(2026, 3, 19)  # 17, 18, 19


def test_policy_deadlines_directly_on_a_staff_calendar(db, staff) -> None:
    policy = business_policy(db, staff)
    calendar = load_calendar(db)
    deadlines = policy_deadlines(
        policy, "report", local(2026, 2, 13, 17, 0), calendar, "Asia/Shanghai"
    )
    # Spring Festival: Sat 02-14 is a 调休 working day, 02-15 – 02-23 off
    assert deadlines.review_at == local(2026, 2, 14, 9, 0)
    assert deadlines.handling == D(2026, 2, 26)  # 02-14, 24, 25, 26


def test_only_admins_manage_policies_and_operators_flag(db, make_ticket, staff) -> None:
    with pytest.raises(PermissionDenied):
        business_policy(db, {"admin": staff["operator"]})
    ticket = make_ticket("submitted")
    with pytest.raises(PermissionDenied):
        workflow.set_business_request(db, ticket, True, actor=staff["dept"])
    event = workflow.set_business_request(db, ticket, True, actor=staff["operator"])
    assert event is not None and event.data == {"business_request": True} and not event.public
    assert workflow.set_business_request(db, ticket, True, actor=staff["operator"]) is None


def test_a_dispatched_ticket_cannot_be_flagged(db, make_ticket, staff) -> None:
    ticket = make_ticket("dept_review")
    with pytest.raises(workflow.StageError):
        workflow.set_business_request(db, ticket, True, actor=staff["operator"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"business_only": False}, "business_only"),
        ({"review_hours": None}, "review"),
        ({"review_days": 2}, "review"),
        ({"review_hours": 0}, "review"),
        ({"default_total_days": 0}, "default_total_days"),
        ({"total_days": {"petition": 3}}, "total_days"),
        ({"working_hours": "整天"}, "working_hours"),
        ({"category_codes": ["no-such-category"]}, "categories"),
        ({"code": ""}, "code"),
    ],
)
def test_bad_policies_are_refused(db, staff, overrides, field) -> None:
    with pytest.raises(ValidationError) as error:
        business_policy(db, staff, **overrides)
    assert field in error.value.fields
    assert db.scalar(select(DeadlinePolicy.id)) is None


def test_a_code_is_used_once(db, staff) -> None:
    business_policy(db, staff)
    with pytest.raises(ValidationError) as error:
        business_policy(db, staff, name="另一条")
    assert "code" in error.value.fields


def test_the_daily_band_refresh_sees_a_passed_hour(db, make_ticket, departments, staff) -> None:
    business_policy(db, staff)
    ticket = dispatched(db, make_ticket, departments, staff, local(2026, 3, 10, 11, 30))
    with clock.frozen(local(2026, 3, 10, 14, 50)):
        refresh_supervision(db, full=True)
    db.commit()
    with clock.frozen(local(2026, 3, 10, 15, 10)):
        assert refresh_supervision(db) == 1  # the run remembered today; the band includes it
    db.commit()
    db.expire_all()
    assert db.get(Ticket, ticket.id).supervision == "yellow"
