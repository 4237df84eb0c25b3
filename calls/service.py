"""What the staff console reads about calls, and the agent-code mapping admins keep.

- :func:`active_call_for_staff` — the call to pop in a console user's intake screen.
- :func:`get_call` — one call by its row id.
- :func:`set_agent_code` — map a switchboard agent (工号) to a console user.

A :class:`calls.models.Call` carries ``id``, ``call_id``, ``caller_number``, ``queue``,
``agent_code``, ``staff_id``, ``offered_at``, ``answered_at``, ``ended_at``, ``abandoned_at``
(aware UTC or None), ``wait_seconds``, ``handling_seconds`` and ``status``.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from calls.access import require_admin
from calls.models import Call
from core import clock
from core.errors import ValidationError
from core.i18n import N_
from directory.access import Actor
from directory.models import StaffUser

# An answered call whose "ended" never arrives (a lost event) stops being "the current call"
# after this long, so a console does not pop a call from the morning in the afternoon.
ACTIVE_CALL_MAX_AGE = dt.timedelta(hours=4)

AGENT_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def active_call_for_staff(session: Session, staff_id: int) -> Call | None:
    """The latest answered, not yet ended (nor abandoned) call of the switchboard agent mapped
    to this staff user, answered within :data:`ACTIVE_CALL_MAX_AGE`; None if there is none or
    the user has no agent code."""
    since = clock.now() - ACTIVE_CALL_MAX_AGE
    # one query: the user's agent code joined to ix_calls_agent_answered
    return session.scalars(
        select(Call)
        .join(StaffUser, StaffUser.agent_code == Call.agent_code)
        .where(
            StaffUser.id == staff_id,
            Call.answered_at.is_not(None),
            Call.answered_at >= since,
            Call.ended_at.is_(None),
            Call.abandoned_at.is_(None),
        )
        .order_by(Call.answered_at.desc(), Call.id.desc())
        .limit(1)
    ).first()


def get_call(session: Session, call_row_id: int) -> Call | None:
    """A call by its row id (``Call.id``), or None."""
    return session.get(Call, call_row_id)


def set_agent_code(session: Session, user: StaffUser, code: str | None, *, actor: Actor) -> None:
    """Give ``user`` the switchboard agent code ``code`` (empty: none). An agent code belongs to
    one user. Calls answered under it before, and still going, are attributed to the user;
    finished calls keep the user they had (an agent code may change hands over the years)."""
    require_admin(actor)
    cleaned = (code or "").strip()
    if cleaned and not AGENT_CODE.fullmatch(cleaned):
        raise ValidationError(
            {"agent_code": N_("Use up to 40 letters, digits, dots, dashes or underscores.")}
        )
    if cleaned:
        holder = session.scalar(select(StaffUser).where(StaffUser.agent_code == cleaned))
        if holder is not None and holder.id != user.id:
            raise ValidationError(
                {"agent_code": N_("This agent code already belongs to another staff member.")}
            )
    user.agent_code = cleaned or None
    session.flush()
    if cleaned:
        session.execute(
            update(Call)
            .where(
                Call.agent_code == cleaned,
                Call.answered_at.is_not(None),
                Call.ended_at.is_(None),
                Call.abandoned_at.is_(None),
            )
            .values(staff_id=user.id)
            .execution_options(synchronize_session=False)
        )


def staff_for_agents(session: Session, codes: set[str]) -> dict[str, int]:
    """The console users these agent codes map to (codes without a user are left out)."""
    if not codes:
        return {}
    rows = session.execute(
        select(StaffUser.agent_code, StaffUser.id).where(StaffUser.agent_code.in_(sorted(codes)))
    )
    return {code: staff_id for code, staff_id in rows if code is not None}
