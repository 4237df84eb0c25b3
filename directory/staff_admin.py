"""Administration of staff accounts and departments (the admin screens of the staff console).
Creating an account is :func:`directory.staff.create_staff_user`; the rest is here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, ValidationError
from core.i18n import N_
from delivery import outbox
from delivery.models import OutboxMessage
from directory.access import Actor, require
from directory.models import Department, Role, StaffUser
from directory.staff import MIN_PASSWORD_LENGTH, hash_password


def update_staff_user(
    session: Session,
    user: StaffUser,
    *,
    display_name: str,
    role: str,
    department: Department | None,
    active: bool,
    actor: Actor,
) -> StaffUser:
    require(actor, "manage_staff")
    errors: dict[str, str] = {}
    if role not in {r.value for r in Role}:
        errors["role"] = N_("Choose a role.")
    if role == Role.DEPARTMENT and department is None:
        errors["department"] = N_("Department staff need a department.")
    if isinstance(actor, StaffUser) and actor.id == user.id and (not active or role != user.role):
        errors["role"] = N_("You cannot change your own role or deactivate yourself.")
    if errors:
        raise ValidationError(errors)
    user.display_name = display_name.strip()[:100] or user.username
    user.role = role
    user.department_id = department.id if department and role == Role.DEPARTMENT else None
    user.active = active
    session.flush()
    return user


def set_staff_password(session: Session, user: StaffUser, password: str, *, actor: Actor) -> None:
    """An administrator sets a new password; it also lifts a lockout."""
    require(actor, "manage_staff")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError({"password": N_("The password needs at least 8 characters.")})
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()


def save_department(
    session: Session,
    department: Department | None,
    *,
    code: str,
    name: str,
    name_en: str,
    hotline_phone: str | None,
    active: bool,
    actor: Actor,
) -> Department:
    """Create (``department=None``) or change a department. Departments are never deleted:
    old tickets point at them; an inactive one takes no new tickets."""
    require(actor, "manage_departments")
    code, name = code.strip(), name.strip()
    errors: dict[str, str] = {}
    if not code or len(code) > 40 or not code.replace("_", "").isalnum():
        errors["code"] = N_("Enter a code of letters, digits and _ (at most 40).")
    if not name or len(name) > 100:
        errors["name"] = N_("Enter a name of at most 100 characters.")
    if errors:
        raise ValidationError(errors)
    clash = session.scalar(
        select(Department.id).where((Department.code == code) | (Department.name == name))
    )
    if clash is not None and (department is None or clash != department.id):
        raise Conflict(N_("Another department has this code or name."))
    if department is None:
        department = Department(code=code, created_at=clock.now())
        session.add(department)
    department.code = code
    department.name = name
    department.name_en = name_en.strip()[:200]
    department.hotline_phone = (hotline_phone or "").strip()[:40] or None
    department.active = active
    session.flush()
    return department


# -- the outbox's dead letters -------------------------------------------------------------------


def retry_message(session: Session, message_id: int, *, actor: Actor) -> OutboxMessage:
    """Send a dead (or dropped) message again, with a fresh set of attempts."""
    require(actor, "manage_outbox")
    return outbox.retry_dead_message(session, message_id)


def drop_message(session: Session, message_id: int, *, actor: Actor) -> OutboxMessage:
    """Give up on a dead message for good."""
    require(actor, "manage_outbox")
    return outbox.drop_dead_message(session, message_id)
