"""The outbox's sender for channel ``sms`` through Tencent Cloud SMS: status pushes and survey
invitations to callers (any citizen on a channel that cannot push, reached at the mobile number
they gave: ``delivery.channels.FALLBACK_CHANNEL``).

An SMS template takes short parameters, never free text, so every outbox template maps to a
template registered (and approved) with the provider and an ordered list of parameters taken from
the message's stored parameters (:data:`DEFAULT_PARAMS`; ``SMS_TEMPLATES`` may give another
list). The survey link is a short signed code (:mod:`sms.links`): the registered template holds
the address, e.g. ``https://12345.example.gov.cn/s/{3}``, because the provider refuses URLs in
parameters.

Outcomes, by the provider's error code (:func:`failure`):

- "never" codes (invalid number, template or signature not approved, sensitive words, a
  parameter the provider refuses…) are permanent failures: dead letters at once;
- a number on the provider's blacklist (the citizen replied TD, or the carrier blocks it) is a
  permanent failure that also marks the number unreachable
  (``directory.citizens.mark_unreachable``), so later messages to it are dead letters without an
  API call until the citizen writes again (an SMS reply clears it);
- rate limits, the provider's internal errors, HTTP 5xx, timeouts and anything unknown are
  temporary: the worker retries with backoff. So are credential, balance and account codes,
  which an operator fixes.

One outbox message is one API call: the client never retries by itself, and the message's
idempotency key travels as ``SessionContext`` (the provider hands it back in receipts). SendSms
takes no idempotency key, so a timeout after the request went out (the provider may have accepted
it) is retried like the outbox's own crash window: the one way a caller can get an SMS twice.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.i18n import N_, translate
from delivery.render import label
from delivery.senders import (
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    logging_sms_sender,
    register_sender,
)
from directory.citizens import find_identity, get_or_create_citizen, mark_unreachable
from directory.models import ChannelIdentity
from sms.links import make_survey_code
from sms.tencent import SmsApiError, TencentSms
from tickets.models import CLOSE_REASON_LABELS, KIND_LABELS, STAGE_LABELS

log = logging.getLogger(__name__)

CHANNEL = "sms"
PROVIDERS = ("tencent",)
REQUIRED = ("SMS_SECRET_ID", "SMS_SECRET_KEY", "SMS_APP_ID", "SMS_SIGN_NAME")

# outbox template → the parameters of its SMS template, in the template's order ({1}, {2}, …)
DEFAULT_PARAMS: dict[str, tuple[str, ...]] = {
    "ticket_received": ("number", "query_code"),
    "ticket_dispatched": ("number", "department"),
    "ticket_answered": ("number", "department", "survey_code"),
    "survey_reminder": ("number", "survey_code"),
    "ticket_closed": ("number", "close_reason"),
}
SOURCES = frozenset(
    {"number", "query_code", "department", "stage", "kind", "close_reason", "due", "survey_code"}
)

# The number refuses SMS: the citizen unsubscribed (TD) or the carrier blocks it.
REFUSED_BY_NUMBER = frozenset(
    {"FailedOperation.PhoneNumberInBlacklist", "FailedOperation.PhoneNumberOnBlacklist"}
)
# The message will never be accepted as it is.
NEVER = REFUSED_BY_NUMBER | frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "FailedOperation.MissingTemplateList",
        "FailedOperation.MissingSignatureList",
        "FailedOperation.ContainSensitiveWord",
        "InvalidParameter.DirtyWordFound",
        "FailedOperation.FailResolvePacket",
        "FailedOperation.JsonParseFail",
        "InvalidParameterValue.ContentLengthLimit",
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
        "InvalidParameterValue.TemplateParameterLengthLimit",
        "InvalidParameterValue.TemplateParameterFormatError",
        "UnsupportedOperation.UnsuportedRegion",
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
        "LimitExceeded.PhoneNumberCountLimit",
        "MissingParameter.EmptyPhoneNumberSet",
    }
)
# Everything else is worth trying again later: LimitExceeded.* (per-number and per-app
# frequency limits), RequestLimitExceeded*, InternalError.* (Timeout, SendAndRecvFail…),
# FailedOperation.MarketingSendTimeConstraint, the AuthFailure.* / UnauthorizedOperation.* /
# InsufficientBalanceInSmsPackage codes an operator fixes, and transport errors (code None).

_MOBILE = re.compile(r"^1\d{10}$")
_PREFIX = re.compile(r"^(\+86|0086|86(?=1\d{10}$))")


@dataclass(frozen=True)
class SmsTemplate:
    template_id: str
    params: tuple[str, ...]


def parse_templates(raw: Any) -> dict[str, SmsTemplate]:
    """``SMS_TEMPLATES``: a mapping (or its JSON) of outbox template name to the provider's
    template id, or to ``{"template_id": "…", "params": ["number", …]}``."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, Mapping):
        raise ValueError("SMS_TEMPLATES must be a JSON object {outbox template: template id}")
    templates: dict[str, SmsTemplate] = {}
    for name, value in raw.items():
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            if name not in DEFAULT_PARAMS:
                raise ValueError(
                    f"SMS_TEMPLATES[{name!r}] needs its params: {{template_id, params}}"
                )
            templates[str(name)] = SmsTemplate(str(value), DEFAULT_PARAMS[name])
        elif isinstance(value, Mapping) and value.get("template_id"):
            params = value.get("params", DEFAULT_PARAMS.get(name))
            if not isinstance(params, list | tuple) or not all(p in SOURCES for p in params):
                raise ValueError(
                    f"SMS_TEMPLATES[{name!r}]['params'] must list some of {sorted(SOURCES)}"
                )
            templates[str(name)] = SmsTemplate(str(value["template_id"]), tuple(params))
        else:
            raise ValueError(f"SMS_TEMPLATES[{name!r}] needs a template id")
    return templates


