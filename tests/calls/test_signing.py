"""Signed switchboard requests: good, bad, missing, stale, replayed, revoked."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from calls import keys
from calls.keys import NewKey, create_key, revoke_key, sign, signed_headers
from calls.models import CtiKey, CtiNonce
from core import clock
from tests.calls.conftest import URL, counts, event
from tests.conftest import at

BODY = event("offered", "C-1", at(2026, 3, 10, 9), caller="13800138000", queue="综合")


def _raw(body: Any = BODY) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def test_a_signed_event_is_accepted(post, db: Session) -> None:
    response = post(BODY)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1
    assert counts(db) == (1, 1, 1)
    key = db.scalars(select(CtiKey)).one()
    assert key.last_used_at is not None


@pytest.mark.parametrize(
    "missing", [keys.KEY_ID_HEADER, keys.TIMESTAMP_HEADER, keys.NONCE_HEADER, keys.SIGNATURE_HEADER]
)
def test_a_missing_header_is_401_and_stores_nothing(
    client: FlaskClient, cti_key: NewKey, db: Session, missing: str
) -> None:
    raw = _raw()
    headers = signed_headers(cti_key.key.key_id, cti_key.secret, raw, now=clock.now())
    del headers[missing]
    response = client.post(URL, data=raw, headers=headers)
    assert response.status_code == 401
    assert missing in response.get_json()["error"]
    assert counts(db) == (0, 0, 0)


def test_a_wrong_secret_a_changed_body_or_an_unknown_key_is_401(
    client: FlaskClient, cti_key: NewKey, db: Session
) -> None:
    raw = _raw()
    now = clock.now()
    wrong_secret = signed_headers(cti_key.key.key_id, cti_key.secret + "x", raw, now=now)
    assert client.post(URL, data=raw, headers=wrong_secret).status_code == 401
    good = signed_headers(cti_key.key.key_id, cti_key.secret, raw, now=now)
    tampered = raw.replace(b"13800138000", b"13900139000")
    assert client.post(URL, data=tampered, headers=good).status_code == 401
    unknown = {**good, keys.KEY_ID_HEADER: "cti_0000000000000000"}
    assert client.post(URL, data=raw, headers=unknown).status_code == 401
    garbage = {**good, keys.SIGNATURE_HEADER: "not-hex"}
    assert client.post(URL, data=raw, headers=garbage).status_code == 401
    later = {**good, keys.TIMESTAMP_HEADER: str(int(now.timestamp()) + 1)}
    assert client.post(URL, data=raw, headers=later).status_code == 401  # timestamp is signed
    other_nonce = {**good, keys.NONCE_HEADER: "n" * 24}
    assert client.post(URL, data=raw, headers=other_nonce).status_code == 401  # so is the nonce
    short_nonce = {**good, keys.NONCE_HEADER: "short"}
    refused = client.post(URL, data=raw, headers=short_nonce)
    assert refused.status_code == 401 and keys.NONCE_HEADER in refused.get_json()["error"]
    assert counts(db) == (0, 0, 0)
    # the untouched request still goes through: none of the refusals used up its signature
    assert client.post(URL, data=raw, headers=good).status_code == 200


@pytest.mark.parametrize(
    "offset, accepted", [(-301, False), (301, False), (-299, True), (299, True)]
)
def test_timestamps_more_than_five_minutes_off_are_stale(
    post, db: Session, offset: int, accepted: bool
) -> None:
    with clock.frozen(at(2026, 3, 10, 10)):
        response = post(BODY, now=clock.now() + dt.timedelta(seconds=offset))
    assert response.status_code == (200 if accepted else 401), response.get_json()
    if not accepted:
        assert "300" in response.get_json()["error"]
    assert counts(db)[0] == (1 if accepted else 0)


def test_a_replayed_request_is_refused_and_a_fresh_signature_is_a_duplicate(
    client: FlaskClient, cti_key: NewKey, db: Session
) -> None:
    raw = _raw()
    headers = signed_headers(cti_key.key.key_id, cti_key.secret, raw, now=clock.now())
    assert client.post(URL, data=raw, headers=headers).status_code == 200
    replay = client.post(URL, data=raw, headers=headers)
    assert replay.status_code == 409
    assert counts(db) == (1, 1, 1)
    # the same body in the same second with a new nonce is a new request (a duplicate event)
    again = client.post(
        URL,
        data=raw,
        headers=signed_headers(cti_key.key.key_id, cti_key.secret, raw, now=clock.now()),
    )
    assert again.status_code == 200 and again.get_json()["duplicates"] == 1
    assert counts(db) == (1, 1, 2)


def test_old_signatures_are_forgotten_after_the_window(post, db: Session) -> None:
    start = at(2026, 3, 10, 10)
    with clock.frozen(start):
        assert post(BODY).status_code == 200
    with clock.frozen(start + dt.timedelta(seconds=keys.NONCE_TTL_SECONDS + 1)):
        assert (
            post(
                event("abandoned", "C-1", at(2026, 3, 10, 9) + dt.timedelta(seconds=30))
            ).status_code
            == 200
        )
    db.rollback()
    seen = db.scalars(select(CtiNonce.seen_at)).all()
    assert seen == [start + dt.timedelta(seconds=keys.NONCE_TTL_SECONDS + 1)]


def test_a_revoked_key_is_refused(post, cti_key: NewKey, db: Session, staff) -> None:
    key = db.get(CtiKey, cti_key.key.id)
    assert key is not None
    revoke_key(db, key, actor=staff["admin"])
    db.commit()
    assert post(BODY).status_code == 401
    assert counts(db) == (0, 0, 0)


def test_a_second_key_of_the_same_switchboard_shares_its_calls(
    app: Flask, post, cti_key: NewKey, db: Session, staff
) -> None:
    second = create_key(db, "华为 CTI", pepper=app.config["SECRET_KEY"], actor=staff["admin"])
    db.commit()
    assert second.key.system_id == cti_key.key.system_id and second.secret != cti_key.secret
    assert post(BODY).status_code == 200
    assert post(BODY, key=second).get_json()["duplicates"] == 1


def test_the_secret_is_not_stored_and_a_changed_app_secret_breaks_the_key(
    app: Flask, post, cti_key: NewKey, db: Session
) -> None:
    key = db.get(CtiKey, cti_key.key.id)
    assert key is not None
    stored = " ".join(str(getattr(key, c.key)) for c in CtiKey.__table__.columns)
    assert cti_key.secret not in stored
    assert keys.secret_of(key, app.config["SECRET_KEY"]) == cti_key.secret
    assert keys.secret_of(key, "another-secret") is None
    app.config["SECRET_KEY"] = "another-secret"
    assert post(BODY).status_code == 401


def test_the_signature_is_hmac_sha256_over_timestamp_nonce_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"1773108000.abcdefghijklmnop.{}", hashlib.sha256).hexdigest()
    assert sign("s3cret", 1773108000, "abcdefghijklmnop", b"{}") == expected


@pytest.fixture
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5.0)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        cached = keys._redis_stores.pop(f"redis://127.0.0.1:{port}/0", None)
        if cached is not None:
            cached.client.close()
        client.close()
        server.terminate()
        server.wait(timeout=10)


def test_with_redis_signatures_are_remembered_there(
    app: Flask, client: FlaskClient, cti_key: NewKey, db: Session, redis_url: str
) -> None:
    app.config["REDIS_URL"] = redis_url
    raw = _raw()
    headers = signed_headers(cti_key.key.key_id, cti_key.secret, raw, now=clock.now())
    assert client.post(URL, data=raw, headers=headers).status_code == 200
    assert client.post(URL, data=raw, headers=headers).status_code == 409
    assert counts(db) == (1, 1, 0)  # no nonce row: Redis holds it
    store = keys.RedisNonceStore.from_url(redis_url)
    ttl = store.client.ttl(f"{store.prefix}:nonce:{headers[keys.SIGNATURE_HEADER]}")
    assert 0 < ttl <= keys.NONCE_TTL_SECONDS
    store.client.close()


def test_without_its_redis_the_endpoint_refuses_with_503(app: Flask, post, db: Session) -> None:
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    try:
        response = post(BODY)
    finally:
        keys._redis_stores.pop("redis://127.0.0.1:9/0").client.close()
    assert response.status_code == 503 and "error" in response.get_json()
    assert counts(db) == (0, 0, 0)
