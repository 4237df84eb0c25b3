"""Switchboard keys and request signing.

A switchboard system (:class:`calls.models.CtiSystem`) signs every request with one of its keys:

    X-CTI-Key-Id:    the key's public id (``cti_…``)
    X-CTI-Timestamp: Unix time in whole seconds
    X-CTI-Nonce:     16 to 64 random letters, digits, ``-`` or ``_``, new for every request
    X-CTI-Signature: hex HMAC-SHA256(secret, timestamp + "." + nonce + "." + raw body)

A timestamp more than :data:`WINDOW_SECONDS` away from the hotline's clock is refused (stale),
and so is a signature seen before (a replay; the nonce lets a switchboard send the same body
twice in one second): signatures are remembered for
:data:`NONCE_TTL_SECONDS`, longer than any timestamp stays acceptable, in Redis when it is
configured (``SET NX EX``), else in the ``cti_nonces`` table. A retry must be signed again with
a fresh timestamp; the events themselves are idempotent.

The secret is shown once, when the key is created, and never stored: it is
HMAC-SHA256(application secret, key id + salt), so the hotline re-derives it for each request
from its own secret and the row's random salt. The row keeps only the salt and the SHA-256 of
the secret, which catches a changed application secret (the key then fails, and a new one must
be created). Rotating: create a second key for the system, switch the switchboard, revoke the
old key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calls.access import require_admin
from calls.models import CtiKey, CtiNonce, CtiSystem
from core import clock
from core.errors import Conflict, DomainError, NotFound, ValidationError
from core.i18n import N_
from core.inputs import has_bad_text
from directory.access import Actor
from directory.models import StaffUser

KEY_ID_HEADER = "X-CTI-Key-Id"
TIMESTAMP_HEADER = "X-CTI-Timestamp"
NONCE_HEADER = "X-CTI-Nonce"
SIGNATURE_HEADER = "X-CTI-Signature"

WINDOW_SECONDS = 300  # a request's timestamp may be this far from our clock, either way
NONCE_TTL_SECONDS = 2 * WINDOW_SECONDS + 60  # longer than a timestamp stays acceptable
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)  # last_used_at is written at most this often
MAX_NAME = 100

_KEY_ID = re.compile(r"cti_[0-9a-f]{16}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
HEADERS = (KEY_ID_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)


class Unauthorized(DomainError):
    """A request that is not signed by an active key (missing, unknown, revoked, bad, stale)."""

    http_status = 401


class Replayed(Conflict):
    """A signature seen before within the replay window."""


class NoncesUnavailable(DomainError):
    """The replay guard's store (Redis) cannot be reached: refuse rather than risk a replay."""

    http_status = 503


# -- keys ----------------------------------------------------------------------------------


def derive_secret(pepper: str, key_id: str, salt: str) -> str:
    """The secret of a key: never stored, re-derived from the application's secret."""
    digest = hmac.new(
        pepper.encode("utf-8"), f"cti-key:{key_id}:{salt}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A key just created: the secret is in here and nowhere else."""

    key: CtiKey
    secret: str


def _staff_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, StaffUser) else None


def create_key(session: Session, name: str, *, pepper: str, actor: Actor) -> NewKey:
    """A new key for the switchboard system ``name`` (created when new). The returned secret
    is shown once."""
    require_admin(actor)
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > MAX_NAME or has_bad_text(cleaned):
        raise ValidationError({"name": N_("Give the switchboard a name of 1 to 100 characters.")})
    system = session.scalar(select(CtiSystem).where(CtiSystem.name == cleaned))
    now = clock.now()
    if system is None:
        system = CtiSystem(name=cleaned, created_at=now)
        session.add(system)
        session.flush()
    key_id = f"cti_{secrets.token_hex(8)}"
    salt = secrets.token_hex(16)
    secret = derive_secret(pepper, key_id, salt)
    key = CtiKey(
        system_id=system.id,
        key_id=key_id,
        salt=salt,
        secret_hash=_secret_hash(secret),
        created_at=now,
        created_by_id=_staff_id(actor),
    )
    session.add(key)
    session.flush()
    return NewKey(key, secret)


def find_key(session: Session, ref: str) -> CtiKey | None:
    """A key by its public id (``cti_…``) or its row id."""
    text = (ref or "").strip()
    if _KEY_ID.fullmatch(text):
        return session.scalar(select(CtiKey).where(CtiKey.key_id == text))
    if re.fullmatch(r"[0-9]{1,9}", text):
        return session.get(CtiKey, int(text))
    return None


def revoke_key(session: Session, key: CtiKey, *, actor: Actor) -> CtiKey:
    """Refuse every request signed with ``key`` from now on (revoking twice changes nothing)."""
    require_admin(actor)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.revoked_by_id = _staff_id(actor)
        session.flush()
    return key


def revoke_key_ref(session: Session, ref: str, *, actor: Actor) -> CtiKey:
    key = find_key(session, ref)
    if key is None:
        raise NotFound(N_("No such switchboard key."))
    return revoke_key(session, key, actor=actor)


