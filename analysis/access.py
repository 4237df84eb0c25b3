"""Who sees which figures: supervisors and admins the whole hotline (and any one department),
department staff their own department only; the other roles (operators, reviewers) work tickets
and do not see the analysis screens. (choice: the issue names departments, supervisors and
admins; operators and reviewers are left out.)"""

from __future__ import annotations

from core.errors import PermissionDenied
from core.i18n import N_
from directory.access import Actor, has_role
from directory.models import Role, StaffUser

ALL_DEPARTMENTS_ROLES = (Role.SUPERVISOR, Role.ADMIN)
ANALYSIS_ROLES = (*ALL_DEPARTMENTS_ROLES, Role.DEPARTMENT)


def can_view_analysis(actor: Actor) -> bool:
    if has_role(actor, *ALL_DEPARTMENTS_ROLES):
        return True
    return (
        has_role(actor, Role.DEPARTMENT)
        and isinstance(actor, StaffUser)
        and actor.department_id is not None
    )


def department_scope(actor: Actor, requested: int | None) -> int | None:
    """The department whose figures ``actor`` gets when asking for ``requested`` (None: the
    whole hotline). Department staff always get their own, whatever they ask for."""
    if not can_view_analysis(actor):
        raise PermissionDenied(N_("You are not allowed to do this."))
    if has_role(actor, *ALL_DEPARTMENTS_ROLES):
        return requested
    assert isinstance(actor, StaffUser)
    return actor.department_id


def sees_all_departments(actor: Actor) -> bool:
    return has_role(actor, *ALL_DEPARTMENTS_ROLES)


def can_assess(actor: Actor) -> bool:
    """The quarterly assessment: supervisors and admins read it and enter the assessor's values."""
    return has_role(actor, *ALL_DEPARTMENTS_ROLES)


def can_configure_assessment(actor: Actor) -> bool:
    """Weights, targets and which indicators count: admins."""
    return has_role(actor, Role.ADMIN)
