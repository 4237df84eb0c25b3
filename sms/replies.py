"""Replies to our SMS (上行短信 / 回复短信): the callback survey answered with 1, 2 or 3.

Tencent Cloud posts each reply as JSON ``{"extend", "mobile", "nationcode", "sign", "text",
"time"}`` to the callback URL configured in its console and expects ``{"result": 0, "errmsg":
"OK"}``. The callback carries no message id and no signature: the reply's identity is the hash of
what it says (number, time, text, extension, signature), so the provider's resend of one reply is
acted on once; who may post is checked by the web view (a secret token in the URL and a source
allowlist, :mod:`sms.web`).

Every reply is recorded in the conversation store (``bot.engine``: the conversation of channel
``sms`` and the number; the reply's hash is its channel message id). A rating (1/2/3, or the
words 满意 / 基本满意 / 不满意, as the chat survey reads them) answers the open survey of the
ticket whose survey SMS this number received last, through ``tickets.workflow.answer_survey``;
anything else, a rating without an open survey, and a duplicate change no survey. A reply also
makes the number reachable again (``directory.citizens.mark_reachable``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.conversations import add_message, open_conversation, replies_to
from bot.engine.intents import satisfaction
from bot.engine.models import Sender
from core.errors import Conflict, DomainError
from core.i18n import N_
from core.inputs import MAX_INT
from delivery.models import OutboxMessage, OutboxStatus
from directory.access import CitizenActor
from directory.citizens import mark_reachable
from sms.sender import CHANNEL
from tickets.models import Survey, Ticket
from tickets.workflow import answer_survey, survey_is_open

MAX_TEXT = 2000
SURVEY_TEMPLATES = ("ticket_answered", "survey_reminder")
_DIGITS = re.compile(r"^[0-9]{1,20}$")


class BadReply(DomainError):
    http_status = 400


class Outcome(StrEnum):
    ANSWERED = "answered"  # the rating answered the survey
    RECORDED = "recorded"  # not a rating: kept, nothing else
    NO_SURVEY = "no_survey"  # a rating, but no survey SMS went to this number
    SURVEY_CLOSED = "survey_closed"  # a rating for a survey already answered or closed
    DUPLICATE = "duplicate"  # the provider sent this reply before


@dataclass(frozen=True)
class Reply:
    mobile: str
    nationcode: str
    text: str
    time: int
    sign: str
    extend: str

    @property
    def user(self) -> str:
        """The number as the outbox addresses it: 11 digits in the mainland, else E.164."""
        if self.nationcode == "86":
            return self.mobile
        return f"+{self.nationcode}{self.mobile}"

    @property
    def key(self) -> str:
        parts = (self.nationcode, self.mobile, str(self.time), self.extend, self.sign, self.text)
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        return "sms-reply:" + digest[:40]


def _text(payload: Mapping[str, Any], name: str, *, required: bool, limit: int) -> str:
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise BadReply(N_("The reply field %(field)s is missing or not valid."), field=name)
    return value


def parse_reply(payload: Any) -> Reply:
    """The provider's reply callback body, checked field by field (a 400 names the field)."""
    if not isinstance(payload, Mapping):
        raise BadReply(N_("The reply must be a JSON object."))
    mobile = _text(payload, "mobile", required=True, limit=20).strip()
    nationcode = _text(payload, "nationcode", required=True, limit=4).strip().lstrip("+")
    for field, value in (("mobile", mobile), ("nationcode", nationcode)):
        if not _DIGITS.match(value):
            raise BadReply(N_("The reply field %(field)s is missing or not valid."), field=field)
    moment = payload.get("time")
    if not isinstance(moment, int) or isinstance(moment, bool) or not 0 <= moment <= MAX_INT:
        raise BadReply(N_("The reply field %(field)s is missing or not valid."), field="time")
    return Reply(
        mobile=mobile,
        nationcode=nationcode,
        text=_text(payload, "text", required=True, limit=MAX_TEXT),
        time=moment,
        sign=_text(payload, "sign", required=False, limit=100),
        extend=_text(payload, "extend", required=False, limit=100),
    )


def _last_survey(session: Session, user: str) -> tuple[Ticket, Survey] | None:
    """The ticket and survey of the last survey SMS this number was sent."""
    row = session.execute(
        select(OutboxMessage.ticket_id, OutboxMessage.params)
        .where(
            OutboxMessage.channel == CHANNEL,
            OutboxMessage.recipient == user,
            OutboxMessage.template.in_(SURVEY_TEMPLATES),
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.ticket_id.is_not(None),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    ticket = session.get(Ticket, row.ticket_id)
    survey_id = (row.params or {}).get("survey_id")
    survey = session.get(Survey, survey_id) if isinstance(survey_id, int) else None
    if ticket is None or survey is None or survey.ticket_id != ticket.id:
        return None
    return ticket, survey


def handle_reply(session: Session, reply: Reply) -> tuple[Outcome, str | None]:
    """Act on one reply (flush, never commit); the outcome and the ticket number it concerned."""
    conversation = open_conversation(session, CHANNEL, reply.user)
    if replies_to(session, conversation, reply.key) is not None:
        return Outcome.DUPLICATE, None
    mark_reachable(session, CHANNEL, reply.user)
    rating = satisfaction(reply.text)
    outcome, number = Outcome.RECORDED, None
    if rating is not None:
        target = _last_survey(session, reply.user)
        if target is None:
            outcome = Outcome.NO_SURVEY
        else:
            ticket, survey = target
            number = ticket.number
            outcome = Outcome.SURVEY_CLOSED
            if survey_is_open(session, ticket, survey):
                try:
                    answer_survey(
                        session,
                        ticket,
                        actor=CitizenActor(ticket.citizen_id, CHANNEL),
                        satisfaction=rating.value,
                    )
                    outcome = Outcome.ANSWERED
                except Conflict:
                    outcome = Outcome.SURVEY_CLOSED
    add_message(
        session,
        conversation,
        Sender.CITIZEN,
        reply.text,
        external_id=reply.key,
        data={
            "sms_reply": {
                "outcome": outcome.value,
                "ticket": number,
                "time": reply.time,
                "sign": reply.sign,
                "extend": reply.extend,
            }
        },
    )
    return outcome, number
