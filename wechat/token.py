"""The official account's access token, fetched once and shared by every process.

WeChat gives one valid token per account at a time (7200 s; a new fetch retires the old one
within minutes), so workers on several machines must share it and must never fetch it twice at
once. Where it is kept (:class:`TokenStore`):

- **Redis** when ``REDIS_URL`` is set: the token under one key, and a lock taken with
  ``SET key owner NX EX seconds`` (released only by its owner);
- else **the database**: a ``system_state`` row (value = token, ``updated_at`` = when it
  expires) and a lock row whose ``updated_at`` is the lock's expiry, taken with one conditional
  ``UPDATE`` (or the ``INSERT`` of the row), so it works the same on SQLite and PostgreSQL.

:class:`AccessTokens` hands out the stored token while it is fresh, refreshes it
``REFRESH_MARGIN`` before it expires, and after an invalid-token answer (:meth:`refresh`). Only
the holder of the lock fetches; the others wait for the new token (or, before expiry, go on
using the old one). Times come from :func:`core.clock.now`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import redis
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry

log = logging.getLogger(__name__)

REFRESH_MARGIN = dt.timedelta(minutes=5)  # refresh this long before the token expires
LOCK_SECONDS = 30  # longer than a token request may take (its timeout is 10 s)
WAIT_SECONDS = 15.0  # how long a process waits for another one's fetch
POLL_SECONDS = 0.05
MAX_DB_TOKEN = 500  # system_state.value is VARCHAR(500); WeChat's tokens are ~150 characters


class TokenUnavailable(Exception):
    """No token now (another process is fetching and did not finish in time): try later."""


@dataclasses.dataclass(frozen=True)
class Token:
    value: str
    expires_at: dt.datetime

    def fresh(self, now: dt.datetime) -> bool:
        return now < self.expires_at - REFRESH_MARGIN

    def valid(self, now: dt.datetime) -> bool:
        return now < self.expires_at


class TokenStore(Protocol):
    def read(self) -> Token | None: ...

    def write(self, token: Token) -> None: ...

    def try_lock(self, owner: str, seconds: int) -> bool: ...

    def unlock(self, owner: str) -> None: ...


class DatabaseTokenStore:
    """The token and its lock as two ``system_state`` rows. Each operation is its own short
    transaction on its own session."""

    def __init__(self, session_factory: Callable[[], Session], appid: str) -> None:
        self.session_factory = session_factory
        self.key = f"wechat.access_token:{appid}"[:100]
        self.lock_key = f"wechat.access_token_lock:{appid}"[:100]

    def read(self) -> Token | None:
        with self.session_factory() as session, session.begin():
            entry = session.get(StateEntry, self.key)
            return Token(entry.value, entry.updated_at) if entry is not None else None

    def write(self, token: Token) -> None:
        if len(token.value) > MAX_DB_TOKEN:
            raise TokenUnavailable(
                f"the access token is {len(token.value)} characters; system_state holds "
                f"{MAX_DB_TOKEN}: set HOTLINE_REDIS_URL"
            )
        with self.session_factory() as session, session.begin():
            entry = session.get(StateEntry, self.key)
            if entry is None:
                session.add(
                    StateEntry(key=self.key, value=token.value, updated_at=token.expires_at)
                )
            else:
                entry.value = token.value
                entry.updated_at = token.expires_at

    def try_lock(self, owner: str, seconds: int) -> bool:
        now = clock.now()
        until = now + dt.timedelta(seconds=seconds)
        with self.session_factory() as session:
            with session.begin():
                taken = session.execute(
                    update(StateEntry)
                    .where(StateEntry.key == self.lock_key, StateEntry.updated_at <= now)
                    .values(value=owner, updated_at=until)
                    .execution_options(synchronize_session=False)
                )
                if getattr(taken, "rowcount", 0) == 1:
                    return True
                if session.get(StateEntry, self.lock_key) is not None:
                    return False  # held by another process, and not expired
            try:
                with session.begin():
                    session.add(StateEntry(key=self.lock_key, value=owner, updated_at=until))
            except IntegrityError:  # another process inserted it first
                return False
            return True

    def unlock(self, owner: str) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(
                delete(StateEntry)
                .where(StateEntry.key == self.lock_key, StateEntry.value == owner)
                .execution_options(synchronize_session=False)
            )


_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


class RedisTokenStore:
    """The token as JSON under ``<prefix>:<appid>`` and a ``SET NX EX`` lock beside it."""

    def __init__(self, client: redis.Redis, appid: str, *, prefix: str = "hotline:wechat") -> None:
        self.client = client
        self.key = f"{prefix}:access_token:{appid}"
        self.lock_key = f"{prefix}:access_token_lock:{appid}"

    @classmethod
    def from_url(cls, url: str, appid: str, *, prefix: str = "hotline:wechat") -> RedisTokenStore:
        return cls(redis.Redis.from_url(url, socket_timeout=5.0), appid, prefix=prefix)

    def read(self) -> Token | None:
        raw = self.client.get(self.key)
        if raw is None:
            return None
        data = json.loads(raw)
        return Token(str(data["value"]), dt.datetime.fromisoformat(data["expires_at"]))

    def write(self, token: Token) -> None:
        body = json.dumps({"value": token.value, "expires_at": token.expires_at.isoformat()})
        # Redis forgets the key a little after WeChat does (the expiry check is ours, on
        # core.clock); the key only must not outlive the token by much.
        ttl = max(int((token.expires_at - clock.now()).total_seconds()) + 60, 60)
        self.client.set(self.key, body, ex=ttl)

    def try_lock(self, owner: str, seconds: int) -> bool:
        return bool(self.client.set(self.lock_key, owner, nx=True, ex=seconds))

    def unlock(self, owner: str) -> None:
        self.client.eval(_UNLOCK, 1, self.lock_key, owner)


def store_for(
    config: Mapping[str, Any], session_factory: Callable[[], Session], appid: str
) -> TokenStore:
    """Redis when ``REDIS_URL`` is configured, else the database."""
    url = config.get("REDIS_URL")
    if url:
        prefix = str(config.get("WECHAT_REDIS_PREFIX") or "hotline:wechat")
        return RedisTokenStore.from_url(str(url), appid, prefix=prefix)
    return DatabaseTokenStore(session_factory, appid)


class AccessTokens:
    """The shared token of one account. ``fetch()`` asks WeChat: (token, seconds it lasts)."""

    def __init__(
        self,
        store: TokenStore,
        fetch: Callable[[], tuple[str, int]],
        *,
        wait_seconds: float = WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.fetch = fetch
        self.wait_seconds = wait_seconds
        self.sleep = sleep

    def get(self) -> str:
        """A token to call the API with: the stored one while fresh, else a new one."""
        token = self.store.read()
        if token is not None and token.fresh(clock.now()):
            return token.value
        return self._renew(stale=None, current=token)

    def refresh(self, *, stale: str) -> str:
        """WeChat refused ``stale`` (invalid-token code): a new token, unless another process
        has already stored one other than ``stale``."""
        return self._renew(stale=stale, current=None)

    def _usable(self, token: Token | None, stale: str | None) -> bool:
        return token is not None and token.value != stale and token.fresh(clock.now())

    def _renew(self, *, stale: str | None, current: Token | None) -> str:
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self.store.try_lock(owner, LOCK_SECONDS):
                try:
                    token = self.store.read()  # someone may have renewed it meanwhile
                    if self._usable(token, stale):
                        assert token is not None
                        return token.value
                    value, expires_in = self.fetch()
                    token = Token(value, clock.now() + dt.timedelta(seconds=expires_in))
                    self.store.write(token)
                    log.info("WeChat access token renewed (lasts %s s)", expires_in)
                    return value
                finally:
                    self.store.unlock(owner)
            # Another process is fetching. Before expiry the old token still works.
            if stale is None and current is not None and current.valid(clock.now()):
                return current.value
            self.sleep(POLL_SECONDS)
            token = self.store.read()
            if self._usable(token, stale):
                assert token is not None
                return token.value
            if time.monotonic() > deadline:
                raise TokenUnavailable("another process is fetching the WeChat access token")
