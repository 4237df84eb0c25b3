"""Canned replies (常用语): texts staff insert into a department reply, a chat answer or a
callback note. Admins keep them; everyone on staff reads them."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import clock
from core.errors import NotFound, ValidationError
from core.i18n import N_
from directory.models import StaffUser
from tickets.access import Actor, require
from tickets.console_models import CannedReply

SCOPES = ("any", "reply", "chat", "callback")
SCOPE_LABELS = {
    "any": N_("Everywhere"),
    "reply": N_("Department replies"),
    "chat": N_("Chat"),
    "callback": N_("Callbacks"),
}
MAX_TITLE = 100
MAX_BODY = 2000


def list_canned_replies(
    session: Session, *, scope: str | None = None, include_inactive: bool = False
) -> list[CannedReply]:
    """Replies for one scope (plus those meant for everywhere), or all of them."""
    stmt = select(CannedReply).order_by(CannedReply.scope, CannedReply.title, CannedReply.id)
    if scope:
        stmt = stmt.where(or_(CannedReply.scope == scope, CannedReply.scope == "any"))
    if not include_inactive:
        stmt = stmt.where(CannedReply.active.is_(True))
    return list(session.scalars(stmt))


def _validated(scope: str, title: str, body: str) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    title = (title or "").strip()
    body = (body or "").strip()
    if scope not in SCOPES:
        errors["scope"] = N_("Choose where the reply is used.")
    if not title or len(title) > MAX_TITLE:
        errors["title"] = N_("Enter a title of at most 100 characters.")
    if not body or len(body) > MAX_BODY:
        errors["body"] = N_("Enter a text of at most 2,000 characters.")
    if errors:
        raise ValidationError(errors)
    return scope, title, body


def create_canned_reply(
    session: Session, *, scope: str, title: str, body: str, actor: Actor
) -> CannedReply:
    require(actor, "manage_knowledge")
    scope, title, body = _validated(scope, title, body)
    now = clock.now()
    reply = CannedReply(
        scope=scope,
        title=title,
        body=body,
        active=True,
        created_by_id=actor.id if isinstance(actor, StaffUser) else None,
        created_at=now,
        updated_at=now,
    )
    session.add(reply)
    session.flush()
    return reply


def update_canned_reply(
    session: Session,
    reply_id: int,
    *,
    scope: str,
    title: str,
    body: str,
    active: bool,
    actor: Actor,
) -> CannedReply:
    require(actor, "manage_knowledge")
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFound(N_("No such canned reply."))
    reply.scope, reply.title, reply.body = _validated(scope, title, body)
    reply.active = active
    reply.updated_at = clock.now()
    session.flush()
    return reply
