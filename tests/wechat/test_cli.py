"""``flask wechat simulate`` against the app served on loopback, in plain and safe mode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tickets.models import Ticket


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/wechat"
    server.shutdown()
    thread.join(timeout=5)


def _simulate(app: Flask, url: str, text: str, *extra: str) -> Any:
    return app.test_cli_runner().invoke(args=["wechat", "simulate", text, "--url", url, *extra])


@pytest.mark.parametrize("wechat_mode", ["plain", "safe"])
def test_simulate_walks_the_intake_dialog(
    app: Flask, served: str, db: Session, departments: Any
) -> None:
    script = [
        ("我要投诉", "描述"),
        ("小区门口的垃圾三天没人清理了，气味很大", "地址"),
        ("香洲区吉大路1号", "手机"),
        ("13800138000", "确认"),
        ("1", "工单编号"),
    ]
    for text, expected in script:
        result = _simulate(app, served, text, "--user", "o-simulated")
        assert result.exit_code == 0, result.output
        assert expected in result.output, result.output
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.channel == "wechat" and ticket.number in result.output


def test_simulate_reports_a_refusal(app: Flask, served: str) -> None:
    result = _simulate(app, served.replace("/wechat", "/no-such-door"), "你好")
    assert result.exit_code != 0 and "answered 404" in result.output


def test_simulate_without_a_server_or_a_token_fails_cleanly(app: Flask) -> None:
    result = _simulate(app, "http://127.0.0.1:9/wechat", "你好")
    assert result.exit_code != 0 and "cannot reach" in result.output
    app.config["WECHAT_TOKEN"] = None
    result = _simulate(app, "http://127.0.0.1:9/wechat", "你好")
    assert result.exit_code != 0 and "channel is off" in result.output