def list_keys(session: Session) -> list[CtiKey]:
    return list(
        session.scalars(select(CtiKey).join(CtiKey.system).order_by(CtiSystem.name, CtiKey.id))
    )


def secret_of(key: CtiKey, pepper: str) -> str | None:
    """The secret of an existing key, or None when the application secret changed since it was
    created (the command line's simulator signs with it)."""
    secret = derive_secret(pepper, key.key_id, key.salt)
    return secret if hmac.compare_digest(_secret_hash(secret), key.secret_hash) else None


# -- signing -------------------------------------------------------------------------------


def sign(secret: str, timestamp: int | str, nonce: str, body: bytes) -> str:
    """The X-CTI-Signature of ``body`` sent at ``timestamp`` with ``nonce``."""
    message = f"{timestamp}.{nonce}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str, secret: str, body: bytes, *, now: dt.datetime, nonce: str | None = None
) -> dict[str, str]:
    """The headers of a request carrying ``body``, signed as a switchboard signs it."""
    timestamp = int(now.timestamp())
    nonce = nonce or secrets.token_urlsafe(18)
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, timestamp, nonce, body),
        "Content-Type": "application/json",
    }


class NonceStore(Protocol):
    def first_time(self, signature: str, ttl_seconds: int) -> bool:
        """Remember ``signature``; False if it was already remembered."""


class DatabaseNonceStore:
    """Signatures in ``cti_nonces``, in the request's transaction (a refused request forgets
    its signature with everything else). Old rows are deleted on the way."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def first_time(self, signature: str, ttl_seconds: int) -> bool:
        now = clock.now()
        self.session.execute(
            delete(CtiNonce)
            .where(CtiNonce.seen_at < now - dt.timedelta(seconds=ttl_seconds))
            .execution_options(synchronize_session=False)
        )
        try:
            with self.session.begin_nested():
                self.session.add(CtiNonce(signature=signature, seen_at=now))
        except IntegrityError:
            return False
        return True


class RedisNonceStore:
    def __init__(self, client: redis.Redis, *, prefix: str = "hotline:cti") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "hotline:cti") -> RedisNonceStore:
        return cls(redis.Redis.from_url(url, socket_timeout=5.0), prefix=prefix)

    def first_time(self, signature: str, ttl_seconds: int) -> bool:
        try:
            stored = self.client.set(
                f"{self.prefix}:nonce:{signature}", "1", nx=True, ex=ttl_seconds
            )
        except redis.RedisError:
            raise NoncesUnavailable(
                N_("The hotline cannot check for replays right now; please retry shortly.")
            ) from None
        return bool(stored)


_redis_stores: dict[str, RedisNonceStore] = {}  # one client (and connection pool) per URL


def nonce_store_for(config: Mapping[str, Any], session: Session) -> NonceStore:
    """Redis when ``REDIS_URL`` is configured, else the database."""
    url = config.get("REDIS_URL")
    if url:
        if str(url) not in _redis_stores:
            _redis_stores[str(url)] = RedisNonceStore.from_url(str(url))
        return _redis_stores[str(url)]
    return DatabaseNonceStore(session)


def authenticate(
    session: Session,
    headers: Mapping[str, str | None],
    body: bytes,
    *,
    pepper: str,
    nonces: NonceStore,
) -> CtiKey:
    """The active key that signed this request, or :class:`Unauthorized` / :class:`Replayed`.
    ``headers`` holds the four X-CTI-… values (:data:`HEADERS`; None when absent)."""
    key_id = (headers.get(KEY_ID_HEADER) or "").strip()
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    nonce = (headers.get(NONCE_HEADER) or "").strip()
    signature = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not key_id or not timestamp or not nonce or not signature:
        raise Unauthorized(
            N_("Sign the request: the %(headers)s headers are required."),
            headers=", ".join(HEADERS),
        )
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized(N_("%(header)s must be Unix time in seconds."), header=TIMESTAMP_HEADER)
    skew = abs(clock.now().timestamp() - int(timestamp))
    if skew > WINDOW_SECONDS:
        raise Unauthorized(
            N_("The request's timestamp is more than %(seconds)s seconds off; sign it again."),
            seconds=WINDOW_SECONDS,
        )
    if not _NONCE.fullmatch(nonce):
        raise Unauthorized(
            N_("%(header)s must be 16 to 64 letters, digits, - or _."), header=NONCE_HEADER
        )
    if not _KEY_ID.fullmatch(key_id) or not _SIGNATURE.fullmatch(signature):
        raise Unauthorized(N_("The signature does not match."))
    key = session.scalar(select(CtiKey).where(CtiKey.key_id == key_id))
    if key is None or key.revoked_at is not None:
        raise Unauthorized(N_("The signature does not match."))
    secret = secret_of(key, pepper)
    if secret is None or not hmac.compare_digest(
        sign(secret, timestamp, nonce, body), signature.lower()
    ):
        raise Unauthorized(N_("The signature does not match."))
    if not nonces.first_time(signature.lower(), NONCE_TTL_SECONDS):
        raise Replayed(N_("This request was already received; sign a retry again."))
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        key.last_used_at = now
    return key
