"""The staff console's navigation. Each screen module registers its entry; the layout shows the
entries whose endpoint exists and whose access action the signed-in user may perform."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from directory.models import StaffUser
from tickets.access import Actor, can


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: str  # an English message id, translated in the layout
    action: str  # a tickets.access action the user must be allowed, or "" for everyone
    order: int = 100
    # Screens whose actions only make sense with a ticket (a department's "accept") name the
    # roles that see them instead; empty means "decide by action".
    roles: tuple[str, ...] = ()


NAV: list[NavEntry] = []


def register_nav(
    endpoint: str, label: str, action: str = "", order: int = 100, *, roles: tuple[str, ...] = ()
) -> None:
    if not any(entry.endpoint == endpoint for entry in NAV):
        NAV.append(NavEntry(endpoint, label, action, order, roles))
        NAV.sort(key=lambda entry: entry.order)


def _allowed(user: Actor, entry: NavEntry) -> bool:
    if entry.roles:
        return isinstance(user, StaffUser) and user.active and user.role in entry.roles
    return not entry.action or can(user, entry.action)


def nav_for(user: Actor) -> list[NavEntry]:
    return [
        entry
        for entry in NAV
        if entry.endpoint in current_app.view_functions and _allowed(user, entry)
    ]
