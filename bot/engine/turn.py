"""One turn of the dialog: the conversation, the inbound message and the replies being built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.engine.models import Conversation
from bot.engine.types import Choice, InboundMessage, Reply
from core.i18n import translate


@dataclass
class Turn:
    session: Session
    conversation: Conversation
    message: InboundMessage
    config: Mapping[str, Any]
    text: str
    replies: list[Reply] = field(default_factory=list)

    def t(self, message_id: str, **params: Any) -> str:
        return translate(message_id, self.conversation.locale, **params)

    def say(self, message_id: str, *choices: Choice, **params: Any) -> None:
        self.replies.append(Reply(self.t(message_id, **params), tuple(choices)))

    def say_text(self, text: str, *choices: Choice) -> None:
        self.replies.append(Reply(text, tuple(choices)))

    def choice(self, value: str, label_id: str | None = None, **params: Any) -> Choice:
        """A quick reply; the label is a message id (translated) or the value itself."""
        return Choice(value, self.t(label_id, **params) if label_id else value)

    def set_state(self, state: str, **data: Any) -> None:
        self.conversation.state = state
        self.conversation.data = dict(data)

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.conversation.data or {})
