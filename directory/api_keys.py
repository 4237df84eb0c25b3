"""API keys of the other systems and apps that call the hotline's open interfaces (Open311
GeoReport v2, ``open311/``): created and revoked by admins (the staff console, the command line),
each with its own rate limit.

A key is shown once, when it is created, and never stored: the row keeps the SHA-256 of the key
(a key is 32 random bytes, so a plain hash is enough; no pepper, so rotating the application
secret does not break the keys) and its first characters (``prefix``) for people to recognise it.
A revoked key is refused from then on; revoking twice changes nothing.

Here, below the adapters, so that both the Open311 adapter and the staff console may use it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import Base
from core.errors import NotFound, ValidationError
from core.i18n import N_
from core.inputs import has_bad_text
from directory.access import Actor, SystemActor, require
from directory.models import StaffUser

KEY_PREFIX = "o311_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # what the lists show of a key
MAX_NAME = 100
MAX_KEY = 100  # a longer api_key cannot be one of ours: refused without hashing
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)  # last_used_at is written at most this often
# "60 per minute", "1000 per day", "10 per 5 minutes": what Flask-Limiter (limits) reads
_RATE = re.compile(r"[1-9][0-9]{0,5} per ([1-9][0-9]{0,3} )?(second|minute|hour|day)s?")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # who uses it: the system or app
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Requests this key may make, e.g. "60 per minute"; None: the configured default
    # (HOTLINE_OPEN311_RATELIMIT_KEY).
    rate_limit: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    last_used_at: Mapped[dt.datetime | None]

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: the key itself is in here and nowhere else."""

    row: ApiKey
    key: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _require_admin(actor: Actor) -> None:
    if not isinstance(actor, SystemActor):
        require(actor, "manage_staff")


def _staff_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, StaffUser) else None


def clean_rate_limit(raw: str | None) -> str | None:
    """A rate limit as Flask-Limiter reads it ("60 per minute"), None for the default."""
    text = " ".join((raw or "").split()).lower()
    if not text:
        return None
    if not _RATE.fullmatch(text):
        raise ValidationError(
            {
                "rate_limit": N_(
                    'Write the rate limit like "60 per minute" (per second, minute, hour or day).'
                )
            }
        )
    return text


def create_api_key(
    session: Session, name: str, *, rate_limit: str | None = None, actor: Actor
) -> NewApiKey:
    """A new key for the system or app ``name``. The returned key is shown once."""
    _require_admin(actor)
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > MAX_NAME or has_bad_text(cleaned):
        raise ValidationError({"name": N_("Give the key a name of 1 to 100 characters.")})
    limit = clean_rate_limit(rate_limit)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=cleaned,
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        rate_limit=limit,
        created_at=clock.now(),
        created_by_id=_staff_id(actor),
    )
    session.add(row)
    session.flush()
    return NewApiKey(row, key)


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, active ones first, newest first."""
    return list(
        session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc()))
    )


def find_api_key(session: Session, ref: str) -> ApiKey | None:
    """A key by its number in the lists, or by its prefix as the lists show it."""
    text = (ref or "").strip()
    if re.fullmatch(r"[0-9]{1,9}", text):
        return session.get(ApiKey, int(text))
    if text.startswith(KEY_PREFIX) and len(text) == PREFIX_LENGTH:
        return session.scalars(select(ApiKey).where(ApiKey.prefix == text)).first()
    return None


def revoke_api_key(session: Session, key: ApiKey, *, actor: Actor) -> ApiKey:
    """Refuse every request with ``key`` from now on (revoking twice changes nothing)."""
    _require_admin(actor)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.revoked_by_id = _staff_id(actor)
        session.flush()
    return key


def revoke_api_key_ref(session: Session, ref: str, *, actor: Actor) -> ApiKey:
    key = find_api_key(session, ref)
    if key is None:
        raise NotFound(N_("No such API key."))
    return revoke_api_key(session, key, actor=actor)


def authenticate_api_key(session: Session, raw: str | None) -> ApiKey | None:
    """The active key ``raw`` is, or None (unknown, revoked, malformed). Notes its use."""
    text = (raw or "").strip()
    if not text.startswith(KEY_PREFIX) or len(text) > MAX_KEY or has_bad_text(text):
        return None  # (the rate limiter may ask before the input policy has screened it)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(text)))
    if key is None or key.revoked_at is not None:
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        key.last_used_at = now
    return key
