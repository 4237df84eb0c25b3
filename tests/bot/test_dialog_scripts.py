"""Dialog scripts (tests/bot/scripts/*.json) replayed against the engine.

A script names its channel, an optional frozen local time, config, FAQ entries (a stand-in
knowledge base), tickets to create for the citizen ("mine") or someone else, and steps: each sends
one message (text, or a shared location) and states what the replies must contain. ``{name}`` and
``{name_code}`` in a step stand for the number and query code of a ticket the script made, and
``{last}`` for the newest ticket. A step with the ``id`` of an earlier step resends that message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, Location, Reply, handle_message
from bot.engine.models import Conversation, Handoff
from core import clock
from delivery.models import OutboxMessage
from tickets.models import Ticket

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.json"))


def _fill(text: str, names: dict[str, str]) -> str:
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


def _check(step: dict[str, Any], replies: list[Reply], names: dict[str, str], where: str) -> None:
    joined = "\n---\n".join(r.text for r in replies)
    for expected in step.get("expect", []):
        assert _fill(expected, names) in joined, f"{where}: {expected!r} not in replies:\n{joined}"
    for unexpected in step.get("expect_not", []):
        assert _fill(unexpected, names) not in joined, f"{where}: {unexpected!r} in:\n{joined}"
    if "replies" in step:
        assert len(replies) == step["replies"], f"{where}: {len(replies)} replies:\n{joined}"
    if "choices" in step:
        values = [c.value for c in replies[-1].choices] if replies else []
        assert values == [_fill(v, names) for v in step["choices"]], f"{where}: choices {values}"


def _check_after(db: Session, after: dict[str, Any], user_id: str, channel: str) -> None:
    conversation = db.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.user_id == user_id)
    )
    assert conversation is not None
    if "tickets" in after:
        count = db.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.citizen_id == conversation.citizen_id)
        )
        assert count == after["tickets"]
    if "ticket" in after:
        ticket = db.scalars(
            select(Ticket)
            .where(Ticket.citizen_id == conversation.citizen_id)
            .order_by(Ticket.id.desc())
        ).first()
        assert ticket is not None
        for key, value in after["ticket"].items():
            assert getattr(ticket, key) == value, f"ticket.{key} = {getattr(ticket, key)!r}"
    if "mode" in after:
        assert conversation.mode == after["mode"]
    if "state" in after:
        assert conversation.state == after["state"]
    if "handoffs" in after:
        rows = db.scalars(
            select(Handoff).where(Handoff.conversation_id == conversation.id).order_by(Handoff.id)
        ).all()
        got = [
            {k: getattr(h, k) for k in expected}
            for h, expected in zip(rows, after["handoffs"], strict=False)
        ]
        assert len(rows) == len(after["handoffs"]) and got == after["handoffs"], got
    if "outbox_templates" in after:
        templates = db.scalars(
            select(OutboxMessage.template)
            .where(OutboxMessage.recipient == user_id)
            .order_by(OutboxMessage.id)
        ).all()
        assert list(templates) == after["outbox_templates"]


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_dialog_script(
    path: Path,
    db: Session,
    make_ticket: Callable[..., Ticket],
    fake_knowledge: Callable[..., Any],
) -> None:
    script = json.loads(path.read_text(encoding="utf-8"))
    channel = script.get("channel", "wechat")
    user_id = script.get("user_id", "citizen-openid-1")
    config = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
    config.update(script.get("config", {}))
    fake_knowledge(script.get("faq", []))
    moment = (
        dt.datetime.fromisoformat(script["time"])
        if "time" in script
        else dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    )
    with clock.frozen(moment):
        names: dict[str, str] = {}
        for name, spec in script.get("tickets", {}).items():
            owner = spec.get("owner", user_id)
            ticket = make_ticket(
                spec.get("stage", "handling"),
                kind=spec.get("kind", "complaint"),
                channel=channel,
                external_id=owner,
            )
            names[name] = ticket.number
            names[f"{name}_code"] = ticket.query_code
        seen: dict[str, list[Reply]] = {}
        for n, step in enumerate(script["steps"], start=1):
            where = f"{path.stem} step {n} ({step.get('send', '')!r})"
            message_id = step.get("id", f"msg-{n}")
            location = step.get("location")
            inbound = InboundMessage(
                channel=channel,
                user_id=user_id,
                message_id=message_id,
                text=_fill(step.get("send", ""), names),
                location=Location(*location) if location else None,
            )
            replies = handle_message(db, inbound, config=config)
            db.commit()
            last = db.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
            if last is not None:
                names["last"] = last.number
                names["last_code"] = last.query_code
            if message_id in seen:
                assert replies == seen[message_id], f"{where}: a resent id got other replies"
            seen.setdefault(message_id, replies)
            _check(step, replies, names, where)
        _check_after(db, script.get("after", {}), user_id, channel)
