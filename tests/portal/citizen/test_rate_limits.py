from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.portal.citizen.helpers import form


def _app(test_config: dict[str, Any], **overrides: Any) -> Flask:
    from hotline.factory import create_app

    return create_app(
        {
            **test_config,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": "test-" + secrets.token_hex(4),
            **overrides,
        }
    )


@pytest.fixture
def limited(test_config, departments) -> Iterator[Flask]:
    app = _app(
        test_config,
        RATELIMIT_SUBMIT="2 per minute",
        RATELIMIT_SEARCH="3 per minute",
        RATELIMIT_TRACK_FAILURES="3 per 10 minutes",
        RATELIMIT_TRACK_FAILURES_PER_NUMBER="5 per hour",
    )
    yield app
    app.extensions["hotline_db"].dispose()


def test_submit_is_limited_per_ip(limited) -> None:
    client = limited.test_client()
    assert client.post("/submit", data=form(form_token="a" * 32)).status_code == 303
    assert client.post("/submit", data=form(form_token="b" * 32)).status_code == 303
    blocked = client.post("/submit", data=form(form_token="c" * 32))
    assert blocked.status_code == 429
    assert "请求过于频繁" in blocked.get_data(as_text=True)
    # the API shares the submit budget and answers JSON
    api = client.post("/api/v1/tickets", json={"kind": "praise", "description": "好"})
    assert api.status_code == 429 and "error" in api.get_json()
    # showing the form is not limited
    assert client.get("/submit").status_code == 200
    # another address is not affected
    other = client.post(
        "/submit", data=form(form_token="d" * 32), environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 303


def test_search_is_limited(limited) -> None:
    client = limited.test_client()
    for _ in range(3):
        assert client.get("/search?q=社保").status_code == 200
    assert client.get("/search?q=社保").status_code == 429


def test_track_failures_slow_down_but_successes_do_not_count(limited, make_ticket) -> None:
    ticket = make_ticket()
    client = limited.test_client()
    good = {"number": ticket.number, "by": "code", "code": ticket.query_code}
    for _ in range(5):  # successes are never counted as failures
        assert client.post("/track", data=good).status_code == 303
    bad = {**good, "code": "WRONG1"}
    for _ in range(3):
        assert client.post("/track", data=bad).status_code == 404
    # after a few failures this address waits, even with the right code
    assert client.post("/track", data=good).status_code == 429
    assert client.get(f"/api/v1/tickets/{ticket.number}?code=x").status_code == 429


def test_track_failures_are_also_counted_per_number(limited, make_ticket) -> None:
    ticket = make_ticket()
    client = limited.test_client()
    bad = {"number": ticket.number, "by": "code", "code": "WRONG1"}
    for i in range(5):
        env = {"REMOTE_ADDR": f"10.0.1.{i}"}
        assert client.post("/track", data=bad, environ_base=env).status_code == 404
    env = {"REMOTE_ADDR": "10.0.2.1"}
    good = {**bad, "code": ticket.query_code}
    assert client.post("/track", data=good, environ_base=env).status_code == 429


def test_limits_can_be_switched_off(test_config, departments) -> None:
    app = _app(test_config, RATELIMIT_ENABLED=False, RATELIMIT_SEARCH="1 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/search?q=x").status_code == 200
    app.extensions["hotline_db"].dispose()


def test_redis_backed_limits(test_config, departments) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"no Redis answers at {url}: {error}")
    app = _app(test_config, REDIS_URL=url, RATELIMIT_SEARCH="2 per minute")
    assert app.config["RATELIMIT_STORAGE_URI"] == url
    client = app.test_client()
    assert client.get("/search?q=a").status_code == 200
    # a second app server sharing the Redis store sees the same count
    other = _app(
        test_config,
        REDIS_URL=url,
        RATELIMIT_SEARCH="2 per minute",
        RATELIMIT_KEY_PREFIX=app.config["RATELIMIT_KEY_PREFIX"],
    )
    assert other.test_client().get("/search?q=b").status_code == 200
    assert other.test_client().get("/search?q=c").status_code == 429
    for application in (app, other):
        application.extensions["hotline_db"].dispose()
