"""Shared pieces of the staff console's screens: list filters from the query string, labels,
template filters and the streamed CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, request, stream_with_context
from flask_babel import gettext

from core.errors import DomainError
from core.i18n import N_
from core.inputs import optional_id
from core.web import current_locale, db_session
from directory.models import ROLE_LABELS, Channel, Department, StaffUser
from portal.staff.blueprint import bp
from tickets.access import visible_contact
from tickets.models import (
    CLOSE_REASON_LABELS,
    KIND_LABELS,
    SATISFACTION_LABELS,
    STAGE_LABELS,
    SUPERVISION_LABELS,
    Ticket,
)
from tickets.queries import TicketFilters

CHANNEL_LABELS = {
    Channel.WEB: N_("Web portal"),
    Channel.WECHAT: N_("WeChat"),
    Channel.TELEGRAM: N_("Telegram"),
    Channel.PHONE: N_("Phone"),
    Channel.OPEN311: N_("Open311 (city systems and apps)"),
}

ACTION_LABELS = {
    "submit": N_("Request submitted"),
    "dispatch": N_("Dispatched"),
    "resolve_directly": N_("Answered directly"),
    "reject": N_("Rejected"),
    "merge": N_("Merged into a duplicate"),
    "mark_urgent": N_("Marked urgent"),
    "accept": N_("Accepted by the department"),
    "return_to_operator": N_("Returned to the operator"),
    "reply": N_("Department replied"),
    "pass_review": N_("Re-review passed"),
    "transfer": N_("Transferred to another department"),
    "return_to_department": N_("Returned to the department for re-handling"),
    "record_callback": N_("Callback recorded by phone"),
    "answer_survey": N_("Citizen answered the survey"),
    "close_no_response": N_("Closed without a survey answer"),
    "reopen": N_("Reopened by a supervisor"),
    "urge": N_("Urged by the citizen (催办)"),
    "add_information": N_("Information added by the citizen (补充)"),
    "transfer_out": N_("Call transferred to another platform"),
}

# Bounded so that one click cannot make the server write a file of millions of lines; narrow
# the filters for more.
EXPORT_MAX_ROWS = 10_000


def int_arg(name: str) -> int | None:
    return optional_id(request.args.get(name))


def filters_from_args(**fixed: Any) -> TicketFilters:
    """The list filters in the query string; unknown values are ignored, not errors."""
    kind = request.args.get("kind") or None
    channel = request.args.get("channel") or None
    stage = request.args.get("stage") or None
    supervision = request.args.get("supervision") or None
    values: dict[str, Any] = {
        "kind": kind if kind in KIND_LABELS else None,
        "channel": channel if channel in CHANNEL_LABELS else None,
        "category_id": int_arg("category"),
        "department_id": int_arg("department"),
        "keyword": (request.args.get("q") or "").strip() or None,
        "stage": stage if stage in STAGE_LABELS else None,
        "supervision": supervision if supervision in SUPERVISION_LABELS else None,
    }
    values.update(fixed)
    return TicketFilters(**values)


def department_name(department: Department | None) -> str:
    if department is None:
        return ""
    if not current_locale().startswith("zh") and department.name_en:
        return department.name_en
    return department.name


def local_time(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime(fmt)


@bp.app_template_filter("staff_time")
def _staff_time(moment: dt.datetime | None) -> str:
    return local_time(moment)


@bp.app_template_filter("dept_name")
def _dept_name(department: Department | None) -> str:
    return department_name(department)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "stage_labels": STAGE_LABELS,
        "supervision_labels": SUPERVISION_LABELS,
        "role_labels": ROLE_LABELS,
        "satisfaction_labels": SATISFACTION_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "action_labels": ACTION_LABELS,
        "close_reason_labels": CLOSE_REASON_LABELS,
    }


def flash_domain_error(error: DomainError) -> None:
    db_session().rollback()  # the domain changes nothing before it refuses; be sure anyway
    flash(error.translated(current_locale()), "error")
    for message in (getattr(error, "fields", None) or {}).values():
        flash(gettext(message), "error")


def _safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: neutralise it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ticket_csv_row(user: StaffUser, ticket: Ticket) -> list[str]:
    name, phone = visible_contact(user, ticket)
    return [
        ticket.number,
        local_time(ticket.created_at),
        gettext(KIND_LABELS.get(ticket.kind, ticket.kind)),  # type: ignore[call-overload]
        gettext(CHANNEL_LABELS.get(ticket.channel, ticket.channel)),  # type: ignore[call-overload]
        gettext(STAGE_LABELS.get(ticket.stage, ticket.stage)),  # type: ignore[call-overload]
        ticket.category.name if ticket.category else "",
        department_name(ticket.department),
        ticket.title,
        name or "",
        phone or "",
        gettext("Yes") if ticket.urgent else "",
        gettext(SUPERVISION_LABELS[ticket.supervision]) if ticket.supervision else "",  # type: ignore[index]
        ticket.due_date.isoformat() if ticket.due_date else "",
    ]


def ticket_csv_header() -> list[str]:
    return [
        gettext("Number"),
        gettext("Submitted"),
        gettext("Kind"),
        gettext("Channel"),
        gettext("Stage"),
        gettext("Category"),
        gettext("Department"),
        gettext("Title"),
        gettext("Contact"),
        gettext("Phone"),
        gettext("Urgent"),
        gettext("Supervision status"),
        gettext("Due date"),
    ]


def csv_response(
    filename: str,
    header: list[str],
    rows: Callable[[], Iterable[list[str]]],
) -> Response:
    """Stream a CSV (UTF-8 with BOM so that Excel reads the Chinese) page by page."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(header)
        for row in rows():
            writer.writerow([_safe_cell(cell) for cell in row])
            if buffer.tell() > 32_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def wants_csv() -> bool:
    return request.args.get("format") == "csv"
