"""``flask cti keys|simulate|figures`` against the app served on loopback."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from calls.models import Call, CtiKey
from tests.calls.conftest import fresh


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


def _cti(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["cti", *args])


def test_keys_create_list_revoke(app: Flask, db: Session) -> None:
    created = _cti(app, "keys", "create", "华为 CTI")
    assert created.exit_code == 0, created.output
    key_id = re.search(r"key id:\s+(cti_[0-9a-f]{16})", created.output).group(1)  # type: ignore[union-attr]
    secret = re.search(r"secret:\s+(\S+)", created.output).group(1)  # type: ignore[union-attr]
    listed = _cti(app, "keys", "list")
    assert key_id in listed.output and "active" in listed.output and secret not in listed.output
    revoked = _cti(app, "keys", "revoke", key_id)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked 20" in _cti(app, "keys", "list").output
    assert fresh(db).scalars(select(CtiKey)).one().revoked_at is not None
    missing = _cti(app, "keys", "revoke", "cti_0000000000000000")
    assert missing.exit_code != 0 and "No such" in missing.output
    nameless = _cti(app, "keys", "create", " ")
    assert nameless.exit_code != 0 and "name" in nameless.output


def test_simulate_posts_a_day_that_the_figures_count(app: Flask, served: str, db: Session) -> None:
    result = _cti(app, "simulate", "--url", served, "--calls", "150", "--date", "2026-03-09")
    assert result.exit_code == 0, result.output
    match = re.search(
        r"150 calls on 2026-03-09 \((\d+) abandoned\): (\d+) events .* (\d+) accepted",
        result.output,
    )
    assert match, result.output
    abandoned, events, accepted = (int(g) for g in match.groups())
    assert events == accepted and 0 < abandoned < 150
    # every call offered, answered + abandoned = 150, answered calls ended: 3 events per answered
    assert events == 150 + (150 - abandoned) * 2 + abandoned
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Call)) == 150
    assert db.scalar(select(func.count()).where(Call.abandoned_at.is_not(None))) == abandoned
    assert set(db.scalars(select(Call.offered_date).distinct())) == {dt.date(2026, 3, 9)}
    figures = _cti(app, "figures", "--date", "2026-03-09")
    assert figures.exit_code == 0, figures.output
    total = next(line for line in figures.output.splitlines() if line.startswith("all queues"))
    cells = total.split("\t")
    assert cells[2:5] == ["150", str(150 - abandoned), str(abandoned)]
    assert (
        "人工接通率" in figures.output
        and "专席 人社" in figures.output
        and "综合" in figures.output
    )
    # again: the same calls, every event a duplicate; the simulator reused its key
    again = _cti(app, "simulate", "--url", served, "--calls", "150", "--date", "2026-03-09")
    assert again.exit_code == 0 and f"0 accepted, {events} duplicates" in again.output
    assert len(fresh(db).scalars(select(CtiKey)).all()) == 1


def test_simulate_with_a_given_key_and_its_refusals(app: Flask, served: str) -> None:
    created = _cti(app, "keys", "create", "pbx")
    key_id = re.search(r"(cti_[0-9a-f]{16})", created.output).group(1)  # type: ignore[union-attr]
    secret = re.search(r"secret:\s+(\S+)", created.output).group(1)  # type: ignore[union-attr]
    base = ["simulate", "--url", served, "--calls", "5", "--date", "2026-03-09", "--key-id", key_id]
    ok = _cti(app, *base, "--secret", secret)
    assert ok.exit_code == 0 and "5 calls" in ok.output
    wrong = _cti(app, *base, "--secret", secret + "x")
    assert wrong.exit_code != 0 and "answered 401" in wrong.output
    half = _cti(app, "simulate", "--url", served, "--key-id", key_id)
    assert half.exit_code != 0 and "both" in half.output
    down = _cti(app, "simulate", "--url", "http://127.0.0.1:9", "--calls", "1")
    assert down.exit_code != 0 and "cannot reach" in down.output
    bad_day = _cti(app, "figures", "--date", "10/03/2026")
    assert bad_day.exit_code != 0 and "YYYY-MM-DD" in bad_day.output


def test_figures_of_an_empty_day(app: Flask) -> None:
    result = _cti(app, "figures")
    assert result.exit_code == 0
    assert "call figures for 2026-03-10" in result.output or "call figures for" in result.output
    assert "all queues\tall day\t0\t0\t0\t-" in result.output
