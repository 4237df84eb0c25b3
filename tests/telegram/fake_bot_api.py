"""A fake Telegram Bot API server on loopback, for tests that must not touch the Internet.

It serves the updates a test queues (real Update JSON: text, commands, locations, venues, photos,
voice, callback queries) to ``getUpdates`` with Telegram's offset rule (an update below the
offset is confirmed and never served again), and records every call: ``sendMessage``,
``answerCallbackQuery``, ``setMyCommands``, ``getFile``, ``setWebhook``, file downloads...
Requests may come as JSON (our outbox sender), urlencoded or multipart forms (aiogram); values
that are JSON (``reply_markup``, ``commands``) are decoded. Only the configured token is
accepted (anything else gets 401, as Telegram answers). Failures on demand::

    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    fake.fail("sendMessage", 502)            # a gateway error (not JSON)
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core import clock

TOKEN = "123456789:AAHfake-token_for-the-hotline-tests0"
BOT_ID = 123456789
BOT_USERNAME = "hotline12345_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class FakeBotApi:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content
    updates: list[dict[str, Any]] = field(default_factory=list)  # queued, in id order
    served: list[int] = field(default_factory=list)  # update ids handed out by getUpdates
    webhook: dict[str, Any] = field(default_factory=dict)
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(800_000_001))
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _query_ids: Iterator[int] = field(default_factory=lambda: itertools.count(5_000_001))
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------------

    def fail(
        self, method: str, status: int, description: str = "", *, retry_after: int | None = None
    ) -> None:
        """The next call of ``method`` answers this error."""
        with self._changed:
            self._failures.setdefault(method, []).append(Failure(status, description, retry_after))

    def push(self, *updates: dict[str, Any]) -> list[dict[str, Any]]:
        """Queue updates for getUpdates."""
        with self._changed:
            self.updates.extend(updates)
            self._changed.notify_all()
        return list(updates)

    def resend(self, update: dict[str, Any]) -> None:
        """Serve an update again, whatever the offset (Telegram after a lost confirmation)."""
        with self._changed:
            self.updates.append({**update, "_resend": True})
            self._changed.notify_all()

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """The sendMessage bodies (to one chat)."""
        return [
            c.params
            for c in self.calls_to("sendMessage")
            if chat_id is None or str(c.params.get("chat_id")) == str(chat_id)
        ]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        return [str(p.get("text")) for p in self.sent(chat_id)]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; calls: {[c.method for c in self.calls]}")
                self._changed.wait(min(left, 0.1))

    def wait_sent(self, count: int, timeout: float = 15.0) -> list[str]:
        """Wait until ``count`` messages in all were sent; return every text."""
        self.wait_for(
            lambda: len([c for c in self.calls if c.method == "sendMessage"]) >= count, timeout
        )
        return self.texts()

    # -- real Update JSON -----------------------------------------------------------------------

    def user(self, user_id: int, language_code: str | None = "zh-hans") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "小李"}
        if language_code:
            user["language_code"] = language_code
        return user

    def message(
        self,
        user_id: int,
        *,
        language_code: str | None = "zh-hans",
        chat_type: str = "private",
        **content: Any,
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": user_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "小李"
        else:
            chat["id"], chat["title"] = -1001234567890, "市民群"
        return {
            "update_id": next(self._update_ids),
            "message": {
                "message_id": next(self._message_ids),
                "from": self.user(user_id, language_code),
                "chat": chat,
                "date": int(clock.now().timestamp()),
                **content,
            },
        }

    def edited(self, update: dict[str, Any], text: str) -> dict[str, Any]:
        """The message of ``update`` edited to ``text`` (a new update)."""
        message = {**update["message"], "text": text, "edit_date": int(clock.now().timestamp())}
        return {"update_id": next(self._update_ids), "edited_message": message}

    def text(self, user_id: int, text: str, **kw: Any) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            content["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        return self.message(user_id, **content, **kw)

    def location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        return self.message(user_id, location={"latitude": latitude, "longitude": longitude})

    def venue(
        self, user_id: int, latitude: float, longitude: float, title: str, address: str
    ) -> dict[str, Any]:
        place = {"latitude": latitude, "longitude": longitude}
        return self.message(
            user_id,
            location=place,
            venue={"location": place, "title": title, "address": address},
        )

    def photo(
        self, user_id: int, file_id: str, content: bytes, caption: str | None = None
    ) -> dict[str, Any]:
        """A photo in two sizes; the large one's file is ``content``."""
        self.files[file_id] = content
        sizes = [
            {"file_id": f"{file_id}-thumb", "file_unique_id": "t1", "width": 90, "height": 90},
            {
                "file_id": file_id,
                "file_unique_id": "u1",
                "width": 1280,
                "height": 960,
                "file_size": len(content),
            },
        ]
        extra = {"caption": caption} if caption else {}
        return self.message(user_id, photo=sizes, **extra)

    def voice(self, user_id: int) -> dict[str, Any]:
        voice = {
            "file_id": "AwACAgUAAxkBAAIB-voice",
            "file_unique_id": "v1",
            "duration": 4,
            "mime_type": "audio/ogg",
            "file_size": 6120,
        }
        return self.message(user_id, voice=voice)

    def sticker(self, user_id: int) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAIB-sticker",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.message(user_id, sticker=sticker)

    def callback(
        self, user_id: int, data: str, *, language_code: str | None = "zh-hans"
    ) -> dict[str, Any]:
        """A press of an inline button with ``data`` under the bot's last message."""
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._query_ids)),
                "from": self.user(user_id, language_code),
                "message": {
                    "message_id": next(self._message_ids),
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "12345"},
                    "chat": {"id": user_id, "type": "private", "first_name": "小李"},
                    "date": int(clock.now().timestamp()),
                    "text": "…",
                },
                "chat_instance": "-4455667788",
                "data": data,
            },
        }

    # -- serving --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeBotApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake._handle(self, _params(self.headers.get("Content-Type") or "", raw))

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away (polling stopped mid-request)

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        handler.send_response(status)
        kind = "application/json" if not isinstance(payload, bytes) else "application/octet-stream"
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        # One request per connection: no keep-alive race when a client reuses a pooled one.
        handler.send_header("Connection", "close")
        handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler: BaseHTTPRequestHandler, failure: Failure) -> None:
        if failure.status >= 500 and not failure.description:
            self._reply(handler, failure.status, b"<html>502 Bad Gateway</html>")
            return
        body: dict[str, Any] = {
            "ok": False,
            "error_code": failure.status,
            "description": failure.description or "error",
        }
        if failure.retry_after is not None:
            body["parameters"] = {"retry_after": failure.retry_after}
        self._reply(handler, failure.status, body)

    def _handle(self, handler: BaseHTTPRequestHandler, params: dict[str, Any]) -> None:
        path = urlsplit(handler.path).path
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith(file_prefix):
            self._download(handler, path[len(file_prefix) :])
            return
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            self._error(handler, Failure(401, "Unauthorized"))
            return
        method = path[len(prefix) :]
        if method != "getUpdates":
            with self._changed:
                self.calls.append(Call(method, params))
                failure = self._failures.get(method, []) and self._failures[method].pop(0)
                self._changed.notify_all()
            if failure:
                self._error(handler, failure)
                return
        if method == "getUpdates":
            self._reply(handler, 200, {"ok": True, "result": self._get_updates(params)})
            return
        self._reply(handler, 200, {"ok": True, "result": self._result(method, params)})

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 0.5)
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                # confirmed: every update below the offset (a resend is served once more)
                self.updates = [
                    u for u in self.updates if u["update_id"] >= offset or u.get("_resend")
                ]
                if self.updates or time.monotonic() >= deadline:
                    break
                self._changed.wait(max(deadline - time.monotonic(), 0.01))
            batch = [{k: v for k, v in u.items() if k != "_resend"} for u in self.updates]
            for update in self.updates:
                update.pop("_resend", None)
            self.served.extend(u["update_id"] for u in batch)
            self._changed.notify_all()
        return batch

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "12345市民服务热线",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "sendMessage":
            return {
                "message_id": next(self._message_ids),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "12345"},
                "chat": {"id": int(params.get("chat_id") or 0), "type": "private"},
                "date": int(clock.now().timestamp()),
                "text": params.get("text", ""),
            }
        if method == "getFile":
            file_id = str(params.get("file_id"))
            return {
                "file_id": file_id,
                "file_unique_id": "u-" + file_id[:8],
                "file_size": len(self.files.get(file_id, b"")),
                "file_path": f"photos/{file_id}.jpg",
            }
        if method == "setWebhook":
            self.webhook = dict(params)
        if method == "deleteWebhook":
            self.webhook = {}
        return True

    def _download(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        with self._changed:
            self.downloads.append(path)
            self._changed.notify_all()
        file_id = path.removeprefix("photos/").removesuffix(".jpg")
        content = self.files.get(file_id)
        if content is None:
            self._error(handler, Failure(404, "Not Found"))
            return
        self._reply(handler, 200, content)


def _params(content_type: str, raw: bytes) -> dict[str, Any]:
    """A request's parameters, whichever way they were sent."""
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        body = json.loads(raw.decode("utf-8"))
        return dict(body) if isinstance(body, dict) else {}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
            fields[str(name)] = _decode(text)
        return fields
    query = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    return {key: _decode(values[0]) for key, values in query.items()}


def running_fake() -> Iterator[FakeBotApi]:
    """For a fixture: ``yield from running_fake()``."""
    fake = FakeBotApi().start()
    try:
        yield fake
    finally:
        fake.stop()
