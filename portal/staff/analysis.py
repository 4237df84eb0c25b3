"""Analysis (信息汇总分析): the dashboard of ``analysis.figures`` with date-range and department
filters, each figure's definition on hover, every table as CSV, and the definitions page.

Supervisors and admins see the whole hotline and may pick a department; department staff see
their own department, whatever the query string says (``analysis.access``)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from analysis import assessment, figures, hot, staffing
from analysis.access import (
    ALL_DEPARTMENTS_ROLES,
    ANALYSIS_ROLES,
    can_assess,
    can_configure_assessment,
    department_scope,
    sees_all_departments,
)
from analysis.definitions import DEFINITIONS
from analysis.periods import MAX_DAYS, Period
from bot.engine.models import QUEUE_LABELS, Queue
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.inputs import optional_id, parse_choice
from core.web import current_locale, db_session
from directory.models import Department, StaffUser
from portal.staff.auth import current_staff
from portal.staff.blueprint import bp
from portal.staff.helpers import (
    CHANNEL_LABELS,
    csv_response,
    department_name,
    flash_domain_error,
    local_time,
)
from portal.staff.nav import register_nav
from tickets.calendar import local_today
from tickets.models import KIND_LABELS, Kind

register_nav(
    "staff.analysis", N_("Analysis"), order=55, roles=tuple(role.value for role in ANALYSIS_ROLES)
)

DEFAULT_DAYS = 30


@dataclass
class Column:
    key: str  # a figure key of analysis.definitions, or "" for a label column
    header: str

    @property
    def title(self) -> str:
        figure = DEFINITIONS.get(self.key)
        if figure is None:
            return ""
        return figure.definition_zh if current_locale().startswith("zh") else figure.definition_en


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)  # raw values; None shows as "—"
    units: list[str] = field(default_factory=list)  # per column: "", "percent", "seconds", …
    chart: dict[str, Any] | None = None  # the chart drawn above it (data-chart, charts.js)


def _figure(key: str) -> Column:
    figure = DEFINITIONS[key]
    return Column(key, figure.name_zh if current_locale().startswith("zh") else figure.name_en)


def _label(header: str) -> Column:
    return Column("", header)


def _units(columns: list[Column]) -> list[str]:
    return [DEFINITIONS[c.key].unit if c.key in DEFINITIONS else "" for c in columns]


def _table(key: str, title: str, columns: list[Column], rows: Iterable[list[Any]]) -> Table:
    return Table(key, title, columns, list(rows), _units(columns))


CHART_TYPES = {"volumes": "line", "channels": "bar", "kinds": "bar"}
CHART_MAX_BARS = 15  # a category or department chart shows the largest ones


def _counts_chart(key: str, counts: list[figures.Count]) -> dict[str, Any]:
    """A counts table as a chart: this period and the previous one, per bucket (dates in
    order; the largest dimensions first, at most CHART_MAX_BARS)."""
    shown = counts if key == "volumes" else counts[:CHART_MAX_BARS]
    return {
        "type": CHART_TYPES.get(key, "bar"),
        "horizontal": key not in CHART_TYPES,
        "labels": [c.label for c in shown],
        "datasets": [
            {"label": gettext("This period"), "data": [c.current for c in shown]},
            {"label": gettext("Previous period"), "data": [c.previous for c in shown]},
        ],
    }


def _counts_table(key: str, title: str, first: str, counts: list[figures.Count]) -> Table:
    columns = [_label(first), _figure("received"), _figure("previous"), _figure("change")]
    table = _table(
        key, title, columns, ([c.label, c.current, c.previous, c.change] for c in counts)
    )
    table.chart = _counts_chart(key, counts) if counts else None
    return table


def _channel_label(value: str) -> str:
    label = CHANNEL_LABELS.get(value)  # type: ignore[call-overload]
    return gettext(label) if label else value


def _kind_label(value: str) -> str:
    return gettext(KIND_LABELS[Kind(value)]) if value in set(Kind) else value


def _queue_label(value: str | None) -> str:
    if value is None:
        return gettext("All queues")
    return gettext(QUEUE_LABELS[Queue(value)]) if value in set(Queue) else value


def _relabel(counts: list[figures.Count], labeller: Any) -> list[figures.Count]:
    return [figures.Count(c.key, labeller(c.key), c.current, c.previous) for c in counts]


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return default


@dataclass(frozen=True)
class Filters:
    period: Period
    department_id: int | None
    grain: str

    def args(self) -> dict[str, str]:
        args = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        if self.department_id is not None:
            args["department"] = str(self.department_id)
        args["grain"] = self.grain
        return args


def _filters() -> Filters:
    """The range asked for (default: the last 30 days to today), at most MAX_DAYS long; a
    department staff member's own department whatever was asked."""
    user = current_staff()
    today = local_today(db_session())
    end = _date(request.args.get("end"), today)
    start = _date(request.args.get("start"), end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if end < start:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
    department = department_scope(user, optional_id(request.args.get("department")))
    if department is not None and db_session().get(Department, department) is None:
        raise NotFound(N_("No such department."))
    grain = parse_choice(request.args.get("grain"), figures.GRAINS, default="day", name="grain")
    return Filters(Period(start, end), department, grain)


def _tables(board: figures.Dashboard) -> list[Table]:
    grains = {"day": gettext("Day"), "week": gettext("Week of"), "month": gettext("Month")}
    tables = [
        _counts_table("volumes", gettext("Tickets received"), grains[board.grain], board.by_date),
        _counts_table(
            "channels",
            gettext("By channel"),
            gettext("Channel"),
            _relabel(board.by_dimension["channel"], _channel_label),
        ),
        _counts_table(
            "kinds",
            gettext("By kind"),
            gettext("Kind"),
            _relabel(board.by_dimension["kind"], _kind_label),
        ),
        _counts_table(
            "categories",
            gettext("By category"),
            gettext("Category"),
            [
                c if c.key else figures.Count("", gettext("No category"), c.current, c.previous)
                for c in board.by_dimension["category"]
            ],
        ),
        _counts_table(
            "by_department",
            gettext("By department"),
            gettext("Department"),
            [
                c if c.key else figures.Count("", gettext("Not dispatched"), c.current, c.previous)
                for c in board.by_dimension["department"]
            ],
        ),
    ]
    session = db_session()
    names = {d.id: department_name(d) for d in session.scalars(select(Department))}
    dept_columns = [
        _label(gettext("Department")),
        *(
            _figure(k)
            for k in (
                "dept_received",
                "review_on_time",
                "handling_on_time",
                "warning",
                "yellow",
                "red",
                "avg_reply_workdays",
                "returns",
                "rereview_failures",
                "urges",
            )
        ),
    ]
    tables.append(
        _table(
            "departments",
            gettext("Departments"),
            dept_columns,
            (
                [
                    names.get(r.department_id, r.name),
                    r.received,
                    r.review_on_time,
                    r.handling_on_time,
                    r.warning,
                    r.yellow,
                    r.red,
                    r.avg_reply_workdays,
                    r.returns,
                    r.rereview_failures,
                    r.urges,
                ]
                for r in board.departments
            ),
        )
    )
    c = board.citizens
    tables.append(
        _table(
            "citizens",
            gettext("Citizens"),
            [
                _figure(k)
                for k in ("satisfaction", "callback_rate", "survey_response_rate", "reopened")
            ],
            [[c.satisfaction, c.callback_rate, c.survey_response_rate, c.reopened]],
        )
    )
    if board.self_service is not None:
        s = board.self_service
        tables.append(
            _table(
                "self_service",
                gettext("Self-service"),
                [_figure("conversations"), _figure("self_service_share")],
                [[s.conversations, s.share]],
            )
        )
        tables.append(
            _table(
                "gaps",
                gettext("Top unanswered questions"),
                [_label(gettext("Question")), _figure("gap_count")],
                ([gap.sample, gap.count] for gap in s.gaps),
            )
        )
    if board.department_id is None:
        contact_columns = [
            _label(gettext("Medium")),
            _label(gettext("Queue")),
            _figure("call_offered"),
            _figure("call_answered"),
            _figure("call_answer_rate"),
            _figure("call_avg_wait"),
            _figure("call_p90_wait"),
            _figure("target"),
        ]
        tables.append(
            _table(
                "contact",
                gettext("Contact: calls and chats"),
                contact_columns,
                (
                    [
                        gettext("Calls") if r.medium == "call" else gettext("Chats"),
                        _queue_label(r.queue),
                        r.offered,
                        r.answered,
                        r.answer_rate,
                        r.avg_wait,
                        r.p90_wait,
                        _target(r),
                    ]
                    for r in [*board.calls, *board.chats]
                ),
            )
        )
    return tables


LAYOUT = (
    ("volumes",),
    ("channels", "kinds"),
    ("categories", "by_department"),
    ("departments",),
    ("citizens", "self_service", "gaps"),
    ("contact",),
)


def _layout(tables: list[Table]) -> list[list[Table]]:
    """The tables in rows: a row of one is full width, small tables share a row."""
    by_key = {table.key: table for table in tables}
    rows = [[by_key[key] for key in row if key in by_key] for row in LAYOUT]
    return [row for row in rows if row]


def _target(row: figures.ContactRow) -> str:
    marks = []
    for met in (row.meets_answer_target, row.meets_wait_target):
        marks.append("—" if met is None else ("✔" if met else "✘"))
    return " / ".join(marks)


def format_cell(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return f"{text}%" if unit == "percent" else text
    return str(value)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


@bp.get("/analysis")
def analysis() -> Any:
    """The dashboard; with ``format=xlsx`` the whole view as one workbook."""
    filters = _filters()
    wanted = parse_choice(
        request.args.get("format"), ("html", "xlsx"), default="html", name="format"
    )
    session = db_session()
    board = figures.dashboard(
        session, filters.period, department_id=filters.department_id, grain=filters.grain
    )
    if wanted == "xlsx":
        return _xlsx_response(filters, board)
    user = current_staff()
    departments = (
        session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.id)
        ).all()
        if sees_all_departments(user)
        else []
    )
    chosen = session.get(Department, filters.department_id) if filters.department_id else None
    return render_template(
        "staff/analysis/dashboard.html",
        filters=filters,
        layout=_layout(_tables(board)),
        total=board.total,
        departments=departments,
        department=chosen,
        all_departments=sees_all_departments(user),
        grains={"day": gettext("Day"), "week": gettext("Week"), "month": gettext("Month")},
        format_cell=format_cell,
        definitions=DEFINITIONS,
        zh=current_locale().startswith("zh"),
    )


