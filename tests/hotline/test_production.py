"""The production shape: the client address behind a trusted proxy, the backup that restores, and
the whole stack on loopback (nginx → two gunicorn instances, worker, scheduler) surviving the loss
of one app server."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tickets.models import Ticket

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
NGINX = Path("/usr/sbin/nginx")


def _addr_app(make_app: Callable[..., Flask], proxies: int) -> Flask:
    app = make_app(TRUSTED_PROXIES=proxies)
    app.add_url_rule("/_test/addr", "addr", lambda: f"{request.remote_addr} {request.scheme}")
    return app


@pytest.mark.parametrize(
    ("proxies", "seen"), [(0, "10.0.0.9 http"), (1, "203.0.113.7 https")], ids=["none", "nginx"]
)
def test_the_client_address_comes_from_the_proxy_only_when_trusted(
    make_app: Callable[..., Flask], proxies: int, seen: str
) -> None:
    app = _addr_app(make_app, proxies)
    response = app.test_client().get(
        "/_test/addr",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.get_data(as_text=True) == seen


def test_a_client_cannot_claim_an_address_through_a_trusted_proxy(
    make_app: Callable[..., Flask],
) -> None:
    # nginx sets X-Forwarded-For to the connection's address, replacing the client's claim; were
    # a claim appended instead, only the last (the proxy's own entry) counts.
    app = _addr_app(make_app, 1)
    response = app.test_client().get(
        "/_test/addr",
        headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.get_data(as_text=True).split()[0] == "203.0.113.7"


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("needs PostgreSQL (pg_dump / pg_restore): the suite's PostgreSQL run")
    return database_url


@pytest.mark.postgres
def test_a_backup_restores_with_every_row(
    postgres_url: str, make_ticket: Callable[..., Ticket], db: Any
) -> None:
    make_ticket("dept_review")
    make_ticket("closed")
    db.commit()
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "backup_restore.py"),
            "check",
            "--database-url",
            postgres_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines() if line}
    assert lines["tickets"][:2] == ["2", "2"]
    assert lines["ticket_events"][0] == lines["ticket_events"][1] != "0"
    assert lines["outbox_messages"][0] == lines["outbox_messages"][1] != "0"
    assert "restore check: the same" in run.stdout


@pytest.fixture
def stack(postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    if not NGINX.exists():
        pytest.skip("needs nginx (Debian's package; .ci/run installs it as root)")
    base = make_url(postgres_url)
    url = base.set(database=f"{base.database}_stack").render_as_string(hide_password=False)
    env = {
        **os.environ,
        "HOTLINE_PROD_RUN_DIR": str(tmp_path / "prod"),
        "HOTLINE_PROD_APP_PORTS": "18001,18002",
    }

    def prod(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(SCRIPTS / "prod.py"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    prod("up", "--database-url", url, "--port", "18080", "--workers", "1")
    try:
        yield prod
    finally:
        prod("down")
        _drop(url)


def _drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _get(path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:18080{path}", timeout=10) as response:
        return int(response.status)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_stack_answers_through_nginx_and_survives_losing_an_app_server(
    stack: Callable[..., str],
) -> None:
    assert _get("/healthz") == 200
    assert _get("/") == 200
    stack("kill", "app1")
    assert [_get("/healthz") for _ in range(8)] == [200] * 8  # nginx sends all to app2
    stack("start", "app1")
    assert "app1" in stack("status")
    assert [_get("/faq") for _ in range(4)] == [200] * 4


@pytest.mark.parametrize(("path", "json"), [("/_test/db-gone", False), ("/api/v1/_test", True)])
def test_a_database_that_went_away_is_a_503_to_retry_not_a_500(
    make_app: Callable[..., Flask], path: str, json: bool
) -> None:
    from sqlalchemy.exc import OperationalError

    app = make_app(PROPAGATE_UNEXPECTED=False)

    def gone() -> str:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    app.add_url_rule(path, "gone", gone)
    response = app.test_client().get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    body = response.get_data(as_text=True)
    assert response.is_json is json
    message = response.get_json()["error"] if json else body
    assert "服务暂时不可用" in message
    assert "Traceback" not in body


def test_a_database_gone_at_commit_is_a_503_and_the_retry_makes_one_ticket(
    app: Flask, make_app: Callable[..., Flask], db: Any
) -> None:
    """The commit happens after the view, in a response hook, where an exception would bypass
    the error handlers and be a bare 500 (PostgreSQL restarted under the fault load did that)."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    served = make_app(PROPAGATE_UNEXPECTED=False)
    sessions = served.extensions["hotline_db"].sessionmaker

    state = {"view done": False, "failed once": False}

    @served.after_request  # runs before the committing hook (hooks run in reverse order)
    def view_done(response: Any) -> Any:
        state["view done"] = True
        return response

    def gone(_session: Any) -> None:
        if state["view done"] and not state["failed once"]:
            state["failed once"] = True
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    body = {"kind": "complaint", "description": "路灯坏了一周，晚上很黑", "phone": "13800138000"}
    headers = {"Idempotency-Key": "commit-gone-1"}
    event.listen(sessions, "before_commit", gone)
    first = served.test_client().post("/api/v1/tickets", json=body, headers=headers)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"
    assert first.headers["X-Content-Type-Options"] == "nosniff"  # the response hooks ran on it
    assert "服务暂时不可用" in first.get_json()["error"]
    db.rollback()
    assert db.query(Ticket).count() == 0
    again = served.test_client().post("/api/v1/tickets", json=body, headers=headers)
    assert again.status_code == 201
    db.rollback()
    assert db.query(Ticket).count() == 1
