"""The same events sent at once over several connections: each is accepted exactly once."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from calls.keys import NewKey, signed_headers
from calls.models import Call, CallEvent
from core import clock
from tests.calls.conftest import fresh
from tests.conftest import at


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/api/v1/cti/events"
    server.shutdown()
    thread.join(timeout=5)


def test_eight_connections_racing_with_the_same_batch(
    served: str, cti_key: NewKey, db: Session
) -> None:
    start = at(2026, 3, 10, 9)
    events: list[dict[str, Any]] = []
    for n in range(20):
        offered = start.replace(minute=n)
        events.append(
            {"type": "offered", "call_id": f"R{n}", "at": offered.isoformat(), "queue": "综合"}
        )
        answered = offered.replace(second=15)
        events.append(
            {"type": "answered", "call_id": f"R{n}", "at": answered.isoformat(), "agent": "8001"}
        )
    body = json.dumps({"events": events}).encode()
    answers: list[tuple[int, int]] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        headers = signed_headers(cti_key.key.key_id, cti_key.secret, body, now=clock.now())
        request = urllib.request.Request(served, data=body, headers=headers, method="POST")
        barrier.wait()
        with urllib.request.urlopen(request, timeout=60) as response:
            answers.append((response.status, json.loads(response.read())["accepted"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 8
    assert sorted(accepted for _, accepted in answers) == [0] * 7 + [40]
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Call)) == 20
    assert db.scalar(select(func.count()).select_from(CallEvent)) == 40
    assert set(db.scalars(select(Call.wait_seconds))) == {15}
