"""The sender registry: one sender per channel.

A sender receives an :class:`Outgoing` message (already rendered) and returns when the channel has
accepted it, or raises :class:`TemporaryFailure` (retry later with backoff) or
:class:`PermanentFailure` (dead letter at once). Any other exception counts as temporary.

Shipped here: ``web`` (the citizen's web inbox on the track page and web chat), ``staff`` (the
department and supervisor inboxes in the console) and ``sms`` (logs only, until a gateway is plugged
in with :func:`register_sender`). The WeChat and Telegram adapters call :func:`register_sender` for
their channels when they are configured; until then messages to those channels stay ``pending``
and the worker does not claim them (it only claims channels that have a sender). A temporary
failure may name its delay (``retry_after``, e.g. Telegram's 429), which the worker uses instead
of its backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Base of the two outcomes a sender may signal."""


class TemporaryFailure(DeliveryError):
    """The channel may accept the message later (timeout, rate limit, 5xx). ``retry_after``: the
    seconds the channel asked the sender to wait (a rate limit's retry-after), used by the worker
    instead of its backoff."""

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    """The channel will never accept this message (unknown recipient, blocked, bad content)."""


@dataclass(frozen=True)
class Outgoing:
    """What a sender gets: the outbox row's fields plus the rendered text."""

    id: int
    idempotency_key: str
    audience: str
    channel: str
    recipient: str
    template: str
    params: dict[str, Any]
    locale: str
    ticket_id: int | None
    attempts: int
    text: str
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the survey link, for buttons


Sender = Callable[[Outgoing], None]

_lock = threading.Lock()
_SENDERS: dict[str, Sender] = {}


def register_sender(channel: str, sender: Sender) -> None:
    """Plug in (or replace) the sender of a channel. Channel adapters call this at start-up."""
    with _lock:
        _SENDERS[channel] = sender


def unregister_sender(channel: str) -> None:
    with _lock:
        _SENDERS.pop(channel, None)


def sender_for(channel: str) -> Sender | None:
    return _SENDERS.get(channel)


def registered_channels() -> list[str]:
    return sorted(_SENDERS)


def web_sender(message: Outgoing) -> None:
    """The web inbox is the outbox itself: the track page and web chat read the ticket's web
    messages, so accepting means nothing more than the worker marking the row sent."""


def staff_sender(message: Outgoing) -> None:
    """Department and supervisor inboxes are the outbox rows on channel ``staff`` marked sent
    (see :mod:`delivery.inbox`); nothing else to store."""


def logging_sms_sender(message: Outgoing) -> None:
    """SMS without a gateway: log it (the number masked). Replace with register_sender('sms', …)."""
    number = message.recipient
    masked = number[:3] + "****" + number[-4:] if len(number) > 7 else "****"
    log.info("SMS to %s (message %s): %s", masked, message.id, message.text)


def register_default_senders() -> None:
    """The senders this package ships; channel adapters add theirs after this."""
    for channel, sender in (
        ("web", web_sender),
        ("staff", staff_sender),
        ("sms", logging_sms_sender),
    ):
        if channel not in _SENDERS:
            register_sender(channel, sender)


register_default_senders()
