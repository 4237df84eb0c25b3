"""The WeChat adapter's own outbox template: an answer that took too long for a passive reply,
delivered by the worker as a customer-service message (the text is already the engine's words,
in the citizen's language)."""

from __future__ import annotations

from core.i18n import N_
from delivery.render import Template, register_templates

LATE_REPLY = "wechat_late_reply"
TEMPLATES = {LATE_REPLY: Template(N_("%(text)s"))}


def register() -> None:
    register_templates(TEMPLATES)


register()
