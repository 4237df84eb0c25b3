"""The ticket domain's outbox templates and how their stored parameters read in words: stage,
kind, 监察状态 and close reason labels, the department (or the hotline), and the signed survey link
made at render time. Registered with the outbox by :func:`register`, which the composition root
calls (``hotline.factory``) and the modules that queue these messages call on import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.i18n import N_, translate
from delivery.render import RenderSettings, Template, label, register_templates
from tickets.models import CLOSE_REASON_LABELS, KIND_LABELS, STAGE_LABELS, SUPERVISION_LABELS
from tickets.survey_links import make_survey_token


def survey_link(settings: RenderSettings, number: str, survey_id: int) -> str:
    return settings.link("/survey/" + make_survey_token(settings.secret_key, number, survey_id))


def _context(params: Mapping[str, Any], locale: str, settings: RenderSettings) -> dict[str, Any]:
    survey_id = params.get("survey_id")
    return {
        "stage": label(STAGE_LABELS, params.get("stage"), locale),
        "kind": label(KIND_LABELS, params.get("kind"), locale),
        "supervision": label(SUPERVISION_LABELS, params.get("supervision"), locale),
        "close_reason": label(CLOSE_REASON_LABELS, params.get("close_reason"), locale),
        "department": params.get("department") or translate(N_("the hotline"), locale),
        "survey_link": (
            survey_link(settings, str(params.get("number")), int(survey_id))
            if survey_id is not None and params.get("number")
            else settings.track_link()
        ),
    }


def _survey_button(params: Mapping[str, Any], ctx: Mapping[str, Any]) -> dict[str, Any]:
    return {"survey_link": ctx["survey_link"]} if params.get("survey_id") is not None else {}


_MESSAGE_IDS: dict[str, str] = {
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
    "department_ticket_urged": N_(
        "The citizen urged ticket %(number)s (%(title)s), %(urge_count)s time(s) so far. "
        "Note: %(note)s"
    ),
    "department_ticket_information": N_(
        "The citizen added information to ticket %(number)s (%(title)s): %(note)s"
    ),
    "supervisor_ticket_urged": N_(
        "Ticket %(number)s (%(title)s) at %(department)s has been urged %(urge_count)s times."
    ),
    "supervisor_unsatisfied": N_(
        "The citizen is unsatisfied with ticket %(number)s (%(department)s). "
        "It is flagged for a supervisor."
    ),
}
_WITH_SURVEY_BUTTON = ("ticket_answered", "survey_reminder")

TEMPLATES = {
    name: Template(
        message_id,
        context=_context,
        extras=_survey_button if name in _WITH_SURVEY_BUTTON else None,
    )
    for name, message_id in _MESSAGE_IDS.items()
}


def register() -> None:
    register_templates(TEMPLATES)


register()