@bp.get("/analysis/<name>.csv")
def analysis_csv(name: str) -> Any:
    filters = _filters()
    board = figures.dashboard(
        db_session(), filters.period, department_id=filters.department_id, grain=filters.grain
    )
    table = next((t for t in _tables(board) if t.key == name), None)
    if table is None:
        raise NotFound(N_("No such table."))
    filename = (
        f"analysis-{name}-{filters.period.start.isoformat()}-{filters.period.end.isoformat()}.csv"
    )
    return csv_response(
        filename,
        [c.header for c in table.columns],
        lambda: ([_csv_cell(v) for v in row] for row in table.rows),
    )


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _xlsx_cell(value: Any) -> Any:
    """A cell as a spreadsheet keeps it: numbers as numbers, text without the control
    characters the format cannot hold."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def dashboard_workbook(filters: Filters, tables: list[Table], total: figures.Count) -> bytes:
    """The whole dashboard view as one workbook: a summary sheet (range, department, tickets
    received) and one sheet per table (the table's title), its header row first, its figures
    as numbers (percentages as numbers of percent, shown with a % sign)."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = gettext("Summary")
    department = (
        db_session().get(Department, filters.department_id) if filters.department_id else None
    )
    for row in (
        [gettext("From"), filters.period.start.isoformat()],
        [gettext("To"), filters.period.end.isoformat()],
        [gettext("Department"), department_name(department) if department else gettext("All departments")],
        [gettext("Tickets received"), total.current],
        [gettext("previous period"), total.previous],
    ):  # fmt: skip
        summary.append(row)
    used = {summary.title}
    for table in tables:
        name = _SHEET_FORBIDDEN.sub(" ", table.title)[:31] or table.key
        while name in used:
            name = f"{name[:28]}-{len(used)}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([column.header for column in table.columns])
        for row in table.rows:
            sheet.append([_xlsx_cell(value) for value in row])
        for cells in sheet.iter_rows(min_row=2):
            for cell, unit in zip(cells, table.units, strict=False):
                if cell.data_type == "f":  # text that starts with "=" stays text
                    cell.data_type = "s"
                elif unit == "percent" and isinstance(cell.value, float):
                    cell.number_format = '0.00"%"'
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(
                10, len(column.header) * 2
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_response(filters: Filters, board: figures.Dashboard) -> Any:
    body = dashboard_workbook(filters, _tables(board), board.total)
    filename = f"analysis-{filters.period.start.isoformat()}-{filters.period.end.isoformat()}.xlsx"
    response = current_app.response_class(body, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/analysis/analysis.css")
def analysis_css() -> Any:
    """The analysis screens' stylesheet (with the print layout), served with the screens."""
    body = render_template("staff/analysis/analysis.css")
    return current_app.response_class(body, mimetype="text/css")


@bp.get("/analysis/definitions")
def analysis_definitions() -> Any:
    department_scope(current_staff(), None)  # the same people as the dashboard
    return render_template(
        "staff/analysis/definitions.html",
        definitions=list(DEFINITIONS.items()),
        back=url_for("staff.analysis"),
        zh=current_locale().startswith("zh"),
    )


# -- the quarterly service assessment -----------------------------------------------------------

register_nav(
    "staff.assessment_page",
    N_("Service assessment"),
    order=56,
    roles=tuple(role.value for role in ALL_DEPARTMENTS_ROLES),
)


def _require(allowed: bool) -> StaffUser:
    user = current_staff()
    if not allowed:
        raise PermissionDenied(N_("You are not allowed to do this."))
    return user


def _quarter(raw: str | None) -> str:
    """The quarter asked for (2026Q1), else the current one."""
    text = (raw or "").strip()
    try:
        assessment.quarter_period(text)
    except ValidationError:
        return assessment.quarter_of(local_today(db_session()))
    return text


@bp.get("/analysis/assessment")
def assessment_page() -> Any:
    user = _require(can_assess(current_staff()))
    quarter = _quarter(request.args.get("quarter"))
    session = db_session()
    card = assessment.scorecard(session, quarter)
    zh = current_locale().startswith("zh")
    return render_template(
        "staff/analysis/assessment.html",
        card=card,
        quarter=quarter,
        previous=assessment.previous_quarter(quarter),
        following=assessment.quarter_of(card.period.end + dt.timedelta(days=1)),
        categories=assessment.CATEGORIES,
        entries=assessment.entries(session, quarter),
        zh=zh,
        measure_title=lambda key: _measure_title(key, zh),
        format_cell=format_cell,
        can_configure=can_configure_assessment(user),
    )


def _measure_title(measure: str | None, zh: bool) -> str:
    if measure is None:
        return gettext("Entered by the assessor")
    figure = DEFINITIONS[assessment.MEASURES[measure]]
    return figure.definition_zh if zh else figure.definition_en


@bp.post("/analysis/assessment/entries")
def assessment_entries() -> Any:
    user = _require(can_assess(current_staff()))
    quarter = _quarter(request.form.get("quarter"))
    values = {
        key.removeprefix("value-"): value
        for key, value in request.form.items()
        if key.startswith("value-")
    }
    try:
        assessment.enter_values(db_session(), quarter, values, actor=user)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("The assessor's values are saved."), "success")
    return redirect(url_for("staff.assessment_page", quarter=quarter), code=303)


@bp.get("/analysis/assessment/indicators")
def assessment_indicators() -> Any:
    _require(can_configure_assessment(current_staff()))
    return render_template(
        "staff/analysis/indicators.html",
        indicators=assessment.indicators(db_session()),
        categories=assessment.CATEGORIES,
        zh=current_locale().startswith("zh"),
    )


@bp.post("/analysis/assessment/indicators")
def assessment_indicators_save() -> Any:
    user = _require(can_configure_assessment(current_staff()))
    changes: dict[str, dict[str, str]] = {}
    for code in request.form.getlist("code"):
        changes[code] = {
            field_name: request.form.get(f"{field_name}-{code}", "")
            for field_name in ("weight", "target", "comparison", "active")
        }
    try:
        assessment.save_indicators(db_session(), changes, actor=user)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Indicators saved."), "success")
    return redirect(url_for("staff.assessment_indicators"), code=303)


# -- staffing: the forecast week and the seats per half hour --------------------------------------

register_nav(
    "staff.staffing_page",
    N_("Staffing"),
    order=57,
    roles=tuple(role.value for role in ALL_DEPARTMENTS_ROLES),
)


@bp.get("/analysis/staffing")
def staffing_page() -> Any:
    _require(can_assess(current_staff()))
    today = local_today(db_session())
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    week = _date(request.args.get("week"), next_monday)
    week = week - dt.timedelta(days=week.weekday())
    roster = staffing.forecast(db_session(), week)
    if request.args.get("format") == "csv":
        days = [slot.day.isoformat() for slot in roster.grid()[0][1]]
        labels = (gettext("Calls"), gettext("Chats"), gettext("Call seats"), gettext("Chat seats"))
        header = [gettext("Half hour")] + [f"{day} {label}" for day in days for label in labels]
        return csv_response(
            f"staffing-{week.isoformat()}.csv",
            header,
            lambda: (
                [starts]
                + [
                    cell
                    for slot in row
                    for cell in (
                        f"{slot.calls:.2f}",
                        f"{slot.chats:.2f}",
                        str(slot.call_seats),
                        str(slot.chat_seats),
                    )
                ]
                for starts, row in roster.grid()
            ),
        )
    return render_template(
        "staff/analysis/staffing.html",
        roster=roster,
        week=week,
        previous=week - dt.timedelta(days=7),
        following=week + dt.timedelta(days=7),
        wait_target=figures.TARGET_WAIT_SECONDS,
        answer_target=figures.TARGET_ANSWER_RATE,
        patience=staffing.PATIENCE_SECONDS,
    )


# -- hot topics and emergency clusters ------------------------------------------------------------

register_nav(
    "staff.hot_page",
    N_("Hot topics"),
    order=58,
    roles=tuple(role.value for role in ALL_DEPARTMENTS_ROLES),
)


@bp.get("/analysis/hot")
def hot_page() -> Any:
    _require(hot.can_mark_incident(current_staff()))
    session = db_session()
    return render_template(
        "staff/analysis/hot.html",
        topics=hot.hot_topics(session, local_today(session)),
        clusters=hot.clusters(session),
        incidents=hot.incidents(session),
        window_hours=hot.WINDOW_HOURS,
        lookback_hours=hot.LOOKBACK_HOURS,
        near_km=hot.NEAR_KM,
        min_cluster=hot.MIN_CLUSTER,
        local_time=local_time,
    )


@bp.post("/analysis/incidents")
def mark_incident() -> Any:
    user = _require(hot.can_mark_incident(current_staff()))
    ids = [optional_id(raw) for raw in request.form.getlist("ticket")]
    try:
        incident = hot.mark_incident(
            db_session(),
            [i for i in ids if i is not None],
            title=request.form.get("title", ""),
            actor=user,
        )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Incident %(title)s marked; the departments concerned are notified.",
                      title=incident.title), "success")  # fmt: skip
    return redirect(url_for("staff.hot_page"), code=303)
