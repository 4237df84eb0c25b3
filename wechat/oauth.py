"""网页授权 (``snsapi_base``): who a citizen is when they open a portal page inside WeChat.

WeChat's in-app browser is sent to ``open.weixin.qq.com/connect/oauth2/authorize`` with our
AppID, the callback URL, ``scope=snsapi_base`` and a ``state``; WeChat sends it back, silently
(the base scope asks the citizen nothing), with a one-time ``code`` that the server exchanges at
``/sns/oauth2/access_token`` for the citizen's openid, the same openid their messages carry.

The state is ours: a random nonce, the time it was issued and an HMAC of both under the secret
key, in the characters WeChat allows (``a-zA-Z0-9``, at most 128 bytes). The nonce is also kept in
the browser's signed session and removed when the callback is answered, so a state works once,
only in the browser that started, and for :data:`STATE_MAX_AGE` at most.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from core import clock
from wechat.client import DEFAULT_API_BASE, DEFAULT_TIMEOUT_SECONDS, WeChatError, _redacted

DEFAULT_OAUTH_BASE = "https://open.weixin.qq.com"
SCOPE = "snsapi_base"
STATE_MAX_AGE = 600  # seconds between leaving for WeChat and coming back
MAX_NEXT = 500
_STATE = re.compile(r"^([0-9a-f]{32})([0-9a-f]{8})([0-9a-f]{32})$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SALT = b"hotline.wechat-oauth.v1"


class StateError(Exception):
    """The state is malformed, forged, expired, already used or from another browser."""


@dataclass(frozen=True)
class Pending:
    """What the browser's session keeps while it is away at WeChat."""

    nonce: str
    next: str

    def as_session(self) -> dict[str, str]:
        return {"nonce": self.nonce, "next": self.next}

    @classmethod
    def from_session(cls, raw: Any) -> Pending | None:
        if not isinstance(raw, Mapping):
            return None
        nonce, target = raw.get("nonce"), raw.get("next")
        if not isinstance(nonce, str) or not isinstance(target, str) or not local_path(target):
            return None
        return cls(nonce, target)


def configured(config: Mapping[str, Any]) -> bool:
    """Both the AppID (to send the citizen to WeChat) and the AppSecret (to exchange the code)."""
    return bool(config.get("WECHAT_APP_ID") and config.get("WECHAT_APP_SECRET"))


def local_path(target: str) -> bool:
    """A path on this site (``/my``, ``/track/…?x=1``): never another host, a scheme, a
    protocol-relative ``//host`` or a ``/\\host`` that browsers read as one, nor the OAuth
    routes themselves (a loop)."""
    if not target.startswith("/") or len(target) > MAX_NEXT:
        return False
    if target.startswith("//") or "\\" in target or any(ord(c) < 0x20 for c in target):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return False
    return not parts.path.startswith("/wechat/oauth/")


def _mac(secret_key: str, nonce: str, issued: str) -> str:
    message = _SALT + b"|" + nonce.encode() + b"|" + issued.encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_state(secret_key: str, target: str) -> tuple[str, Pending]:
    """A state for WeChat's URL and what the session keeps until the callback."""
    nonce = secrets.token_hex(16)
    issued = f"{int(clock.now().timestamp()) & 0xFFFFFFFF:08x}"
    return nonce + issued + _mac(secret_key, nonce, issued), Pending(nonce, target)


def check_state(secret_key: str, state: str | None, pending: Pending | None) -> Pending:
    """The pending sign-in this state belongs to; :class:`StateError` otherwise."""
    match = _STATE.match(state or "")
    if match is None or pending is None:
        raise StateError("no state, or no sign-in started in this browser")
    nonce, issued, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret_key, nonce, issued)):
        raise StateError("forged state")
    if not hmac.compare_digest(nonce, pending.nonce):
        raise StateError("the state belongs to another sign-in")
    age = int(clock.now().timestamp()) - int(issued, 16)
    if age < -60 or age > STATE_MAX_AGE:
        raise StateError("expired state")
    return pending


def authorize_url(config: Mapping[str, Any], redirect_uri: str, state: str) -> str:
    """Where WeChat's browser goes to come back with a code (``#wechat_redirect`` included:
    WeChat requires it)."""
    base = str(config.get("WECHAT_OAUTH_BASE") or DEFAULT_OAUTH_BASE).rstrip("/")
    query = urlencode(
        {
            "appid": str(config["WECHAT_APP_ID"]),
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": SCOPE,
            "state": state,
        }
    )
    return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"


def callback_uri(config: Mapping[str, Any]) -> str:
    """The callback on the public address (its host is the account's 网页授权域名)."""
    return str(config.get("PUBLIC_BASE_URL") or "").rstrip("/") + "/wechat/oauth/callback"


def valid_code(code: str | None) -> bool:
    return bool(code) and _CODE.match(code or "") is not None


def exchange_code(config: Mapping[str, Any], code: str) -> str:
    """The openid behind a one-time ``code`` (``/sns/oauth2/access_token``). Raises
    :class:`WeChatError`: with WeChat's code (40029 invalid code, 40163 code used, …), or
    ``None`` when WeChat could not be reached or answered something that is not an openid."""
    base = str(config.get("WECHAT_API_BASE") or DEFAULT_API_BASE).rstrip("/")
    timeout = float(config.get("WECHAT_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
    try:
        response = requests.get(
            base + "/sns/oauth2/access_token",
            params={
                "appid": str(config["WECHAT_APP_ID"]),
                "secret": str(config["WECHAT_APP_SECRET"]),
                "code": code,
                "grant_type": "authorization_code",
            },
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise WeChatError(None, _redacted(error)) from None
    if response.status_code >= 400:
        raise WeChatError(None, f"HTTP {response.status_code}", status=response.status_code)
    try:
        result = response.json()
    except ValueError:
        raise WeChatError(None, "the answer is not JSON") from None
    if not isinstance(result, dict):
        raise WeChatError(None, "the answer is not a JSON object")
    errcode = int(result.get("errcode") or 0)
    if errcode:
        raise WeChatError(errcode, str(result.get("errmsg", "")))
    openid = result.get("openid")
    if not isinstance(openid, str) or not _OPENID.match(openid):
        raise WeChatError(None, "the answer holds no openid")
    if result.get("is_snapshotuser") == 1:
        # 快照页模式: a virtual account for a page previewed from a share, not the citizen.
        raise WeChatError(None, "a snapshot-page visitor has no real openid")
    return openid
