"""A thin client of the official account API (``/cgi-bin/…``) on wechatpy.

wechatpy sends the requests and parses the answers; three things are ours:

- the base URL comes from ``WECHAT_API_BASE`` (a fake server in tests, a proxy in production),
  for the token request too (wechatpy's own token fetch always calls api.weixin.qq.com);
- the access token comes from :class:`wechat.token.AccessTokens`, shared by every process, never
  from wechatpy's per-process storage;
- an invalid-token answer (40001, 40014, 42001) refreshes the token and retries the call once
  (wechatpy's own ``auto_retry`` would retry without end, and refresh without a lock).

Every failure is a :class:`WeChatError` with the WeChat error code (``None`` for a transport
error: connection refused, timeout, HTTP 5xx, an answer that is not JSON), so callers decide by
code and never see a wechatpy or requests exception.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from wechat.token import AccessTokens, TokenStore, store_for

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT_SECONDS = 10.0

# The access token is invalid, not the latest one, or expired: fetch a new one and retry once.
INVALID_TOKEN_CODES = frozenset({40001, 40014, 42001})


class WeChatError(Exception):
    """The API refused a call (``errcode`` set) or could not be reached (``errcode`` None)."""

    def __init__(self, errcode: int | None, errmsg: str, *, status: int | None = None) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}" if errcode is not None else errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.status = status  # the HTTP status of a transport error, when there was an answer


class _SdkClient(WeChatClient):
    """wechatpy's client, with our base URL and the token the current call was given."""

    def __init__(self, api: WeChatApi, appid: str, secret: str, timeout: float) -> None:
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api.api_base + "/cgi-bin/"
        self._api = api

    @property
    def access_token(self) -> str:
        return self._api.current_token()

    def fetch_access_token(self) -> dict[str, Any]:  # never called: auto_retry is off
        raise WeChatError(None, "tokens come from wechat.token.AccessTokens")


class WeChatApi:
    """One official account's API. Safe to share between threads (one per process is enough)."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        store: TokenStore,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.appid = appid
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._secret = secret
        self._sdk = _SdkClient(self, appid, secret, timeout)
        self._local = threading.local()
        self.tokens = AccessTokens(store, self.fetch_token)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], session_factory: Callable[[], Any]
    ) -> WeChatApi:
        appid = str(config["WECHAT_APP_ID"])
        return cls(
            appid,
            str(config["WECHAT_APP_SECRET"]),
            store=store_for(config, session_factory, appid),
            api_base=str(config.get("WECHAT_API_BASE") or DEFAULT_API_BASE),
            timeout=float(config.get("WECHAT_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
        )

    def close(self) -> None:
        """Close the HTTP connections (tests; a process's client lives as long as it does)."""
        self._sdk._http.close()

    # -- the token ------------------------------------------------------------------------------

    def fetch_token(self) -> tuple[str, int]:
        """Ask WeChat for a new access token: (token, seconds it lasts). Called by
        :class:`AccessTokens` under its lock, never directly."""
        result = self._transport(
            lambda: self._sdk._http.get(
                self.api_base + "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self._secret,
                },
                timeout=self.timeout,
            )
        )
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatError(None, "the token answer holds no access_token")
        return token, int(result.get("expires_in") or 7200)

    def current_token(self) -> str:
        pinned: str | None = getattr(self._local, "token", None)
        return pinned if pinned is not None else self.tokens.get()

    # -- calls ----------------------------------------------------------------------------------

    def call(self, request: Callable[[WeChatClient], Any]) -> Any:
        """Run one API call with the shared token; after an invalid-token answer refresh the
        token (once for every process: see :meth:`AccessTokens.refresh`) and retry once."""
        token = self.tokens.get()
        for attempt in (1, 2):
            self._local.token = token
            try:
                return self._sdk_call(request)
            except WeChatError as error:
                if attempt == 1 and error.errcode in INVALID_TOKEN_CODES:
                    token = self.tokens.refresh(stale=token)
                    continue
                raise
            finally:
                self._local.token = None
        raise AssertionError("unreachable")  # pragma: no cover

    def _sdk_call(self, request: Callable[[WeChatClient], Any]) -> Any:
        try:
            return request(self._sdk)
        except WeChatClientException as error:
            if error.errcode is None:
                status = getattr(getattr(error, "response", None), "status_code", None)
                raise WeChatError(None, f"HTTP {status}", status=status) from None
            raise WeChatError(int(error.errcode), str(error.errmsg)) from None
        except requests.RequestException as error:
            raise WeChatError(None, _redacted(error)) from None

    def _transport(self, request: Callable[[], requests.Response]) -> dict[str, Any]:
        """A plain request (the token) with the same error translation as :meth:`call`."""
        try:
            response = request()
        except requests.RequestException as error:
            raise WeChatError(None, _redacted(error)) from None
        if response.status_code >= 400:
            raise WeChatError(
                None, f"HTTP {response.status_code}", status=response.status_code
            ) from None
        try:
            result = response.json()
        except ValueError:
            raise WeChatError(None, "the answer is not JSON") from None
        if not isinstance(result, dict):
            raise WeChatError(None, "the answer is not a JSON object")
        errcode = int(result.get("errcode") or 0)
        if errcode:
            raise WeChatError(errcode, str(result.get("errmsg", "")))
        return result

    def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """A customer-service text message (客服消息): only within the reply window."""
        return _json(self.call(lambda sdk: sdk.message.send_text(openid, text)))

    def send_template(
        self, openid: str, template_id: str, data: Mapping[str, Any], url: str | None = None
    ) -> dict[str, Any]:
        """A template message (模板消息): at any time, with a template the account chose."""
        return _json(
            self.call(
                lambda sdk: sdk.message.send_template(openid, template_id, dict(data), url=url)
            )
        )

    def create_menu(self, menu: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the account's custom menu (``/cgi-bin/menu/create``)."""
        return _json(self.call(lambda sdk: sdk.menu.create(dict(menu))))

    def download_media(self, media_id: str) -> bytes:
        """A temporary media file a citizen sent (``/cgi-bin/media/get``): its bytes."""
        result = self.call(lambda sdk: sdk.media.download(media_id))
        if isinstance(result, requests.Response):
            return result.content
        raise WeChatError(None, "the media answer is not a file")


_SECRETS = re.compile(r"(secret|access_token)=[^&\s)'\"]+")


def _redacted(error: Exception) -> str:
    """A transport error without the secret or token its URL carries (it ends up in the
    outbox's ``last_error``, which admins read)."""
    return _SECRETS.sub(r"\1=***", f"{type(error).__name__}: {error}")


def _json(result: Any) -> dict[str, Any]:
    """A JSON answer; anything else (an HTML error page from a proxy, say) is a failure, never
    taken for "accepted"."""
    if not isinstance(result, dict):
        raise WeChatError(None, "the answer is not JSON")
    return result
