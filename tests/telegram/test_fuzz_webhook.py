"""Properties of ``POST /telegram/webhook`` under hostile input (the tests/edge style), with the
bot configured: whatever the body and the secret header, the answer is 200, 400, 403 or 413,
never a 5xx, and without the right secret nothing is written."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage

from .conftest import SECRET, Hook

FUZZ = settings(
    max_examples=int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "20")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["/start", "/status 1 2", "取消", "人工", "确认", "c:确认", "r:satisfied", ""]),
    st.integers(min_value=2**63, max_value=2**80).map(str),
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
CHAT = st.fixed_dictionaries(
    {
        "id": st.one_of(st.just(5_550_009), st.integers()),
        "type": st.sampled_from(["private", "group", "x"]),
    }
)
MESSAGE = st.fixed_dictionaries(
    {
        "message_id": st.one_of(st.just(1), st.integers()),
        "date": st.just(1_773_108_000),
        "chat": CHAT,
    },
    optional={
        "text": TEXT,
        "caption": TEXT,
        "from": st.fixed_dictionaries(
            {"id": st.just(5_550_009), "is_bot": st.booleans(), "first_name": TEXT},
            optional={"language_code": TEXT},
        ),
        "location": st.fixed_dictionaries({"latitude": st.floats(), "longitude": st.floats()}),
        "photo": st.lists(
            st.fixed_dictionaries(
                {
                    "file_id": TEXT,
                    "file_unique_id": TEXT,
                    "width": st.integers(),
                    "height": st.integers(),
                }
            ),
            max_size=2,
        ),
    },
)
UPDATE = st.one_of(
    st.fixed_dictionaries(
        {"update_id": st.integers(min_value=-(2**40), max_value=2**70)},
        optional={"message": MESSAGE, "edited_message": MESSAGE},
    ),
    st.dictionaries(TEXT, SCALAR, max_size=3),
    SCALAR,
    st.lists(SCALAR, max_size=3),
)
ANSWERS = {200, 400, 403, 413}


def _rows(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(ChatMessage)) or 0


@FUZZ
@given(update=UPDATE)
def test_a_signed_update_of_any_shape_never_fails(hook: Hook, update: Any) -> None:
    response = hook.post(update)
    assert response.status_code in ANSWERS, response.get_data(as_text=True)[:300]


@FUZZ
@given(
    body=st.binary(max_size=300),
    # CR and LF cannot travel inside a header value (see tests/edge/test_fuzz.py)
    secret=st.one_of(st.none(), st.text(st.characters(exclude_characters="\r\n"), max_size=30)),
)
def test_any_body_without_the_secret_is_refused_and_writes_nothing(
    hook: Hook, db: Session, body: bytes, secret: str | None
) -> None:
    before = _rows(db)
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    response = hook.client.post(
        "/telegram/webhook", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code in {400, 403}
    assert _rows(db) == before
    signed = hook.client.post(
        "/telegram/webhook",
        data=body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert signed.status_code in ANSWERS
