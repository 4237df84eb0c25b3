"""Helpers for the switchboard tests: a key, signed requests, row counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calls.keys import NewKey, create_key, signed_headers
from calls.models import Call, CallEvent, CtiKey, CtiNonce
from core import clock
from directory.models import StaffUser

URL = "/api/v1/cti/events"


@pytest.fixture
def cti_key(app: Flask, db: Session, staff: dict[str, StaffUser]) -> NewKey:
    new = create_key(db, "华为 CTI", pepper=app.config["SECRET_KEY"], actor=staff["admin"])
    db.commit()
    return new


def event(kind: str, call_id: str, at: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "type": kind,
        "call_id": call_id,
        "at": at.isoformat() if hasattr(at, "isoformat") else at,
    }
    body.update(extra)
    return body


@pytest.fixture
def post(client: FlaskClient, cti_key: NewKey) -> Callable[..., Any]:
    """POST a body signed with the test key (``now`` moves the signing time)."""

    def send(
        body: Any, *, key: NewKey | None = None, now: Any = None, raw: bytes | None = None
    ) -> Any:
        signer = key or cti_key
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = signed_headers(signer.key.key_id, signer.secret, data, now=now or clock.now())
        return client.post(URL, data=data, headers=headers)

    return send


def fresh(db: Session) -> Session:
    """``db`` seeing what the app committed (nothing cached from before)."""
    db.rollback()
    db.expire_all()
    return db


def counts(db: Session) -> tuple[int, int, int]:
    fresh(db)
    return (
        db.scalar(select(func.count()).select_from(Call)) or 0,
        db.scalar(select(func.count()).select_from(CallEvent)) or 0,
        db.scalar(select(func.count()).select_from(CtiNonce)) or 0,
    )


def only_call(db: Session) -> Call:
    fresh(db)
    return db.scalars(select(Call)).one()


__all__ = ["URL", "CtiKey", "counts", "event", "fresh", "only_call"]
