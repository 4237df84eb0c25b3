"""The outbox's sender for channel ``wechat``: staff chat replies, status pushes and survey
invitations to a citizen's openid.

- Within the reply window after the citizen's last message (``ChannelIdentity.last_seen_at``;
  its length is the channel's registered ``reply_window_hours``, 48): a customer-service text
  message (客服消息) with the rendered text.
- Outside it, or when WeChat answers 45015 (out of the window) or 45047 (too many
  customer-service messages since the citizen's last one): a template message (模板消息) with
  the template configured for the message's purpose (``WECHAT_TEMPLATES``); its link is the
  survey when the message has one, else the ticket's own page. No template for the purpose: a permanent
  failure that says so.
- Links to the portal open through 网页授权 (:mod:`wechat.links`), so the page knows the citizen
  and opens straight on the ticket or the survey.
- A citizen who unsubscribed (43004, or an ``unreachable_at`` on the identity) and the other
  "never" codes are permanent failures (dead letters); rate limits, "system busy", transport
  errors and anything unknown are temporary (the worker retries with backoff).

:func:`register_senders` is called once by the composition root (``hotline.factory``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.channels import registered_channels
from delivery.senders import (
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    register_sender,
    unregister_sender,
)
from directory.models import ChannelIdentity
from wechat.channel import CAPABILITIES, CHANNEL
from wechat.client import WeChatApi, WeChatError
from wechat.links import InWeChatLinks
from wechat.token import TokenUnavailable

log = logging.getLogger(__name__)

# The outbox template a message was queued with → the purpose its WeChat template serves.
PURPOSES: dict[str, str] = {
    "ticket_received": "status",
    "ticket_dispatched": "status",
    "ticket_closed": "status",
    "ticket_answered": "survey",
    "survey_reminder": "survey",
    "chat_staff_reply": "chat",
    "chat_notice": "chat",
    "wechat_late_reply": "chat",
}

# Customer-service message refused because of the window: send a template message instead.
OUT_OF_WINDOW = frozenset({45015, 45047})
UNSUBSCRIBED = 43004
# The message will never be accepted as it is.
NEVER = frozenset(
    {
        40003,  # invalid openid (not a follower of this account)
        40008,  # invalid message type
        40037,  # invalid template_id
        43004,  # the citizen unsubscribed
        43019,  # the citizen is in the account's blacklist
        45002,  # content too long
        47001,  # malformed body
    }
)
# Everything else (45009 daily quota, 45011 per-minute quota, -1 system busy, the credential
# codes 40013/40125/40164 an operator fixes, transport errors) is worth retrying later.

# A template's fields by where their value comes from: ``text`` (the rendered message), ``time``
# (now, local), or a parameter of the message (``number``, ``title``, ``staff_name``…).
DEFAULT_FIELDS: dict[str, str] = {"first": "text", "keyword1": "number", "keyword2": "time"}
# WeChat's length limits by field type (the part of the field name before its digits).
FIELD_LIMITS: dict[str, int] = {
    "thing": 20,
    "character_string": 32,
    "phrase": 5,
    "name": 10,
    "phone_number": 17,
    "car_number": 8,
}
DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class TemplateSpec:
    template_id: str
    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))


def parse_templates(raw: Any) -> dict[str, TemplateSpec]:
    """``WECHAT_TEMPLATES``: a mapping (or its JSON) of purpose (or outbox template name) to a
    template id, or to ``{"template_id": ..., "fields": {field: source}}``."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, Mapping):
        raise ValueError("WECHAT_TEMPLATES must be a JSON object {purpose: template_id}")
    specs: dict[str, TemplateSpec] = {}
    for purpose, value in raw.items():
        if isinstance(value, str):
            specs[str(purpose)] = TemplateSpec(value)
        elif isinstance(value, Mapping) and value.get("template_id"):
            fields = value.get("fields") or DEFAULT_FIELDS
            specs[str(purpose)] = TemplateSpec(
                str(value["template_id"]), {str(k): str(v) for k, v in fields.items()}
            )
        else:
            raise ValueError(f"WECHAT_TEMPLATES[{purpose!r}] needs a template id")
    return specs


