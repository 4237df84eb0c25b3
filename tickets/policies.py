"""Deadline policies (时限规则): the seed's 5/15/30 working-day rules stay the default; an admin
adds a policy for a class of requests, e.g. Zhuhai's rule for business requests (企业诉求: the
department responds within 1 working hour, a consultation is closed within 2 working days,
anything else within 4). The rules are in ``docs/dispatch.md``.

A policy applies to a ticket flagged as a business request by the operator (``business_only``)
and/or to tickets of some categories; with both, a ticket must match both. At dispatch the
oldest active policy that matches wins **(choice)**, and the ticket keeps it
(``Ticket.deadline_policy_id``): changing the policies later never moves a running deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import NotFound, ValidationError
from core.i18n import N_
from directory.models import Category, StaffUser
from tickets.access import Actor, require
from tickets.models import DeadlinePolicy, Ticket
from tickets.sla import (
    DEFAULT_WORKING_HOURS,
    TOTAL_DAYS,
    InvalidDeadline,
    WorkCalendar,
    WorkingHours,
)

MAX_DAYS = 60
MAX_HOURS = 40


@dataclass(frozen=True)
class PolicyDeadlines:
    """Due dates (local) and, for a deadline at a working hour, its exact moment (UTC)."""

    review: dt.date
    review_at: dt.datetime | None
    handling: dt.date
    handling_at: dt.datetime | None
    total_days: int


def _check_days(value: int | None, field: str, errors: dict[str, str]) -> None:
    if value is not None and not 1 <= value <= MAX_DAYS:
        errors[field] = N_("Between 1 and 60 working days.")


def create_deadline_policy(
    session: Session,
    *,
    code: str,
    name: str,
    actor: Actor,
    business_only: bool = False,
    category_codes: list[str] | tuple[str, ...] = (),
    review_hours: int | None = None,
    review_days: int | None = None,
    total_days: dict[str, int] | None = None,
    default_total_days: int,
    working_hours: str = DEFAULT_WORKING_HOURS,
) -> DeadlinePolicy:
    """Add an active policy. The review part is in working hours or in working days (one of
    them); totals are working days per kind, ``default_total_days`` for the kinds not listed."""
    require(actor, "manage_deadline_policies")
    errors: dict[str, str] = {}
    code = (code or "").strip()
    name = (name or "").strip()
    if not code or len(code) > 40:
        errors["code"] = N_("Give a code of at most 40 characters.")
    elif session.scalar(select(DeadlinePolicy.id).where(DeadlinePolicy.code == code)):
        errors["code"] = N_("This code is already taken.")
    if not name or len(name) > 100:
        errors["name"] = N_("Give a name of at most 100 characters.")
    categories: list[Category] = []
    for category_code in category_codes:
        category = session.scalar(select(Category).where(Category.code == category_code))
        if category is None:
            errors["categories"] = N_("Choose categories from the list.")
            break
        categories.append(category)
    if not business_only and not categories:
        errors["business_only"] = N_(
            "A policy applies to business requests, to some categories, or to both."
        )
    if (review_hours is None) == (review_days is None):
        errors["review"] = N_("Give the review deadline in working hours or in working days.")
    elif review_hours is not None and not 1 <= review_hours <= MAX_HOURS:
        errors["review"] = N_("Between 1 and 40 working hours.")
    _check_days(review_days, "review", errors)
    totals = dict(total_days or {})
    for kind, days in totals.items():
        if kind not in TOTAL_DAYS:
            errors["total_days"] = N_("Unknown ticket kind: %(kind)s")
        _check_days(days, "total_days", errors)
    _check_days(default_total_days, "default_total_days", errors)
    if review_days is not None and any(
        days < review_days for days in [default_total_days, *totals.values()]
    ):
        errors["total_days"] = N_("The total deadline cannot be shorter than the review part.")
    try:
        hours = WorkingHours.parse(working_hours)
    except InvalidDeadline:
        errors["working_hours"] = N_("Working hours are periods like 08:30-12:00,14:30-17:30.")
        hours = None
    if errors:
        raise ValidationError(errors)
    assert hours is not None
    policy = DeadlinePolicy(
        code=code,
        name=name,
        business_only=business_only,
        category_ids=sorted(c.id for c in categories),
        review_hours=review_hours,
        review_days=review_days,
        total_days=totals,
        default_total_days=default_total_days,
        working_hours=str(hours),
        active=True,
        created_at=clock.now(),
        created_by_id=actor.id if isinstance(actor, StaffUser) else None,
    )
    session.add(policy)
    session.flush()
    return policy


def deactivate_deadline_policy(session: Session, policy_id: int, *, actor: Actor) -> DeadlinePolicy:
    """Stop applying a policy to new dispatches; tickets dispatched under it keep it."""
    require(actor, "manage_deadline_policies")
    policy = session.get(DeadlinePolicy, policy_id)
    if policy is None:
        raise NotFound(N_("No such deadline policy."))
    if policy.active:
        policy.active = False
        policy.deactivated_at = clock.now()
        session.flush()
    return policy


def list_deadline_policies(session: Session) -> list[DeadlinePolicy]:
    return list(session.scalars(select(DeadlinePolicy).order_by(DeadlinePolicy.id)))


def matching_policy(session: Session, ticket: Ticket) -> DeadlinePolicy | None:
    """The policy a ticket dispatched now falls under: the oldest active one that matches."""
    for policy in session.scalars(
        select(DeadlinePolicy).where(DeadlinePolicy.active).order_by(DeadlinePolicy.id)
    ):
        if policy.business_only and not ticket.business_request:
            continue
        if policy.category_ids and ticket.category_id not in policy.category_ids:
            continue
        return policy
    return None


def policy_deadlines(
    policy: DeadlinePolicy,
    kind: str,
    dispatched_at: dt.datetime,
    calendar: WorkCalendar,
    timezone: str,
) -> PolicyDeadlines:
    """The deadlines of a ticket of ``kind`` dispatched at ``dispatched_at`` under ``policy``.

    Working days count as in the seed (the dispatch day does not count; the deadline lasts to
    the end of the N-th working day after it). Working hours count only the policy's periods on
    working days: dispatched at 11:30 with 1 working hour, due 14:30 the same day when it is a
    working day (lunch 12:00–14:30 does not count).
    """
    if kind not in TOTAL_DAYS:
        raise InvalidDeadline(N_("Unknown ticket kind: %(kind)s"), kind=kind)
    zone = ZoneInfo(timezone)
    local = dispatched_at.astimezone(zone)
    dispatch_date = local.date()
    total = int(policy.total_days.get(kind, policy.default_total_days))
    handling = calendar.add_workdays(dispatch_date, total)
    if policy.review_hours is not None:
        hours = WorkingHours.parse(policy.working_hours)
        review_local = hours.add(local, policy.review_hours * 60, calendar)
        review_at: dt.datetime | None = review_local.astimezone(dt.UTC)
        review = review_local.date()
    else:
        assert policy.review_days is not None
        review_at = None
        review = calendar.add_workdays(dispatch_date, policy.review_days)
    if review > handling:
        # A review moment after the handling date (dispatched late on the last day before a
        # long holiday with a one-day total): the whole deadline is the review one.
        handling = review
    return PolicyDeadlines(
        review=review,
        review_at=review_at,
        handling=handling,
        handling_at=None,
        total_days=total,
    )
