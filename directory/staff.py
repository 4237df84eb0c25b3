"""Staff accounts: creation and password checks (the login screen lives in the staff console)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core import clock
from core.errors import Conflict, DomainError, ValidationError
from core.i18n import N_
from directory.access import Actor, SystemActor, require
from directory.models import Department, Role, StaffUser

MIN_PASSWORD_LENGTH = 8
# scrypt is werkzeug's default and deliberately slow; tests switch to a cheap method.
PASSWORD_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def verify_password(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


class LoginFailed(DomainError):
    http_status = 401


def authenticate(session: Session, username: str, password: str) -> StaffUser:
    """Check a login. Five failures in a row lock the account for 15 minutes; the message is
    the same for an unknown user and a wrong password."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    now = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise LoginFailed(
            N_(
                "Too many failed logins. The account is locked for 15 minutes; ask an administrator if you need it sooner."
            )
        )
    if user is None or not user.active or not verify_password(user, password):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
            session.flush()
        raise LoginFailed(N_("Wrong user name or password."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def create_staff_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    department: Department | None = None,
    actor: Actor,
) -> StaffUser:
    """Admins create accounts; the system creates the demo ones."""
    if not isinstance(actor, SystemActor):
        require(actor, "manage_staff")
    errors: dict[str, str] = {}
    username = username.strip()
    if not username or len(username) > 60:
        errors["username"] = N_("Enter a user name of at most 60 characters.")
    if role not in {r.value for r in Role}:
        errors["role"] = N_("Choose a role.")
    if role == Role.DEPARTMENT and department is None:
        errors["department"] = N_("Department staff need a department.")
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = N_("The password needs at least 8 characters.")
    if errors:
        raise ValidationError(errors)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict(N_("The user name %(username)s is taken."), username=username)
    user = StaffUser(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        role=role,
        department_id=department.id if department and role == Role.DEPARTMENT else None,
        active=True,
        failed_logins=0,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user
