"""A fake WeChat official account API on loopback, for tests that must not touch the Internet.

It issues access tokens (``TOKEN-1``, ``TOKEN-2``…) and accepts only tokens it issued and did not
revoke (anything else gets 40001, as WeChat answers), records every token request,
customer-service and template message body, media download and menu, and answers with WeChat's
real error codes on demand::

    fake.fail("custom", 45015)          # the next customer-service message: out of the window
    fake.fail("template", 45009, 45009) # the next two template messages: rate limited
    fake.fail_http("custom", 502)       # the next one: a gateway error
    fake.revoke_tokens()                # every issued token is now invalid (40001)

网页授权 (``snsapi_base``): ``/connect/oauth2/authorize`` sends the browser straight back to its
``redirect_uri`` with a one-time code for ``fake.oauth_openid`` (WeChat asks nothing in the base
scope), and ``/sns/oauth2/access_token`` exchanges a code it issued once (``fake.issue_code(openid)``
issues one directly); an unknown code gets 40029, a used one 40163, like WeChat::

    fake.fail("oauth", 40029)           # the next code exchange: invalid code
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

# WeChat's own messages for the codes the fake answers with.
ERRORS: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40007: "invalid media_id",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    42001: "access_token expired",
    43004: "require subscribe",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
}

ENDPOINTS = {
    "/cgi-bin/token": "token",
    "/cgi-bin/message/custom/send": "custom",
    "/cgi-bin/message/template/send": "template",
    "/cgi-bin/menu/create": "menu",
    "/cgi-bin/media/get": "media",
    "/sns/oauth2/access_token": "oauth",
    "/connect/oauth2/authorize": "authorize",
}


@dataclass
class Call:
    endpoint: str
    token: str | None
    body: Any


@dataclass
class FakeWeChat:
    appid: str = "wx-test-app"
    secret: str = "wx-test-secret"
    expires_in: int = 7200
    token_delay: float = 0.0  # seconds a token request takes (to let two fetches overlap)
    call_delay: float = 0.0  # seconds every other call takes (a batch in flight, for faults)
    down: bool = False  # an outage: every call answers HTTP 502 until it is set back
    token_requests: list[dict[str, str]] = field(default_factory=list)
    custom_messages: list[dict[str, Any]] = field(default_factory=list)
    template_messages: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    media_requests: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)  # every API call, accepted or refused
    media: dict[str, bytes] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    oauth_openid: str | None = None  # who the authorize page says the browser's user is
    oauth_codes: dict[str, str] = field(default_factory=dict)  # unused code -> openid
    oauth_requests: list[dict[str, str]] = field(default_factory=list)  # code exchanges
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    _used_codes: set[str] = field(default_factory=set)
    _failures: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    _issued: int = 0
    _codes_issued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------------

    def fail(self, endpoint: str, *codes: int) -> None:
        """The next calls of ``endpoint`` answer these WeChat error codes, one each."""
        with self._lock:
            self._failures.setdefault(endpoint, []).extend(("errcode", c) for c in codes)

    def fail_http(self, endpoint: str, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(endpoint, []).extend([("http", status)] * times)

    def revoke_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def issue_code(self, openid: str) -> str:
        """A one-time 网页授权 code for ``openid``, as WeChat's authorize page would give."""
        with self._lock:
            self._codes_issued += 1
            code = f"CODE-{self._codes_issued}"
            self.oauth_codes[code] = openid
        return code

    def calls_to(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.endpoint == endpoint]

    # -- serving --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeWeChat:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw.decode("utf-8")) if raw else None
                except ValueError:
                    body = raw
                fake._handle(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        payload: Any,
        *,
        status: int = 200,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, code: int) -> None:
        self._reply(handler, {"errcode": code, "errmsg": ERRORS.get(code, "error")})

    def _failed(
        self,
        handler: BaseHTTPRequestHandler,
        endpoint: str,
        http_body: bytes = b"busy",
        content_type: str = "text/plain",
    ) -> bool:
        """Answer the next failure queued for ``endpoint`` (an HTTP status or a WeChat error
        code), if there is one."""
        if self.down:
            self._reply(handler, http_body, status=502, content_type=content_type)
            return True
        failure = self._next_failure(endpoint)
        if failure is None:
            return False
        kind, code = failure
        if kind == "http":
            self._reply(handler, http_body, status=code, content_type=content_type)
        else:
            self._error(handler, code)
        return True

    def _next_failure(self, endpoint: str) -> tuple[str, int] | None:
        with self._lock:
            queue = self._failures.get(endpoint)
            return queue.pop(0) if queue else None

    def _handle(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        endpoint = ENDPOINTS.get(parts.path.rstrip("/"))
        if endpoint is None:
            self._reply(handler, {"errcode": 404, "errmsg": "not found"}, status=404)
            return
        if endpoint == "token":
            self._token(handler, query)
            return
        if endpoint == "oauth":
            self._oauth(handler, query)
            return
        if endpoint == "authorize":
            self._authorize(handler, query)
            return
        token = query.get("access_token")
        with self._lock:
            self.calls.append(Call(endpoint, token, body))
            known = token in self.valid_tokens
        if not known:
            self._error(handler, 40001)
            return
        if self._failed(handler, endpoint, b"<html>bad gateway</html>", "text/html"):
            return
        if self.call_delay:
            time.sleep(self.call_delay)
        with self._lock:
            if endpoint == "custom":
                self.custom_messages.append(body)
            elif endpoint == "template":
                self.template_messages.append(body)
            elif endpoint == "menu":
                self.menus.append(body)
            elif endpoint == "media":
                self.media_requests.append(query.get("media_id", ""))
        if endpoint == "media":
            content = self.media.get(query.get("media_id", ""))
            if content is None:
                self._error(handler, 40007)
            else:
                self._reply(handler, content, content_type="image/jpeg")
            return
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if endpoint == "template":
            answer["msgid"] = len(self.template_messages)
        self._reply(handler, answer)

    def _token(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        with self._lock:
            self.token_requests.append(query)
        if self._failed(handler, "token"):
            return
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            self._error(handler, 40013)
            return
        if self.token_delay:
            time.sleep(self.token_delay)
        with self._lock:
            self._issued += 1
            token = f"TOKEN-{self._issued}"
            self.valid_tokens.add(token)
        self._reply(handler, {"access_token": token, "expires_in": self.expires_in})

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        with self._lock:
            self.authorize_requests.append(query)
        target = query.get("redirect_uri", "")
        if query.get("appid") != self.appid or self.oauth_openid is None or not target:
            self._reply(handler, b"<html>invalid request</html>", content_type="text/html")
            return
        code = self.issue_code(self.oauth_openid)
        params = urlencode({"code": code, "state": query.get("state", "")})
        handler.send_response(302)
        handler.send_header("Location", f"{target}{'&' if '?' in target else '?'}{params}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _oauth(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        with self._lock:
            self.oauth_requests.append(query)
        if self._failed(handler, "oauth"):
            return
        if query.get("appid") != self.appid:
            self._error(handler, 40013)
            return
        if query.get("secret") != self.secret:
            self._error(handler, 40125)
            return
        given = query.get("code", "")
        with self._lock:
            openid = self.oauth_codes.pop(given, None)
            used = given in self._used_codes
            if openid is not None:
                self._used_codes.add(given)
        if openid is None:
            self._error(handler, 40163 if used else 40029)
            return
        self._reply(
            handler,
            {
                "access_token": f"SNS-{given}",
                "expires_in": 7200,
                "refresh_token": f"REFRESH-{given}",
                "openid": openid,
                "scope": "snsapi_base",
            },
        )


def account_config(fake: FakeWeChat) -> dict[str, Any]:
    """The app configuration of an official account whose API (and 网页授权) is ``fake``."""
    return {
        "WECHAT_APP_ID": fake.appid,
        "WECHAT_APP_SECRET": fake.secret,
        "WECHAT_API_BASE": fake.url,
        "WECHAT_OAUTH_BASE": fake.url,
    }


def running_fake() -> Iterator[FakeWeChat]:
    """For a fixture: ``yield from running_fake()``."""
    fake = FakeWeChat().start()
    try:
        yield fake
    finally:
        fake.stop()
