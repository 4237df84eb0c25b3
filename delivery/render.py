"""Outbox templates → text in the recipient's locale (simplified Chinese by default).

A message is rendered when the worker sends it, from the parameters stored with it, so a retried
message reads the same every time. The survey link is signed at that moment with the secret key
the worker was given (:class:`RenderSettings`), never stored in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline.i18n import DEFAULT_LOCALE, N_, translate
from tickets.models import KIND_LABELS, STAGE_LABELS, SUPERVISION_LABELS


class UnknownTemplate(Exception):
    """A message names a template this version does not know: a permanent failure."""


@dataclass(frozen=True)
class RenderSettings:
    secret_key: str
    public_base_url: str

    def survey_link(self, number: str, survey_id: int) -> str:
        from tickets.survey_links import make_survey_token

        token = make_survey_token(self.secret_key, number, int(survey_id))
        return self.public_base_url.rstrip("/") + "/survey/" + token

    def track_link(self) -> str:
        return self.public_base_url.rstrip("/") + "/track"


CLOSE_REASON_LABELS = {
    "direct": N_("answered directly by the hotline"),
    "rejected": N_("not accepted"),
    "merged": N_("merged into another ticket"),
    "surveyed": N_("callback completed"),
    "no_response": N_("no response to the callback survey"),
}

# template → message id; every id may use the parameters filled in by _context().
TEMPLATES: dict[str, str] = {
    "ticket_received": N_(
        "We have received your request. Ticket number: %(number)s, query code: %(query_code)s. "
        "Current stage: %(stage)s. Keep both to follow it at %(track_link)s."
    ),
    "ticket_dispatched": N_(
        "Ticket %(number)s has been sent to %(department)s. Current stage: %(stage)s."
    ),
    "ticket_answered": N_(
        "%(department)s has replied to ticket %(number)s: %(reply)s\n"
        "Are you satisfied? Please tell us here: %(survey_link)s"
    ),
    "ticket_closed": N_("Ticket %(number)s is closed (%(close_reason)s). Thank you."),
    "survey_reminder": N_(
        "Reminder: we have not yet heard whether you are satisfied with the handling of ticket "
        "%(number)s. Please tell us here: %(survey_link)s"
    ),
    "department_ticket_assigned": N_(
        "New ticket %(number)s (%(kind)s): %(title)s. Review due %(review_due)s, "
        "handling due %(due)s."
    ),
    "department_ticket_returned": N_(
        "Ticket %(number)s was returned to your department for re-handling: %(note)s. "
        "Handling due %(due)s."
    ),
    "department_ticket_urgent": N_("Ticket %(number)s (%(title)s) has been marked urgent."),
    "supervision_yellow": N_(
        "Yellow card: ticket %(number)s (%(title)s) is past its deadline %(due)s "
        "(stage: %(stage)s)."
    ),
    "supervision_red": N_(
        "Red card: ticket %(number)s (%(title)s) at %(department)s is two or more working days "
        "past its deadline %(due)s (stage: %(stage)s)."
    ),
    # Chat: the engine stores the text already in the citizen's language.
    "chat_staff_reply": N_("%(staff_name)s (hotline staff): %(text)s"),
    "chat_notice": N_("Hotline chat: %(text)s"),
    "supervisor_unsatisfied": N_(
        "The citizen is unsatisfied with ticket %(number)s (%(department)s). "
        "It is flagged for a supervisor."
    ),
}


def _label(labels: dict[Any, str], value: Any, locale: str) -> str:
    if value is None:
        return "—"
    label = labels.get(value)
    return translate(label, locale) if label else str(value)


def _context(params: dict[str, Any], locale: str, settings: RenderSettings) -> dict[str, Any]:
    none = "—"
    ctx: dict[str, Any] = {key: (none if value is None else value) for key, value in params.items()}
    ctx.setdefault("number", none)
    ctx["stage"] = _label(dict(STAGE_LABELS), params.get("stage"), locale)
    ctx["kind"] = _label(dict(KIND_LABELS), params.get("kind"), locale)
    ctx["supervision"] = _label(dict(SUPERVISION_LABELS), params.get("supervision"), locale)
    ctx["close_reason"] = _label(CLOSE_REASON_LABELS, params.get("close_reason"), locale)
    ctx["department"] = params.get("department") or translate(N_("the hotline"), locale)
    ctx["track_link"] = settings.track_link()
    survey_id = params.get("survey_id")
    ctx["survey_link"] = (
        settings.survey_link(str(params.get("number")), int(survey_id))
        if survey_id is not None and params.get("number")
        else settings.track_link()
    )
    for key in ("title", "reply", "note", "query_code", "due", "review_due", "text", "staff_name"):
        ctx.setdefault(key, none)
    return ctx


def render_message(
    template: str, params: dict[str, Any], locale: str | None, settings: RenderSettings
) -> tuple[str, dict[str, Any]]:
    """The text of a message and extras a channel may use (the survey link for a button)."""
    message_id = TEMPLATES.get(template)
    if message_id is None:
        raise UnknownTemplate(template)
    loc = locale or DEFAULT_LOCALE
    ctx = _context(params or {}, loc, settings)
    text = translate(message_id, loc, **ctx)
    extra: dict[str, Any] = {}
    if template in ("ticket_answered", "survey_reminder") and params.get("survey_id") is not None:
        extra["survey_link"] = ctx["survey_link"]
    return text, extra
