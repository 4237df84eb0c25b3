"""The conversation engine's outbox templates: a staff member's chat reply and a chat notice,
pushed to the citizen's channel. The engine stores the text already in the citizen's language."""

from __future__ import annotations

from core.i18n import N_
from delivery.render import Template, register_templates

TEMPLATES = {
    "chat_staff_reply": Template(N_("%(staff_name)s (hotline staff): %(text)s")),
    "chat_notice": Template(N_("Hotline chat: %(text)s")),
}


def register() -> None:
    register_templates(TEMPLATES)


register()
