"""Security headers on every response, cookies in production configuration, pages that pass the
Content-Security-Policy without inline exceptions, and no mobile number in any log."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory.models import StaffUser

INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=", re.IGNORECASE)


def _headers_ok(response: Any, where: str) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff", where
    assert headers["X-Frame-Options"] == "DENY", where
    assert headers["Referrer-Policy"] == "same-origin", where
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where


@pytest.mark.parametrize(
    "path", ["/", "/faq", "/api/v1/faq/search?q=社保", "/no-such-page", "/static/hotline.css"]
)
def test_every_kind_of_response_carries_the_security_headers(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    _headers_ok(response, path)
    response.close()  # a static file is streamed from disk


@pytest.mark.parametrize(
    ("base", "secure"), [("https://12345.zhuhai.gov.cn", True), ("http://127.0.0.1:5000", False)]
)
def test_the_session_cookie_is_secure_when_served_over_https(
    make_app: Callable[..., Flask], staff: dict[str, StaffUser], base: str, secure: bool
) -> None:
    app = make_app(PUBLIC_BASE_URL=base)
    client = app.test_client()
    response = client.post(
        "/staff/login",
        data={"username": "op", "password": "password123"},
        base_url=base.replace("http://", "https://") if secure else base,
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
    assert ("Strict-Transport-Security" in response.headers) is secure


def _get_pages(app: Flask, client: FlaskClient, prefix: str) -> list[str]:
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or not rule.rule.startswith(prefix):
            continue
        if rule.rule.startswith(("/static", "/api/", "/staff/logout")):
            continue
        response = client.get(rule.rule)
        if response.status_code == 200 and response.mimetype == "text/html":
            body = response.get_data(as_text=True)
            found = INLINE.search(body)
            assert found is None, f"{rule.rule}: inline {found.group(0) if found else ''!r}"
            pages.append(rule.rule)
    return pages


def test_pages_need_no_inline_script_or_style(
    app: Flask, client: FlaskClient, staff: dict[str, StaffUser], make_ticket: Callable[..., Any]
) -> None:
    make_ticket("dept_review")
    public = _get_pages(app, client, "/")
    assert {"/", "/faq", "/submit", "/track"} <= set(public)
    for role in ("admin", "supervisor", "operator"):
        console = app.test_client()
        signed_in = console.post(
            "/staff/login", data={"username": staff[role].username, "password": "password123"}
        )
        assert signed_in.status_code == 302
        assert len(_get_pages(app, console, "/staff")) > 3


def test_mobile_numbers_are_masked_in_every_log(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("tickets.anything").info(
            "citizen %s called about %s", "13800138000", "260310000001"
        )
        logging.getLogger("wechat").warning("raw text 联系电话13912345678，谢谢")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "citizen 138****8000 called about 260310000001",
        "raw text 联系电话139****5678，谢谢",
    ]
