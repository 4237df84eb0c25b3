"""The hotline as GeoReport v2 sees it: a service per category, a service definition with the
kind (咨询/投诉/…) as an attribute, and tickets as service requests.

A service request shows what is public about a ticket and nothing else: the ticket number, open
or closed, the category, the description and the place, the department, the handling deadline
and, once the hotline's reviewer has passed it, the department's reply. Anonymous reports are
never shown, nor the contact name or phone; a mobile number or the contact's name written into
a text is masked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from directory.models import Category, Department
from open311.models import Open311Request
from tickets import public
from tickets.models import KIND_LABELS, Kind, Stage, Ticket
from tickets.sla import TOTAL_DAYS

# Tickets without a category are listed under the "other" service.
OTHER = "other"
KIND = "kind"
TITLE = "title"
ANONYMOUS = "anonymous"
ATTRIBUTES = (KIND, TITLE, ANONYMOUS)
BOOLEAN_KEYS = ("false", "true")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def w3_datetime(moment: dt.datetime | None, zone: ZoneInfo) -> str | None:
    """``2026-03-10T10:00:00+08:00``: the w3 form with the hotline's offset, whole seconds."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def _name(category: Category, locale: str) -> str:
    return public.localized(category.name, category.name_en, locale)


def services(session: Session, locale: str) -> list[dict[str, Any]]:
    categories = session.scalars(
        select(Category)
        .where(Category.active)
        .options(joinedload(Category.department))
        .order_by(Category.id)
    )
    return [service(category, locale) for category in categories]


def service(category: Category, locale: str) -> dict[str, Any]:
    department = public.department_name(category.department, locale)
    keywords = [category.name, category.name_en]
    if category.department is not None:
        keywords += [category.department.name, category.department.name_en]
    return {
        "service_code": category.code,
        "service_name": _name(category, locale),
        "description": gettext("Requests about %(category)s.", category=_name(category, locale))
        if department is None
        else gettext(
            "Requests about %(category)s, usually handled by %(department)s.",
            category=_name(category, locale),
            department=department,
        ),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(word for word in keywords if word)),
        "group": department,
    }


def find_service(session: Session, code: str) -> Category | None:
    return session.scalar(select(Category).where(Category.code == code, Category.active))


def definition(category: Category) -> dict[str, Any]:
    kinds = [{"key": kind.value, "name": gettext(KIND_LABELS[kind])} for kind in Kind]
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": KIND,
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": None,
                "order": 1,
                "description": gettext(
                    "The kind of request: it sets the deadline (a consultation 5 working days, "
                    "a report 30, the others 15)."
                ),
                "values": kinds,
            },
            {
                "variable": True,
                "code": TITLE,
                "datatype": "string",
                "required": False,
                "datatype_description": gettext("At most 200 characters."),
                "order": 2,
                "description": gettext("A short title (default: the start of the description)."),
            },
            {
                "variable": True,
                "code": ANONYMOUS,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": None,
                "order": 3,
                "description": gettext(
                    "Only a report (举报) can be anonymous; every other request needs the phone "
                    "of the person who makes it."
                ),
                "values": [
                    {"key": "false", "name": gettext("No")},
                    {"key": "true", "name": gettext("Yes")},
                ],
            },
        ],
    }


def service_notice(kind: str) -> str:
    return gettext(
        "%(kind)s: handled within %(days)s working days of being sent to the department.",
        kind=gettext(KIND_LABELS[Kind(kind)]),
        days=TOTAL_DAYS[kind],
    )


@dataclass(frozen=True, slots=True)
class Listed:
    """What a service request shows of a ticket, read as plain columns in one query (``listed``):
    a list of a thousand tickets builds no ORM objects."""

    number: str
    kind: str
    stage: str
    description: str
    address: str | None
    latitude: float | None
    longitude: float | None
    contact_name: str | None
    reply: str | None
    handling_due: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    category_code: str | None
    category_name: str | None
    category_name_en: str | None
    department_name: str | None
    department_name_en: str | None
    media_url: str | None


def listed() -> Select[*tuple[Any, ...]]:
    """The columns of ``Listed``, from the tickets with their category, department and Open311
    filing (for its photo) joined; the caller adds the conditions and the order."""
    return (
        select(
            Ticket.number,
            Ticket.kind,
            Ticket.stage,
            Ticket.description,
            Ticket.address,
            Ticket.latitude,
            Ticket.longitude,
            Ticket.contact_name,
            Ticket.reply,
            Ticket.handling_due,
            Ticket.created_at,
            Ticket.updated_at,
            Ticket.closed_at,
            Category.code,
            Category.name,
            Category.name_en,
            Department.name,
            Department.name_en,
            Open311Request.media_url,
        )
        .select_from(Ticket)
        .outerjoin(Category, Category.id == Ticket.category_id)
        .outerjoin(Department, Department.id == Ticket.department_id)
        .outerjoin(Open311Request, Open311Request.ticket_id == Ticket.id)
    )


def _scrub(text: str | None, ticket: Listed) -> str | None:
    """``text`` without the ticket's contact data: mobile numbers and the contact's name masked."""
    if not text:
        return text
    text = _MOBILE.sub(lambda match: "*" * len(match.group(0)), text)
    name = (ticket.contact_name or "").strip()
    if len(name) >= 2:
        text = text.replace(name, "*" * len(name))
    return text


def _expected(ticket: Listed, zone: ZoneInfo) -> str | None:
    """The end of the handling deadline's day, while the department works on it."""
    if ticket.handling_due is None or ticket.stage not in (Stage.DEPT_REVIEW, Stage.HANDLING):
        return None
    end = dt.datetime.combine(ticket.handling_due, dt.time(23, 59, 59), tzinfo=zone)
    return end.isoformat()


def service_request(
    ticket: Listed, *, locale: str, zone: ZoneInfo, notices: Mapping[str, str], other: str
) -> dict[str, Any]:
    """``notices``: each kind's service notice; ``other``: the name of the "other" service (a
    long list translates each once, not once a ticket)."""
    closed = ticket.stage == Stage.CLOSED
    department = ticket.department_name
    return {
        "service_request_id": ticket.number,
        "status": "closed" if closed else "open",
        "status_notes": _scrub(ticket.reply, ticket) if public.reply_visible(ticket) else None,
        "service_name": other
        if ticket.category_name is None
        else public.localized(ticket.category_name, ticket.category_name_en, locale),
        "service_code": ticket.category_code or OTHER,
        "description": _scrub(ticket.description, ticket),
        "agency_responsible": None
        if department is None
        else public.localized(department, ticket.department_name_en, locale),
        "service_notice": None if closed else notices[ticket.kind],
        "requested_datetime": w3_datetime(ticket.created_at, zone),
        "updated_datetime": w3_datetime(ticket.closed_at if closed else ticket.updated_at, zone),
        "expected_datetime": _expected(ticket, zone),
        "address": _scrub(ticket.address, ticket),
        "address_id": None,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": ticket.media_url,
    }


def service_requests(rows: Iterable[Any], *, locale: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Service requests of the rows of a ``listed`` query."""
    tickets = [Listed(*row) for row in rows]
    notices = {kind: service_notice(kind) for kind in {ticket.kind for ticket in tickets}}
    other = gettext("Other")
    return [
        service_request(ticket, locale=locale, zone=zone, notices=notices, other=other)
        for ticket in tickets
    ]
