"""Every role through every action of tickets.access, with a ticket of the clerk's own
department, another department's ticket, and no ticket. A new action must be added here."""

from __future__ import annotations

import pytest

from directory.models import StaffUser
from tickets.access import ACTIONS, SYSTEM, CitizenActor, can, mask_phone, visible_contact
from tickets.models import Ticket

# One letter per role keeps the matrix readable.
O, R, D, S, A = "operator", "reviewer", "department", "supervisor", "admin"  # noqa: E741
HOTLINE = {O, R, S, A}

# action → roles allowed (for department staff: on their own department's ticket only)
EXPECTED: dict[str, set[str]] = {
    "view": HOTLINE | {D},
    "view_contact": HOTLINE,
    "export": HOTLINE | {D},
    "submit": {O},
    "dispatch": {O},
    "resolve_directly": {O},
    "reject": {O},
    "merge": {O},
    "mark_urgent": {O, S},
    "accept": {D},
    "return_to_operator": {D},
    "reply": {D},
    "pass_review": {R, S},
    "transfer": {R, S},
    "return_to_department": {R, S},
    "record_callback": {O, R},
    "answer_survey": set(),
    "close_no_response": set(),
    "reopen": {S},
    "inspect_quality": {S},
    "overdue_board": {S, A},
    "chat": {O, R, S},
    "import_history": {A},
    "manage_dispatch_catalogue": {A},
    "assign_co_handlers": {O},
    "co_handle": set(),  # the lead's own clerk is no co-handler: see the test below
    "dispute_dispatch": {D},
    "decide_dispute": {O, S},
    "manage_deadline_policies": {A},
    "mark_business_request": {O},
    "manage_staff": {A},
    "manage_departments": {A},
    "manage_calendar": {A},
    "manage_knowledge": {A},
    "manage_outbox": {A},
}
# Department staff may do these without a ticket in hand (lists, exports).
DEPARTMENT_WITHOUT_TICKET = {"export"}


def _user(role: str, department_id: int | None = None, active: bool = True) -> StaffUser:
    return StaffUser(id=1, username=role, role=role, department_id=department_id, active=active)


OWN = Ticket(
    id=1, department_id=10, anonymous=False, contact_name="张三", contact_phone="13800138000"
)
OTHER = Ticket(id=2, department_id=20, anonymous=False)


def test_every_action_is_in_the_matrix() -> None:
    assert set(ACTIONS) == set(EXPECTED), "add the new action to EXPECTED"


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", [O, R, D, S, A])
def test_role_action(role: str, action: str) -> None:
    user = _user(role, department_id=10 if role == D else None)
    allowed = role in EXPECTED[action]
    if role == D:
        assert can(user, action, OWN) is allowed
        assert can(user, action, OTHER) is (action in DEPARTMENT_WITHOUT_TICKET)
        assert can(user, action, None) is (action in DEPARTMENT_WITHOUT_TICKET)
    else:
        assert can(user, action, OWN) is allowed
        assert can(user, action, None) is allowed


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_inactive_staff_may_do_nothing(action: str) -> None:
    for role in (O, R, D, S, A):
        assert not can(_user(role, 10, active=False), action, OWN)


def test_citizen_and_system_actors() -> None:
    citizen = CitizenActor(citizen_id=1, channel="web")
    allowed_citizen = {a for a in ACTIONS if can(citizen, a, OWN)}
    assert allowed_citizen == {"submit", "answer_survey"}
    assert {a for a in ACTIONS if can(SYSTEM, a, OWN)} == {
        "close_no_response",
        "import_history",
        "manage_dispatch_catalogue",
        "manage_deadline_policies",
    }


def test_department_never_sees_anonymous_identity_or_full_phone() -> None:
    clerk = _user(D, 10)
    assert visible_contact(clerk, OWN) == ("张三", "138****8000")
    anonymous = Ticket(
        id=3, department_id=10, anonymous=True, contact_name="李四", contact_phone="13912345678"
    )
    assert visible_contact(clerk, anonymous) == (None, None)
    assert visible_contact(_user(O), anonymous) == ("李四", "13912345678")
    assert mask_phone("1234") == "****"
    assert mask_phone(None) is None


def test_a_citizen_answers_only_their_own_survey() -> None:
    mine = Ticket(id=4, department_id=10, anonymous=False, citizen_id=7)
    assert can(CitizenActor(citizen_id=7, channel="wechat"), "answer_survey", mine)
    assert not can(CitizenActor(citizen_id=8, channel="wechat"), "answer_survey", mine)
    assert not can(CitizenActor(citizen_id=None, channel="web"), "answer_survey", mine)
    assert not can(CitizenActor(citizen_id=7, channel="wechat"), "answer_survey", None)


def test_a_co_handling_department_views_and_adds_its_part_only() -> None:
    from tickets.models import TicketCoHandler

    shared = Ticket(id=5, department_id=10, anonymous=False)
    shared.co_handlers = [TicketCoHandler(department_id=20)]
    lead, co, third = _user(D, 10), _user(D, 20), _user(D, 30)
    assert can(co, "view", shared) and can(co, "co_handle", shared)
    assert not can(lead, "co_handle", shared) and can(lead, "reply", shared)
    for action in ("accept", "reply", "return_to_operator", "view_contact"):
        assert not can(co, action, shared), action
    assert not can(third, "view", shared) and not can(third, "co_handle", shared)
    assert not can(_user(D, 20, active=False), "co_handle", shared)
    assert not can(_user(O), "co_handle", shared)
