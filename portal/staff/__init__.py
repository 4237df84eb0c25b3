"""The staff console under /staff: one gate for the whole area (portal/staff/auth.py)."""

from portal.staff import auth, chat, inbox, outbox, views  # noqa: F401  (routes attach to bp)
from portal.staff.blueprint import bp

__all__ = ["bp"]
