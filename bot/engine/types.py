"""What a channel hands to the engine and what it gets back. Channels only translate these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str | None = None  # the place name the channel sends with a shared location


@dataclass(frozen=True)
class InboundMessage:
    """One message from a citizen. ``message_id`` is the channel's own id; a message with an id
    the conversation has seen before is answered again with the first replies (WeChat resends
    when slow). WeChat events have no MsgId: the adapter passes sender + CreateTime."""

    channel: str
    user_id: str
    message_id: str
    text: str = ""
    location: Location | None = None
    image: str | None = None  # a stored media reference (URL or media id)
    voice_text: str | None = None  # the channel's speech recognition result
    locale: str | None = None  # the citizen's language if the channel knows it


@dataclass(frozen=True)
class Choice:
    """A quick reply: ``value`` is what the channel sends back as the citizen's text when chosen."""

    value: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"value": self.value, "label": self.label}


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "choices": [c.as_dict() for c in self.choices]}
