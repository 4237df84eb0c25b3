"""Who may manage switchboards: admins (``directory.access``'s ``manage_staff``), and the system
(the command line, which already holds the database)."""

from __future__ import annotations

from directory.access import Actor, SystemActor, require


def require_admin(actor: Actor) -> None:
    if not isinstance(actor, SystemActor):
        require(actor, "manage_staff")
