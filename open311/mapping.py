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
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.models import Category
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
    if not locale.startswith("zh") and category.name_en:
        return category.name_en
    return category.name


def services(session: Session, locale: str) -> list[dict[str, Any]]:
    categories = session.scalars(select(Category).where(Category.active).order_by(Category.id))
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


def _scrub(text: str | None, ticket: Ticket) -> str | None:
    """``text`` without the ticket's contact data: mobile numbers and the contact's name masked."""
    if not text:
        return text
    text = _MOBILE.sub(lambda match: "*" * len(match.group(0)), text)
    name = (ticket.contact_name or "").strip()
    if len(name) >= 2:
        text = text.replace(name, "*" * len(name))
    return text


def _expected(ticket: Ticket, zone: ZoneInfo) -> str | None:
    """The end of the handling deadline's day, while the department works on it."""
    if ticket.handling_due is None or ticket.stage not in (Stage.DEPT_REVIEW, Stage.HANDLING):
        return None
    end = dt.datetime.combine(ticket.handling_due, dt.time(23, 59, 59), tzinfo=zone)
    return end.isoformat()


def service_request(
    ticket: Ticket, *, media_url: str | None, locale: str, zone: ZoneInfo
) -> dict[str, Any]:
    closed = ticket.stage == Stage.CLOSED
    category = ticket.category
    return {
        "service_request_id": ticket.number,
        "status": "closed" if closed else "open",
        "status_notes": _scrub(ticket.reply, ticket) if public.reply_visible(ticket) else None,
        "service_name": _name(category, locale) if category is not None else gettext("Other"),
        "service_code": category.code if category is not None else OTHER,
        "description": _scrub(ticket.description, ticket),
        "agency_responsible": public.department_name(ticket.department, locale),
        "service_notice": None if closed else service_notice(ticket.kind),
        "requested_datetime": w3_datetime(ticket.created_at, zone),
        "updated_datetime": w3_datetime(ticket.closed_at if closed else ticket.updated_at, zone),
        "expected_datetime": _expected(ticket, zone),
        "address": _scrub(ticket.address, ticket),
        "address_id": None,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": media_url,
    }


def media_urls(session: Session, tickets: Iterable[Ticket]) -> dict[int, str]:
    ids = [ticket.id for ticket in tickets]
    if not ids:
        return {}
    rows = session.execute(
        select(Open311Request.ticket_id, Open311Request.media_url).where(
            Open311Request.ticket_id.in_(ids), Open311Request.media_url.is_not(None)
        )
    )
    return {ticket_id: url for ticket_id, url in rows if url is not None}


def service_requests(
    session: Session, tickets: Sequence[Ticket], *, locale: str, zone: ZoneInfo
) -> list[dict[str, Any]]:
    urls = media_urls(session, tickets)
    return [
        service_request(ticket, media_url=urls.get(ticket.id), locale=locale, zone=zone)
        for ticket in tickets
    ]
