"""One turn of the dialog: the conversation, the inbound message and the replies being built."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.engine.models import Conversation
from bot.engine.types import Choice, InboundMessage, Location, Reply
from core import clock
from core.i18n import translate

KEPT_LOCATION = "kept_location"
KEPT_LOCATION_FOR = dt.timedelta(hours=2)


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
        """The conversation's next state and its data; a location kept for the next ticket
        (:meth:`keep_location`) stays until the intake uses it or it is old."""
        kept = (self.conversation.data or {}).get(KEPT_LOCATION)
        fresh = dict(data)
        if kept is not None and KEPT_LOCATION not in fresh:
            fresh[KEPT_LOCATION] = kept
        self.conversation.state = state
        self.conversation.data = {k: v for k, v in fresh.items() if v is not None}

    def keep_location(self, location: Location) -> None:
        """A location shared outside the intake: the place of the next ticket (for a while)."""
        data = dict(self.conversation.data or {})
        data[KEPT_LOCATION] = {
            "latitude": location.latitude,
            "longitude": location.longitude,
            "label": location.label,
            "at": clock.now().isoformat(),
        }
        self.conversation.data = data

    def kept_location(self) -> Location | None:
        kept = (self.conversation.data or {}).get(KEPT_LOCATION)
        if not isinstance(kept, dict):
            return None
        try:
            at = dt.datetime.fromisoformat(str(kept["at"]))
            location = Location(
                float(kept["latitude"]), float(kept["longitude"]), kept.get("label")
            )
        except (KeyError, TypeError, ValueError):
            return None
        return location if clock.now() - at <= KEPT_LOCATION_FOR else None

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.conversation.data or {})
