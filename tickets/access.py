"""Who may do what to which ticket: the one place for access rules of the ticket domain.

One condition per line, so that a reader can check each rule against the spec and a test can walk
every role through every action. Adapters ask :func:`can` to decide what to show; the workflow
functions call :func:`require` before they change anything.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import PermissionDenied
from core.i18n import N_
from directory import access as directory_access
from directory.access import (
    HOTLINE_ROLES,
    SYSTEM,
    Actor,
    CitizenActor,
    SystemActor,
    has_role,
)
from directory.models import Role, StaffUser
from tickets.models import Ticket

__all__ = [
    "ACTIONS",
    "HOTLINE_ROLES",
    "RULES",
    "SYSTEM",
    "Actor",
    "CitizenActor",
    "StaffUser",
    "SystemActor",
    "can",
    "mask_phone",
    "require",
    "visible_contact",
]


def _is(actor: Actor, *roles: Role) -> bool:
    return has_role(actor, *roles)


def _own_department(actor: Actor, ticket: Ticket | None) -> bool:
    return (
        _is(actor, Role.DEPARTMENT)
        and ticket is not None
        and isinstance(actor, StaffUser)
        and ticket.department_id is not None
        and ticket.department_id == actor.department_id
    )


def _co_handler(actor: Actor, ticket: Ticket | None) -> bool:
    """Staff of a department the ticket's lead shares it with (协办, tickets.cohandling)."""
    return (
        _is(actor, Role.DEPARTMENT)
        and ticket is not None
        and isinstance(actor, StaffUser)
        and actor.department_id is not None
        and any(c.department_id == actor.department_id for c in ticket.co_handlers)
    )


def _citizen_of(actor: Actor, ticket: Ticket | None) -> bool:
    """The citizen the ticket belongs to. A ticket without a citizen (an API submission without
    a phone) is answered by whoever holds its signed survey link, which the adapter verified."""
    return (
        isinstance(actor, CitizenActor)
        and ticket is not None
        and (ticket.citizen_id is None or ticket.citizen_id == actor.citizen_id)
    )


Rule = Callable[[Actor, "Ticket | None"], bool]

RULES: dict[str, Rule] = {
    # Reading
    "view": lambda a, t: _is(a, *HOTLINE_ROLES) or _own_department(a, t) or _co_handler(a, t),
    "view_contact": lambda a, t: _is(a, *HOTLINE_ROLES),  # full phone, anonymous reporter
    "export": lambda a, t: _is(a, *HOTLINE_ROLES) or _is(a, Role.DEPARTMENT),
    # Operator review (操作员审核)
    "submit": lambda a, t: isinstance(a, CitizenActor) or _is(a, Role.OPERATOR),
    "dispatch": lambda a, t: _is(a, Role.OPERATOR),
    "resolve_directly": lambda a, t: _is(a, Role.OPERATOR),
    "reject": lambda a, t: _is(a, Role.OPERATOR),
    "merge": lambda a, t: _is(a, Role.OPERATOR),
    "mark_urgent": lambda a, t: _is(a, Role.OPERATOR, Role.SUPERVISOR),
    # Department (职能局审核, 处理)
    "accept": lambda a, t: _own_department(a, t),
    "return_to_operator": lambda a, t: _own_department(a, t),
    "reply": lambda a, t: _own_department(a, t),
    # Re-review (复核); supervisors act on tickets they reopened
    "pass_review": lambda a, t: _is(a, Role.REVIEWER, Role.SUPERVISOR),
    "transfer": lambda a, t: _is(a, Role.REVIEWER, Role.SUPERVISOR),
    "return_to_department": lambda a, t: _is(a, Role.REVIEWER, Role.SUPERVISOR),
    # Callback (回访)
    "record_callback": lambda a, t: _is(a, Role.OPERATOR, Role.REVIEWER),
    "answer_survey": lambda a, t: _citizen_of(a, t),
    "close_no_response": lambda a, t: isinstance(a, SystemActor),
    # Supervision
    "reopen": lambda a, t: _is(a, Role.SUPERVISOR),
    "inspect_quality": lambda a, t: _is(a, Role.SUPERVISOR),
    "overdue_board": lambda a, t: _is(a, Role.SUPERVISOR, Role.ADMIN),
    # Chats handed off by the conversation engine (bot.engine.handoff)
    "chat": lambda a, t: _is(a, Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR),
    # Dispatch (tickets.history): the previous system's closed tickets, by an admin or the
    # operations command (which runs as the system)
    "import_history": lambda a, t: isinstance(a, SystemActor) or _is(a, Role.ADMIN),
    # The dispatch catalogue (派单目录, tickets.catalogue): admins, and the operations command
    "manage_dispatch_catalogue": lambda a, t: isinstance(a, SystemActor) or _is(a, Role.ADMIN),
    # Lead and co-handling (主办/协办, tickets.cohandling): the operator shares a dispatched
    # ticket; a co-handling department adds its part, the lead replies
    "assign_co_handlers": lambda a, t: _is(a, Role.OPERATOR),
    "co_handle": lambda a, t: _co_handler(a, t),
    # Dispatch disputes (派单异议, tickets.disputes): the department that has the ticket says
    # it is not its matter; an operator or a supervisor decides
    "dispute_dispatch": lambda a, t: _own_department(a, t),
    "decide_dispute": lambda a, t: _is(a, Role.OPERATOR, Role.SUPERVISOR),
    # Deadline policies (时限规则, tickets.policies): admins and the operations command keep
    # them; the operator flags a business request (企业诉求) in operator review
    "manage_deadline_policies": lambda a, t: isinstance(a, SystemActor) or _is(a, Role.ADMIN),
    "mark_business_request": lambda a, t: _is(a, Role.OPERATOR),
    # Administration (``directory.access``)
    **directory_access.RULES,
}

ACTIONS = tuple(RULES)


def can(actor: Actor, action: str, ticket: Ticket | None = None) -> bool:
    return RULES[action](actor, ticket)


def require(actor: Actor, action: str, ticket: Ticket | None = None) -> None:
    if not can(actor, action, ticket):
        raise PermissionDenied(N_("You are not allowed to do this."))


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough for a clerk to confirm a number the citizen reads out."""
    if not phone:
        return phone
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "****"


def visible_contact(actor: Actor, ticket: Ticket) -> tuple[str | None, str | None]:
    """The contact name and phone this actor may see. A report's anonymous reporter and a
    citizen's full phone number are for the hotline only, never for a department."""
    if can(actor, "view_contact", ticket):
        return ticket.contact_name, ticket.contact_phone
    if ticket.anonymous:
        return None, None
    return ticket.contact_name, mask_phone(ticket.contact_phone)
