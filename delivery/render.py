"""Outbox templates → text in the recipient's locale (simplified Chinese by default).

A message is rendered when the worker sends it, from the parameters stored with it, so a retried
message reads the same every time. The outbox knows no domain: each domain registers the
templates it sends (:func:`register_templates`) with a context function that turns its stored
parameters into words (labels, signed links) at render time. The survey link is signed at that
moment with the secret key the worker was given (:class:`RenderSettings`), never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.i18n import DEFAULT_LOCALE, translate


class UnknownTemplate(Exception):
    """A message names a template this version does not know: a permanent failure."""


@dataclass(frozen=True)
class RenderSettings:
    secret_key: str
    public_base_url: str

    def link(self, path: str) -> str:
        return self.public_base_url.rstrip("/") + path

    def track_link(self) -> str:
        return self.link("/track")


# (stored parameters, locale, settings) → the words the message shows for them
Context = Callable[[Mapping[str, Any], str, RenderSettings], dict[str, Any]]
# (stored parameters, rendered context) → extras a channel may use, such as a link button
Extras = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Template:
    message_id: str  # an English message id with %(name)s placeholders, marked N_()
    context: Context | None = None
    extras: Extras | None = None


TEMPLATES: dict[str, Template] = {}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def register_templates(templates: Mapping[str, Template]) -> None:
    """A domain's templates; registering the same one again is harmless, a clash is a bug."""
    for name, template in templates.items():
        known = TEMPLATES.get(name)
        if known is not None and known != template:
            raise ValueError(f"outbox template {name!r} is registered twice")
        TEMPLATES[name] = template


def label(labels: Mapping[Any, str], value: Any, locale: str) -> str:
    """A stored code in words (``—`` when absent, the code itself when unknown)."""
    if value is None:
        return "—"
    text = labels.get(value)
    return translate(text, locale) if text else str(value)


def render_message(
    template: str, params: dict[str, Any], locale: str | None, settings: RenderSettings
) -> tuple[str, dict[str, Any]]:
    """The text of a message and extras a channel may use (the survey link for a button)."""
    known = TEMPLATES.get(template)
    if known is None:
        raise UnknownTemplate(template)
    loc = locale or DEFAULT_LOCALE
    params = params or {}
    ctx: dict[str, Any] = {key: ("—" if value is None else value) for key, value in params.items()}
    ctx["track_link"] = settings.track_link()
    if known.context is not None:
        ctx.update(known.context(params, loc, settings))
    for name in _PLACEHOLDER.findall(known.message_id):
        ctx.setdefault(name, "—")
    text = translate(known.message_id, loc, **ctx)
    return text, (known.extras(params, ctx) if known.extras is not None else {})