def national_number(recipient: str) -> str | None:
    """A mainland mobile number (11 digits) from what the outbox holds, or None."""
    digits = _PREFIX.sub("", re.sub(r"[\s\-()]", "", recipient or ""))
    return digits if _MOBILE.match(digits) else None


def failure(error: SmsApiError) -> Exception:
    if error.code in NEVER:
        return PermanentFailure(str(error))
    return TemporaryFailure(str(error))


def _unreachable(identity: ChannelIdentity | None) -> bool:
    """Marked unreachable and not heard from since."""
    if identity is None or identity.unreachable_at is None:
        return False
    seen = identity.last_seen_at
    return seen is None or seen <= identity.unreachable_at


@dataclass
class SmsSender:
    """The sender the outbox worker calls (one per process, shared by its worker threads)."""

    api: TencentSms
    session_factory: Callable[[], Session]
    templates: Mapping[str, SmsTemplate]
    secret_key: str

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], session_factory: Callable[[], Session]
    ) -> SmsSender:
        return cls(
            api=TencentSms.from_config(config),
            session_factory=session_factory,
            templates=parse_templates(config.get("SMS_TEMPLATES")),
            secret_key=str(config["SECRET_KEY"]),
        )

    def __call__(self, message: Outgoing) -> None:
        number = national_number(message.recipient)
        if number is None:
            raise PermanentFailure("not a mainland mobile number")
        template = self.templates.get(message.template)
        if template is None:
            raise PermanentFailure(
                f"no SMS template is configured for {message.template!r} (SMS_TEMPLATES)"
            )
        if self._is_unreachable(number):
            raise PermanentFailure("the number refuses SMS (blacklisted) and has not written since")
        params = [self.value(source, message) for source in template.params]
        try:
            accepted = self.api.send(
                "+86" + number,
                template.template_id,
                params,
                session_context=message.idempotency_key,
            )
        except SmsApiError as error:
            if error.code in REFUSED_BY_NUMBER:
                self._mark_unreachable(number)
            raise failure(error) from None
        log.info("SMS message %s accepted (serial %s)", message.id, accepted.serial_no)

    def value(self, source: str, message: Outgoing) -> str:
        """One template parameter: short words, never free text."""
        params = message.params
        locale = message.locale
        if source == "survey_code":
            survey_id, number = params.get("survey_id"), params.get("number")
            if survey_id is None or not number:
                raise PermanentFailure("the message has no survey to link to")
            return make_survey_code(self.secret_key, int(survey_id), str(number))
        if source == "department":
            return str(params.get("department") or translate(N_("the hotline"), locale))
        if source == "stage":
            return label(STAGE_LABELS, params.get("stage"), locale)
        if source == "kind":
            return label(KIND_LABELS, params.get("kind"), locale)
        if source == "close_reason":
            return label(CLOSE_REASON_LABELS, params.get("close_reason"), locale)
        value = params.get(source)
        return "—" if value is None or value == "" else str(value)

    # -- numbers that refuse SMS ----------------------------------------------------------------

    def _is_unreachable(self, number: str) -> bool:
        with self.session_factory() as session, session.begin():
            return _unreachable(find_identity(session, CHANNEL, number))

    def _mark_unreachable(self, number: str) -> None:
        with self.session_factory() as session, session.begin():
            if find_identity(session, CHANNEL, number) is None:
                get_or_create_citizen(session, CHANNEL, number, phone=number)
            mark_unreachable(session, CHANNEL, number)


def register_senders(config: Mapping[str, Any], session_factory: Callable[[], Session]) -> bool:
    """Plug the provider's sender into the outbox when SMS is configured (``SMS_PROVIDER`` and
    its credentials); otherwise the logging sender stays (or comes back, after an earlier app in
    this process). Returns whether the provider's sender is registered. A provider named but not
    fully configured is a start-up error, never a silent fallback."""
    provider = str(config.get("SMS_PROVIDER") or "").strip().lower()
    if not provider:
        register_sender(CHANNEL, logging_sms_sender)
        return False
    if provider not in PROVIDERS:
        raise ValueError(f"SMS_PROVIDER {provider!r} is not supported (use one of {PROVIDERS})")
    missing = [key for key in REQUIRED if not config.get(key)]
    if missing:
        raise ValueError(f"SMS_PROVIDER is set but {', '.join(missing)} missing")
    register_sender(CHANNEL, SmsSender.from_config(config, session_factory))
    return True