def _limit(field_name: str) -> int:
    kind = field_name.rstrip("0123456789")
    return FIELD_LIMITS.get(kind, DEFAULT_LIMIT)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class WeChatSender:
    """The sender the outbox worker calls (one per process, shared by its worker threads)."""

    api: WeChatApi
    session_factory: Callable[[], Session]
    templates: Mapping[str, TemplateSpec]
    timezone: str = "Asia/Shanghai"
    links: InWeChatLinks = field(default_factory=lambda: InWeChatLinks(""))

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], session_factory: Callable[[], Session]
    ) -> WeChatSender:
        return cls(
            api=WeChatApi.from_config(config, session_factory),
            session_factory=session_factory,
            templates=parse_templates(config.get("WECHAT_TEMPLATES")),
            timezone=str(config.get("TIMEZONE") or "Asia/Shanghai"),
            links=InWeChatLinks(str(config.get("PUBLIC_BASE_URL") or "")),
        )

    def __call__(self, message: Outgoing) -> None:
        openid = message.recipient
        identity = self._identity(openid)
        if identity is not None and _unreachable(identity):
            raise PermanentFailure("the citizen unsubscribed from the account")
        try:
            if self._in_window(identity):
                try:
                    self.api.send_text(openid, self.links.text(message.text, message))
                    return
                except WeChatError as error:
                    if error.errcode not in OUT_OF_WINDOW:
                        raise
                    log.info("message %s: %s, sent as a template message", message.id, error)
            self._send_template(message)
        except WeChatError as error:
            raise _failure(error) from None
        except TokenUnavailable as error:
            raise TemporaryFailure(str(error)) from None

    # -- the window -----------------------------------------------------------------------------

    def _identity(self, openid: str) -> ChannelIdentity | None:
        with self.session_factory() as session, session.begin():
            return session.scalar(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == openid
                )
            )

    def _in_window(self, identity: ChannelIdentity | None) -> bool:
        # as registered at start-up (the channel's own declaration if this process did not)
        hours = registered_channels().get(CHANNEL, CAPABILITIES).reply_window_hours
        if hours is None:
            return True
        if identity is None or identity.last_seen_at is None:
            return False
        return clock.now() < identity.last_seen_at + dt.timedelta(hours=hours)

    # -- template messages ----------------------------------------------------------------------

    def template_for(self, template: str) -> TemplateSpec | None:
        """The WeChat template of an outbox template: configured by its own name, else by its
        purpose."""
        spec = self.templates.get(template)
        purpose = PURPOSES.get(template)
        if spec is None and purpose is not None:
            spec = self.templates.get(purpose)
        return spec

    def _send_template(self, message: Outgoing) -> None:
        spec = self.template_for(message.template)
        if spec is None:
            purpose = PURPOSES.get(message.template, message.template)
            raise PermanentFailure(
                f"outside the 48-hour window and no WeChat template is configured for purpose "
                f"{purpose!r} (WECHAT_TEMPLATES)"
            )
        data = {
            name: {"value": _clip(self._value(source, message), _limit(name))}
            for name, source in spec.fields.items()
        }
        self.api.send_template(
            message.recipient, spec.template_id, data, url=self.links.template_url(message)
        )

    def _value(self, source: str, message: Outgoing) -> str:
        if source == "text":
            return self.links.text(message.text, message)
        if source == "time":
            local = clock.now().astimezone(ZoneInfo(self.timezone))
            return local.strftime("%Y-%m-%d %H:%M")
        value = message.params.get(source)
        return "—" if value is None or value == "" else str(value)


def _unreachable(identity: ChannelIdentity) -> bool:
    """Marked unreachable (unsubscribed) and not heard from since."""
    since = identity.unreachable_at
    if since is None:
        return False
    return identity.last_seen_at is None or identity.last_seen_at <= since


def _failure(error: WeChatError) -> Exception:
    if error.errcode == UNSUBSCRIBED:
        return PermanentFailure(f"the citizen unsubscribed from the account ({error})")
    if error.errcode in NEVER:
        return PermanentFailure(str(error))
    return TemporaryFailure(str(error))


def register_senders(config: Mapping[str, Any], session_factory: Callable[[], Session]) -> bool:
    """Plug the WeChat sender into the outbox when the account is configured (app id and
    secret); otherwise make sure none is left from an earlier app in this process, so that
    WeChat messages wait, pending. Returns whether the sender is registered."""
    if not (config.get("WECHAT_APP_ID") and config.get("WECHAT_APP_SECRET")):
        unregister_sender(CHANNEL)
        return False
    register_sender(CHANNEL, WeChatSender.from_config(config, session_factory))
    return True
