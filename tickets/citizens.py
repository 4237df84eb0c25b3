"""Citizens and the channel identities that map to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from tickets.models import ChannelIdentity, Citizen


def find_identity(session: Session, channel: str, external_id: str) -> ChannelIdentity | None:
    return session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    )


def get_or_create_citizen(
    session: Session,
    channel: str,
    external_id: str,
    *,
    name: str | None = None,
    phone: str | None = None,
) -> Citizen:
    """The citizen behind a channel identity, created on first contact."""
    identity = find_identity(session, channel, external_id)
    now = clock.now()
    if identity is not None:
        identity.last_seen_at = now
        citizen = identity.citizen
    else:
        citizen = Citizen(created_at=now)
        session.add(citizen)
        session.flush()
        session.add(
            ChannelIdentity(
                citizen_id=citizen.id,
                channel=channel,
                external_id=external_id,
                created_at=now,
                last_seen_at=now,
            )
        )
    if name and not citizen.name:
        citizen.name = name
    if phone:
        citizen.phone = phone
    session.flush()
    return citizen


def channel_recipient(session: Session, citizen_id: int | None, channel: str) -> str | None:
    """The address to reach a citizen on one channel (openid, chat id, web identity)."""
    if citizen_id is None:
        return None
    return session.scalar(
        select(ChannelIdentity.external_id)
        .where(ChannelIdentity.citizen_id == citizen_id, ChannelIdentity.channel == channel)
        .order_by(ChannelIdentity.id.desc())
        .limit(1)
    )
