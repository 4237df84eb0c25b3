"""The dashboard's charts: the counts tables carry their data for charts.js in data-chart, and the
page loads Chart.js from the app itself (the browser drawing is in test_browser.py)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from directory.models import StaffUser
from tests.conftest import at

RANGE = {"start": "2026-03-01", "end": "2026-03-10"}
STATIC = Path(__file__).resolve().parents[2] / "portal" / "static"


def _login(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302
    return client


def _charts(page: str) -> dict[str, Any]:
    found = re.findall(r"<canvas[^>]* id=\"c-(\w+)\"[^>]* data-chart='([^']*)'", page)
    return {key: json.loads(html.unescape(data)) for key, data in found}


def test_the_counts_tables_have_their_charts(
    app: Flask, staff: dict[str, StaffUser], make_ticket: Any, departments: Any
) -> None:
    make_ticket("dept_review", department="chengguan", when=at(2026, 3, 5, 10))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 5, 11))
    make_ticket("dept_review", department="zhujian", when=at(2026, 3, 6, 9), channel="wechat")
    make_ticket("submitted", when=at(2026, 2, 26, 9))  # the previous period: 02-19 .. 02-28
    client = _login(app, staff["supervisor"])
    page = client.get("/staff/analysis", query_string=RANGE).get_data(as_text=True)
    charts = _charts(page)
    assert set(charts) == {"volumes", "channels", "kinds", "categories", "by_department"}

    volumes = charts["volumes"]
    assert volumes["type"] == "line" and not volumes["horizontal"]
    assert volumes["labels"] == [f"2026-03-{d:02d}" for d in range(1, 11)]
    this, previous = volumes["datasets"]
    assert this["data"] == [0, 0, 0, 0, 2, 1, 0, 0, 0, 0]
    assert sum(previous["data"]) == 1 and previous["data"][7] == 1  # 02-26 is day 8 of 02-19..
    assert (this["label"], previous["label"]) == ("本期", "上期")

    by_department = charts["by_department"]
    assert by_department["horizontal"] and by_department["type"] == "bar"
    assert by_department["labels"][:2] == [
        departments["zhujian"].name,
        departments["chengguan"].name,
    ]
    assert by_department["datasets"][0]["data"][:2] == [2, 1]
    channel = charts["channels"]
    channels = dict(zip(channel["labels"], channel["datasets"][0]["data"], strict=True))
    assert sorted(channels.values(), reverse=True)[:2] == [2, 1]

    assert '<script src="/static/vendor/chart.umd.js" defer></script>' in page
    assert '<script src="/static/analysis/charts.js" defer></script>' in page
    assert "<script>" not in page  # nothing inline: the CSP allows scripts from the site only


def test_no_chart_for_an_empty_range(app: Flask, staff: dict[str, StaffUser]) -> None:
    page = _login(app, staff["admin"]).get("/staff/analysis", query_string=RANGE)
    charts = _charts(page.get_data(as_text=True))
    assert "by_department" not in charts and "categories" not in charts
    assert charts["volumes"]["datasets"][0]["data"] == [0] * 10


def test_chart_js_is_served_by_the_app(app: Flask) -> None:
    """Built by `make vendor` (npm ci from package-lock.json), served from portal/static."""
    lock = json.loads((STATIC.parents[1] / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/chart.js"]["version"]
    client = app.test_client()
    with client.get("/static/vendor/chart.umd.js") as library:
        assert library.status_code == 200
        assert f"Chart.js v{version}" in library.get_data(as_text=True)[:400]
    with client.get("/static/analysis/charts.js") as script:
        assert script.status_code == 200
        assert "data-chart" in script.get_data(as_text=True)
