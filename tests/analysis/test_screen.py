"""The staff console's analysis screen: who sees it and which department, the hover definitions,
every table as CSV, the definitions page."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

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


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_who_sees_the_screen(app: Flask, staff: dict[str, StaffUser]) -> None:
    for role in ("operator", "reviewer"):
        client = _login(app, staff[role])
        assert client.get("/staff/analysis").status_code == 403
        assert client.get("/staff/analysis/volumes.csv").status_code == 403
        assert client.get("/staff/analysis/definitions").status_code == 403
        assert "/staff/analysis" not in client.get("/staff/tickets").get_data(as_text=True)
    for role in ("supervisor", "admin", "dept"):
        client = _login(app, staff[role])
        page = client.get("/staff/analysis")
        assert page.status_code == 200, role
        assert 'href="/staff/analysis"' in page.get_data(as_text=True)  # the nav entry


def test_department_staff_see_their_own_department_only(
    app: Flask, staff: dict[str, StaffUser], make_ticket: Any, departments: Any
) -> None:
    make_ticket("dept_review", department="chengguan", when=at(2026, 3, 5, 10))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 5, 11))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 5, 12))
    zhujian = str(departments["zhujian"].id)

    clerk = _login(app, staff["dept"])  # 城管
    rows = _csv(
        clerk.get("/staff/analysis/departments.csv", query_string={**RANGE, "department": zhujian})
    )
    assert [row[0] for row in rows[1:]] == [departments["chengguan"].name]
    assert rows[1][1] == "1"  # received
    volumes = _csv(
        clerk.get("/staff/analysis/volumes.csv", query_string={**RANGE, "grain": "month"})
    )
    assert volumes[1][1] == "1"
    page = clerk.get("/staff/analysis", query_string=RANGE).get_data(as_text=True)
    assert 'name="department"' not in page  # no department filter to pick from
    assert "t-contact" not in page  # the hotline's own figures are not a department's

    supervisor = _login(app, staff["supervisor"])
    everything = _csv(
        supervisor.get("/staff/analysis/volumes.csv", query_string={**RANGE, "grain": "month"})
    )
    assert everything[1][1] == "3"
    one = _csv(
        supervisor.get(
            "/staff/analysis/departments.csv", query_string={**RANGE, "department": zhujian}
        )
    )
    assert [(row[0], row[1]) for row in one[1:]] == [(departments["zhujian"].name, "2")]
    assert (
        supervisor.get("/staff/analysis", query_string={"department": "999999"}).status_code == 404
    )


def test_every_table_has_its_definitions_on_hover_and_a_csv(
    app: Flask, staff: dict[str, StaffUser], make_ticket: Any
) -> None:
    make_ticket("closed", when=at(2026, 3, 5, 10))
    client = _login(app, staff["supervisor"])
    page = client.get("/staff/analysis", query_string=RANGE).get_data(as_text=True)
    for key in (
        "received",
        "review_on_time",
        "satisfaction",
        "self_service_share",
        "call_answer_rate",
    ):
        assert f'title="{DEFINITIONS[key].definition_zh}"' in page, key
    tables = ["volumes", "channels", "kinds", "categories", "by_department", "departments",
              "citizens", "self_service", "gaps", "contact"]  # fmt: skip
    for table in tables:
        assert f'id="t-{table}"' in page
        rows = _csv(client.get(f"/staff/analysis/{table}.csv", query_string=RANGE))
        assert rows[0], table
    citizens = _csv(client.get("/staff/analysis/citizens.csv", query_string=RANGE))
    assert citizens[0][0] == DEFINITIONS["satisfaction"].name_zh
    assert citizens[1][0] == "100.00"  # the one survey: 满意
    assert client.get("/staff/analysis/nothing.csv").status_code == 404
    assert client.get("/staff/analysis", query_string={"grain": "year"}).status_code == 400


def test_english_and_the_definitions_page(app: Flask, staff: dict[str, StaffUser]) -> None:
    client = _login(app, staff["admin"])
    zh = client.get("/staff/analysis/definitions").get_data(as_text=True)
    for figure in DEFINITIONS.values():
        assert figure.definition_zh in zh
    en = client.get("/staff/analysis/definitions", query_string={"lang": "en"})
    text = en.get_data(as_text=True)
    for figure in DEFINITIONS.values():
        assert figure.definition_en.replace("'", "&#39;") in text
    page = client.get("/staff/analysis", query_string={"lang": "en"}).get_data(as_text=True)
    assert DEFINITIONS["satisfaction"].definition_en in page


def test_a_range_backwards_or_too_long_is_put_right(
    app: Flask, staff: dict[str, StaffUser]
) -> None:
    client = _login(app, staff["supervisor"])
    rows = _csv(
        client.get(
            "/staff/analysis/volumes.csv", query_string={"start": "2026-03-10", "end": "2026-03-01"}
        )
    )
    assert [row[0] for row in rows[1:]][0] == "2026-03-01" and len(rows) == 11
    long = _csv(
        client.get(
            "/staff/analysis/volumes.csv", query_string={"start": "2020-01-01", "end": "2026-03-10"}
        )
    )
    assert len(long) == 191
    bad = _csv(
        client.get("/staff/analysis/volumes.csv", query_string={"start": "x", "end": "2026-03-10"})
    )
    assert bad[1][0] == "2026-02-09"  # the default: 30 days to the end


def test_the_assessment_screens(app: Flask, staff: dict[str, StaffUser], db: Any) -> None:
    for role in ("operator", "reviewer", "dept"):
        client = _login(app, staff[role])
        assert client.get("/staff/analysis/assessment").status_code == 403
        assert client.post(
            "/staff/analysis/assessment/entries", data={"quarter": "2026Q1"}
        ).status_code in (400, 403)
    supervisor = _login(app, staff["supervisor"])
    page = supervisor.get("/staff/analysis/assessment", query_string={"quarter": "2026Q1"})
    page = page.get_data(as_text=True)
    assert "2026-01-01" in page and "人工接通率" in page and "0.0 / 100" in page
    assert supervisor.get("/staff/analysis/assessment/indicators").status_code == 403
    saved = supervisor.post(
        "/staff/analysis/assessment/entries",
        data={"quarter": "2026Q1", "value-availability": "99.95", "value-fault_repair": "95"},
    )
    assert saved.status_code == 303
    page = supervisor.get(
        "/staff/analysis/assessment", query_string={"quarter": "2026Q1"}
    ).get_data(as_text=True)
    assert "20.0 / 100" in page  # 10 + 10 points
    assert "20%" in page  # the fee share
    bad = supervisor.post(
        "/staff/analysis/assessment/entries", data={"quarter": "2026Q1", "value-recording": "x"}
    )
    assert bad.status_code == 303

    admin = _login(app, staff["admin"])
    form = admin.get("/staff/analysis/assessment/indicators").get_data(as_text=True)
    assert form.count('name="code"') == 19
    data = {"code": ["availability"], "weight-availability": "20", "target-availability": "99.9",
            "comparison-availability": "ge", "active-availability": "1"}  # fmt: skip
    assert admin.post("/staff/analysis/assessment/indicators", data=data).status_code == 303
    page = admin.get("/staff/analysis/assessment", query_string={"quarter": "2026Q1"}).get_data(
        as_text=True
    )
    assert "30.0 / 110" in page


def test_the_staffing_screen(app: Flask, staff: dict[str, StaffUser]) -> None:
    for role in ("operator", "reviewer", "dept"):
        assert _login(app, staff[role]).get("/staff/analysis/staffing").status_code == 403
    client = _login(app, staff["supervisor"])
    page = client.get("/staff/analysis/staffing", query_string={"week": "2026-03-11"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2026-03-09" in text and "2026-03-15" in text  # the Monday of that week, to Sunday
    rows = _csv(
        client.get("/staff/analysis/staffing", query_string={"week": "2026-03-09", "format": "csv"})
    )
    assert len(rows) == 49 and len(rows[0]) == 1 + 7 * 4  # calls, chats, call and chat seats
    labels = ["电话", "在线会话", "电话坐席", "在线坐席"]
    assert rows[0][1:5] == [f"2026-03-09 {label}" for label in labels]
    assert rows[1][:5] == ["00:00", "0.00", "0.00", "0", "0"]
