"""Lead and co-handling departments (主办 / 协办): tickets.cohandling."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, PermissionDenied, ValidationError
from directory.models import Category, Department, Role, StaffUser
from tests.conftest import workdays_ago
from tickets import catalogue, cohandling, workflow
from tickets.models import Ticket, TicketEvent
from tickets.supervision import refresh_supervision
from tickets.workflow import StageError

pytestmark = pytest.mark.date_matrix


@pytest.fixture
def shared(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    make_ticket: Callable[..., Ticket],
) -> Ticket:
    """A housing ticket led by 城管 (chengguan); the catalogue lets 住建 (zhujian) co-handle."""
    housing = db.scalar(select(Category).where(Category.code == "housing"))
    assert housing is not None
    catalogue.set_catalogue_entry(
        db, housing, departments["chengguan"], [departments["zhujian"]], actor=staff["admin"]
    )
    ticket = make_ticket("dept_review")
    ticket.category_id = housing.id
    db.commit()
    db.refresh(ticket)
    return ticket


def test_the_operator_shares_a_ticket_with_a_catalogued_co_handler(
    db: Session, departments: dict[str, Department], staff: dict[str, StaffUser], shared: Ticket
) -> None:
    rows = cohandling.assign_co_handlers(
        db, shared, [departments["zhujian"]], actor=staff["operator"]
    )
    db.commit()
    assert [r.department_id for r in rows] == [departments["zhujian"].id]
    assert [c.department_id for c in shared.co_handlers] == [departments["zhujian"].id]
    event = db.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == shared.id).order_by(TicketEvent.id)
    ).all()[-1]
    assert event.action == "assign_co_handlers" and not event.public
    assert event.data == {"departments": ["zhujian"], "outside_catalogue": False}
    assert event.from_stage == event.to_stage == "dept_review"
    # The co-handling clerk sees the ticket; the lead stays the ticket's department.
    assert workflow.access.can(staff["other_dept"], "view", shared)
    assert shared.department_id == departments["chengguan"].id


def test_refused_assignments_change_nothing(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    shared: Ticket,
    make_ticket: Callable[..., Ticket],
) -> None:
    with pytest.raises(ValidationError):  # the lead itself
        cohandling.assign_co_handlers(
            db, shared, [departments["chengguan"]], actor=staff["operator"]
        )
    with pytest.raises(ValidationError):  # not in the catalogue for this category
        cohandling.assign_co_handlers(
            db, shared, [departments["shengtai"]], actor=staff["operator"]
        )
    with pytest.raises(ValidationError):  # nobody
        cohandling.assign_co_handlers(db, shared, [], actor=staff["operator"])
    for role in ("reviewer", "supervisor", "admin", "dept", "other_dept"):
        with pytest.raises(PermissionDenied):
            cohandling.assign_co_handlers(db, shared, [departments["zhujian"]], actor=staff[role])
    submitted = make_ticket("submitted")
    with pytest.raises(StageError):  # dispatch first
        cohandling.assign_co_handlers(
            db, submitted, [departments["zhujian"]], actor=staff["operator"], outside_catalogue=True
        )
    db.rollback()
    assert db.get(Ticket, shared.id).co_handlers == []
    # Outside the catalogue when the operator says so, recorded as such.
    cohandling.assign_co_handlers(
        db, shared, [departments["shengtai"]], actor=staff["operator"], outside_catalogue=True
    )
    assert [c.department.code for c in shared.co_handlers] == ["shengtai"]


def test_the_co_handler_adds_its_part_once_and_the_lead_replies(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    shared: Ticket,
    make_staff: Callable[..., StaffUser],
) -> None:
    cohandling.assign_co_handlers(db, shared, [departments["zhujian"]], actor=staff["operator"])
    co_clerk = staff["other_dept"]  # 住建
    lead_clerk = staff["dept"]  # 城管
    with pytest.raises(PermissionDenied):  # the lead does not co-handle
        cohandling.add_co_handler_part(db, shared, actor=lead_clerk, text="x")
    with pytest.raises(PermissionDenied):  # a department that was not asked
        cohandling.add_co_handler_part(
            db, shared, actor=make_staff(Role.DEPARTMENT, "shengtai"), text="x"
        )
    with pytest.raises(PermissionDenied):  # co-handlers do not accept or reply for the lead
        workflow.accept_ticket(db, shared, actor=co_clerk)
    with pytest.raises(ValidationError):
        cohandling.add_co_handler_part(db, shared, actor=co_clerk, text="  ")
    row = cohandling.add_co_handler_part(db, shared, actor=co_clerk, text="已核查，房屋无违建。")
    assert (row.part, row.part_by_id) == ("已核查，房屋无违建。", co_clerk.id)
    with pytest.raises(Conflict):
        cohandling.add_co_handler_part(db, shared, actor=co_clerk, text="again")
    workflow.accept_ticket(db, shared, actor=lead_clerk)
    workflow.reply_ticket(db, shared, actor=lead_clerk, reply="已会同住建局处理。")
    assert shared.stage == "re_review"
    db.commit()
    # Once the lead has replied, the share is over.
    with pytest.raises(StageError):
        cohandling.add_co_handler_part(db, shared, actor=co_clerk, text="late")


def test_co_handlers_see_their_own_overdue_parts(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    make_ticket: Callable[..., Ticket],
) -> None:
    # Dispatched 20 working days ago: the complaint's 15-working-day handling deadline is past.
    late = make_ticket("handling", when=workdays_ago(20))
    fresh = make_ticket("handling")
    for ticket in (late, fresh):
        cohandling.assign_co_handlers(
            db, ticket, [departments["zhujian"]], actor=staff["operator"], outside_catalogue=True
        )
    db.commit()
    items = cohandling.co_handler_items(db, departments["zhujian"].id)
    assert [(i.ticket.id, i.overdue) for i in items] == [(late.id, True), (fresh.id, False)]
    assert items[0].due == late.handling_due
    with clock.frozen(clock.now()):
        cohandling.add_co_handler_part(db, late, actor=staff["other_dept"], text="已提供意见")
    again = cohandling.co_handler_items(db, departments["zhujian"].id)
    assert [i.overdue for i in again] == [False, False]  # a part given is not overdue
    # Supervision follows the lead alone: the lead's own card, unchanged by the share.
    refresh_supervision(db, full=True)
    db.refresh(late)
    assert late.supervision == "red" and late.department_id == departments["chengguan"].id
    assert cohandling.co_handler_items(db, departments["shengtai"].id) == []
