"""What the engine may do on a channel, as data the channel's adapter registers.

The engine never knows a channel by name: an adapter (``wechat``, ``bot.telegram``, …) calls
:func:`register_channel` from its ``register_channels()``, which the composition root
(``hotline.factory.create_app``) calls at start-up, so the registry never depends on which module
happened to be imported first. A channel nobody registered gets :data:`DEFAULT` (it cannot push:
its citizens read their messages by polling, as the web chat does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ChannelCapabilities:
    # The citizen can be sent a message they did not ask for at that moment (through the outbox).
    can_push: bool
    # How long after the citizen's last message a pushed message is allowed (WeChat customer
    # service messages: 48 hours); None when there is no limit.
    reply_window_hours: int | None = None


DEFAULT = ChannelCapabilities(can_push=False, reply_window_hours=None)

_channels: dict[str, ChannelCapabilities] = {}


def register_channel(name: str, capabilities: ChannelCapabilities) -> None:
    """Declare a channel's capabilities. Registering the same again is harmless (``create_app``
    runs more than once in a process); different capabilities under one name are a mistake."""
    known = _channels.get(name)
    if known is not None and known != capabilities:
        raise ValueError(f"channel {name!r} is already registered as {known}")
    _channels[name] = capabilities


def capabilities(name: str) -> ChannelCapabilities:
    """The registered capabilities of a channel, or :data:`DEFAULT` for an unknown one."""
    return _channels.get(name, DEFAULT)


def registered_channels() -> Mapping[str, ChannelCapabilities]:
    """The registry, read-only."""
    return MappingProxyType(_channels)
