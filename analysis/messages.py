"""The analysis' outbox templates: a department's notice of an emergency incident
(``analysis.hot.mark_incident``). Registered on import by the module that queues them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.i18n import N_, translate
from delivery.render import RenderSettings, Template, register_templates

DEPARTMENT_INCIDENT = "department_incident"


def _context(params: Mapping[str, Any], locale: str, settings: RenderSettings) -> dict[str, Any]:
    return {"area": params.get("area") or translate(N_("an unnamed area"), locale)}


TEMPLATES = {
    DEPARTMENT_INCIDENT: Template(
        N_(
            "Possible incident in %(area)s: %(title)s. %(count)s similar tickets within hours "
            "(%(numbers)s) were marked as one incident by a supervisor."
        ),
        context=_context,
    )
}


def register() -> None:
    register_templates(TEMPLATES)


register()
