"""The whole dashboard view as XLSX: one sheet per table, the figures as numbers, opened with
openpyxl and checked against a hand-made history."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from analysis.definitions import DEFINITIONS
from directory.models import StaffUser
from tests.conftest import at

RANGE = {"start": "2026-03-01", "end": "2026-03-10"}


def _login(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302
    return client


def _book(response: Any) -> Any:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.get_data()))


def _rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_whole_view_as_xlsx(
    app: Flask, staff: dict[str, StaffUser], make_ticket: Any, departments: Any
) -> None:
    make_ticket("closed", department="chengguan", when=at(2026, 3, 5, 10))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 5, 11))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 6, 9))
    make_ticket("submitted", when=at(2026, 2, 25, 9))  # the previous period
    client = _login(app, staff["supervisor"])
    book = _book(client.get("/staff/analysis", query_string={**RANGE, "format": "xlsx"}))
    assert book.sheetnames == [
        "概览", "受理量", "按渠道", "按诉求类型", "按分类", "按部门", "部门", "市民评价",
        "自助服务", "未能解答的热门问题", "接通：电话与在线对话",
    ]  # fmt: skip
    summary = dict((row[0], row[1]) for row in _rows(book.worksheets[0]))
    assert len(summary) == 5
    assert list(summary.values())[:2] == ["2026-03-01", "2026-03-10"]
    assert list(summary.values())[3:] == [3, 1]  # received, previous period

    volumes = _rows(book.worksheets[1])
    assert volumes[0][1:] == [DEFINITIONS[k].name_zh for k in ("received", "previous", "change")]
    by_day = {row[0]: row[1] for row in volumes[1:]}
    assert (by_day["2026-03-05"], by_day["2026-03-06"], by_day["2026-03-04"]) == (2, 1, 0)
    assert sum(by_day.values()) == 3

    by_department = {row[0]: row[1] for row in _rows(book.worksheets[5])[1:]}
    assert by_department[departments["zhujian"].name] == 2
    assert by_department[departments["chengguan"].name] == 1

    dept = _rows(book.worksheets[6])
    assert dept[0][1] == DEFINITIONS["dept_received"].name_zh
    received = {row[0]: row[1] for row in dept[1:]}
    assert received[departments["zhujian"].name] == 2

    citizens = book.worksheets[7]
    assert citizens["A1"].value == DEFINITIONS["satisfaction"].name_zh
    assert citizens["A2"].value == 100.0  # the one survey: 满意
    assert citizens["A2"].number_format == '0.00"%"'


def test_a_department_and_hostile_text(
    app: Flask, staff: dict[str, StaffUser], make_ticket: Any, departments: Any
) -> None:
    make_ticket("dept_review", department="chengguan", when=at(2026, 3, 5, 10))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 5, 11))
    clerk = _login(app, staff["dept"])  # 城管: their own department whatever they ask
    book = _book(
        clerk.get(
            "/staff/analysis",
            query_string={**RANGE, "format": "xlsx", "department": str(departments["zhujian"].id)},
        )
    )
    summary = _rows(book.worksheets[0])
    assert summary[2][1] == departments["chengguan"].name
    assert summary[3][1] == 1
    assert book.sheetnames == [
        "概览",
        "受理量",
        "按渠道",
        "按诉求类型",
        "按分类",
        "按部门",
        "部门",
        "市民评价",
    ]  # no self-service, gaps or contact for one department
    for role in ("operator", "reviewer"):
        assert _login(app, staff[role]).get("/staff/analysis?format=xlsx").status_code == 403
    assert clerk.get("/staff/analysis?format=pdf").status_code == 400


def test_text_stays_text(app: Flask, db: Any) -> None:
    """A citizen's words (a gap-log question, say) that look like a formula stay text, and the
    control characters the format cannot hold are dropped."""
    from analysis.figures import Count
    from analysis.periods import Period
    from portal.staff.analysis import Column, Filters, Table, dashboard_workbook

    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    table = Table("gaps", "问题/热门?", [Column("", "问题"), Column("gap_count", "次数")],
                  [["=HYPERLINK(\"http://x\")\x01", 3]], ["", ""])  # fmt: skip
    with app.test_request_context("/staff/analysis"):
        body = dashboard_workbook(Filters(period, None, "day"), [table], Count("", "", 0, 0))
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["概览", "问题 热门 "]
    cell = book.worksheets[1]["A2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x")', "s")
    assert book.worksheets[1]["B2"].value == 3
