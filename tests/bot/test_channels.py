"""Channel capabilities are data the adapters register (``delivery.channels``): the engine pushes
to a channel that registered ``can_push`` and to no other, and never knows a channel by name."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.handoff import pick_up_chat, send_staff_reply
from bot.engine.models import Conversation, Handoff
from delivery import channels
from delivery.channels import ChannelCapabilities, capabilities, register_channel
from delivery.models import OutboxMessage
from directory.models import StaffUser

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
_ids = itertools.count(1)


def _chat_with_staff(db: Session, channel: str, user: str, operator: StaffUser) -> Handoff:
    handle_message(db, InboundMessage(channel, user, f"c{next(_ids)}", "人工"), config=CONFIG)
    conversation = db.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.user_id == user)
    )
    assert conversation is not None and conversation.handoff_id
    handoff = pick_up_chat(db, conversation.handoff_id, actor=operator)
    send_staff_reply(db, handoff, "您好，请讲。", actor=operator)
    db.commit()
    return handoff


def _pushed(db: Session, channel: str, user: str) -> list[str]:
    return list(
        db.scalars(
            select(OutboxMessage.template)
            .where(OutboxMessage.channel == channel, OutboxMessage.recipient == user)
            .order_by(OutboxMessage.id)
        )
    )


def test_the_app_registers_the_adapters_channels(app: object) -> None:
    assert capabilities("wechat") == ChannelCapabilities(can_push=True, reply_window_hours=48)
    assert capabilities("telegram") == ChannelCapabilities(can_push=True, reply_window_hours=None)
    # the web chat polls; the hotline's messages about a ticket wait on the ticket's page
    assert capabilities("web") == ChannelCapabilities(can_push=False, ticket_inbox=True)
    assert not channels.DEFAULT.can_push and not channels.DEFAULT.ticket_inbox


def test_an_unregistered_channel_is_not_pushed_to(db: Session, staff: dict[str, StaffUser]) -> None:
    for channel in ("web", "carrier-pigeon"):
        _chat_with_staff(db, channel, f"{channel}-user", staff["operator"])
        assert _pushed(db, channel, f"{channel}-user") == []
    assert db.scalars(select(OutboxMessage)).all() == []


def test_a_registered_push_channel_is_pushed_to(
    db: Session, staff: dict[str, StaffUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(channels._channels, "line", ChannelCapabilities(can_push=True))
    _chat_with_staff(db, "line", "line-user", staff["operator"])
    assert _pushed(db, "line", "line-user") == ["chat_notice", "chat_staff_reply"]


def test_a_channel_registered_as_not_pushing_is_not_pushed_to(
    db: Session, staff: dict[str, StaffUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(channels._channels, "kiosk", ChannelCapabilities(can_push=False))
    _chat_with_staff(db, "kiosk", "kiosk-user", staff["operator"])
    assert _pushed(db, "kiosk", "kiosk-user") == []


def test_registering_again_is_harmless_but_a_conflict_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(channels, "_channels", {})
    register_channel("sms", ChannelCapabilities(can_push=True))
    register_channel("sms", ChannelCapabilities(can_push=True))
    with pytest.raises(ValueError, match="already registered"):
        register_channel("sms", ChannelCapabilities(can_push=False))
    assert capabilities("sms").can_push


def test_the_engine_names_no_channel() -> None:
    """The engine's code holds no channel name: channel differences are registered data."""
    names = {"web", "wechat", "telegram"}
    found = []
    for path in sorted((ROOT / "bot" / "engine").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert found == []


def test_registering_the_channels_imports_no_channel_sdk() -> None:
    code = (
        "import sys; import hotline.factory as f; f.register_channels(); "
        "print(sorted({'aiogram', 'wechatpy'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


CHANNEL_NAMES = {"web", "wechat", "telegram", "WEB", "WECHAT", "TELEGRAM"}


def _compared_channel_names(path: Path) -> list[str]:
    """``x == "wechat"``, ``x in ("wechat", "telegram")``, ``x == Channel.WECHAT``: a branch on a
    channel's name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            for leaf in ast.walk(operand):
                name = (
                    leaf.value
                    if isinstance(leaf, ast.Constant)
                    else leaf.attr
                    if isinstance(leaf, ast.Attribute)
                    else None
                )
                if name in CHANNEL_NAMES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return found


def test_no_domain_branches_on_a_channel_name() -> None:
    """Reaching a citizen (notices, survey reminders, chat pushes) asks the registered
    capabilities; no domain package compares a channel with a name."""
    found = []
    for package in ("tickets", "knowledge", "delivery", "bot/engine"):
        for path in sorted((ROOT / package).glob("*.py")):
            found += _compared_channel_names(path)
    assert found == []
