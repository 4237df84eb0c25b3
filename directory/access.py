"""Who acts: staff (by role), a citizen on a channel, or the system; and the permissions that are
not about one ticket (administration). The ticket domain's rules build on these in
``tickets.access``, which holds the whole matrix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import PermissionDenied
from core.i18n import N_
from directory.models import Role, StaffUser


@dataclass(frozen=True)
class SystemActor:
    """The worker and the scheduler."""

    name: str = "system"


@dataclass(frozen=True)
class CitizenActor:
    citizen_id: int | None
    channel: str


SYSTEM = SystemActor()
Actor = StaffUser | SystemActor | CitizenActor

HOTLINE_ROLES = (Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)


def role_of(actor: Actor) -> Role | None:
    return Role(actor.role) if isinstance(actor, StaffUser) and actor.active else None


def has_role(actor: Actor, *roles: Role) -> bool:
    return role_of(actor) in roles


# (actor, the object acted on or None) -> allowed
Rule = Callable[[Actor, Any], bool]

# Administration: the console's admin screens and the outbox's dead letters.
RULES: dict[str, Rule] = {
    "manage_staff": lambda a, t: has_role(a, Role.ADMIN),
    "manage_departments": lambda a, t: has_role(a, Role.ADMIN),
    "manage_calendar": lambda a, t: has_role(a, Role.ADMIN),
    "manage_knowledge": lambda a, t: has_role(a, Role.ADMIN),
    "manage_outbox": lambda a, t: has_role(a, Role.ADMIN),
}


def require(actor: Actor, action: str) -> None:
    """An administrative permission (``RULES``); ticket actions go through ``tickets.access``."""
    if not RULES[action](actor, None):
        raise PermissionDenied(N_("You are not allowed to do this."))
