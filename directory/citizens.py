"""Citizens and the channel identities that map to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from core import clock
from directory.models import ChannelIdentity, Citizen

# How stale ``last_seen_at`` may get before a message writes it again. Every message of a busy
# citizen updating their identity row would be a write (and a row lock) per message for nothing:
# the reply windows it opens are hours long, and a window read from a time up to a minute early
# closes up to a minute early, never late.
SEEN_EVERY = dt.timedelta(minutes=1)


def find_identity(session: Session, channel: str, external_id: str) -> ChannelIdentity | None:
    """The identity with its citizen, in one statement."""
    return session.scalar(
        select(ChannelIdentity)
        .options(joinedload(ChannelIdentity.citizen))
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
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
    if identity is None:
        identity = _create_identity(session, channel, external_id)
    else:
        seen(identity, clock.now())
    citizen = identity.citizen
    if name and not citizen.name:
        citizen.name = name
    if phone:
        citizen.phone = phone
    session.flush()
    return citizen


def _create_identity(session: Session, channel: str, external_id: str) -> ChannelIdentity:
    """A new citizen and their identity, in a savepoint: when a concurrent request (the same
    person's retry on another app server, two first messages at once) created the identity
    first, the unique constraint refuses this one and that one is used instead."""
    now = clock.now()
    try:
        with session.begin_nested():
            citizen = Citizen(created_at=now)
            session.add(citizen)
            session.flush()
            identity = ChannelIdentity(
                citizen=citizen,
                channel=channel,
                external_id=external_id,
                created_at=now,
                last_seen_at=now,
            )
            session.add(identity)
            session.flush()
    except IntegrityError:
        found = find_identity(session, channel, external_id)
        if found is None:
            raise
        seen(found, now)
        return found
    return identity


def seen(identity: ChannelIdentity, now: dt.datetime) -> None:
    """The citizen was heard from at ``now``: ``last_seen_at`` moves when it is older than
    :data:`SEEN_EVERY`, or when it is not after their unsubscribing (a reachable citizen must
    read as reachable at once)."""
    last = identity.last_seen_at
    if (
        last is None
        or now - last >= SEEN_EVERY
        or (identity.unreachable_at is not None and last <= identity.unreachable_at)
    ):
        identity.last_seen_at = now


def submitting_citizen(
    session: Session,
    channel: str,
    *,
    phone: str | None,
    name: str | None = None,
    visitor_id: str | None = None,
) -> Citizen | None:
    """Who submits a ticket on a channel without accounts (the web portal, the JSON API): the one
    identity policy for both.

    A normalised mobile number is the identity (``phone:<mobile>``), so that the same person is
    one citizen across visits, devices and doors, anonymous reports included (the reporter's
    identity is kept for the hotline only: ``access.visible_contact``). Without a phone, a
    visitor id the adapter keeps for the browser (``session:<id>``) stands in; without either the
    ticket has no citizen."""
    if phone:
        return get_or_create_citizen(session, channel, f"phone:{phone}", name=name, phone=phone)
    if visitor_id:
        return get_or_create_citizen(session, channel, f"session:{visitor_id}", name=name)
    return None


def mark_unreachable(session: Session, channel: str, external_id: str) -> None:
    """The citizen left the channel (a WeChat unsubscribe): the channel will refuse every message
    to them, so the outbox stops trying until they come back."""
    identity = find_identity(session, channel, external_id)
    if identity is not None and identity.unreachable_at is None:
        identity.unreachable_at = clock.now()
        session.flush()


def mark_reachable(session: Session, channel: str, external_id: str) -> None:
    """The citizen wrote (or subscribed, scanned, clicked): reachable again, and a reply window
    such as WeChat's 48 hours opens from now (``last_seen_at``)."""
    identity = find_identity(session, channel, external_id)
    if identity is None:
        return
    seen(identity, clock.now())
    identity.unreachable_at = None
    session.flush()


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
