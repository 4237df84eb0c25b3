"""A small plain-HTTP client of the Bot API, for the outbox worker and the media job.

The bot itself runs on aiogram (``bot.telegram.runtime``); the worker only needs ``sendMessage``,
``getFile`` and the file download, so it stays light and never imports aiogram. URLs are the Bot
API's (``{base}/bot{token}/{method}``, files at ``{base}/file/bot{token}/{path}``), with the base
from ``TELEGRAM_API_BASE`` as aiogram's ``TelegramAPIServer.from_base`` builds them.

Every failure is a :class:`BotApiError`: the HTTP status and Telegram's ``error_code`` and
``description`` when Telegram answered, ``retry_after`` from a 429's ``parameters``; ``status``
None for a transport error (refused, timeout, an answer that is not the Bot API's JSON).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

DEFAULT_API_BASE = "https://api.telegram.org"
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_ANSWER = 1024 * 1024  # a Bot API answer is small; anything bigger is not one


class BotApiError(Exception):
    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        error_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            f"Telegram {error_code or status}: {description}" if status else description
        )
        self.description = description
        self.status = status
        self.error_code = error_code
        self.retry_after = retry_after


class BotApi:
    """One bot's API. Stateless apart from its settings: safe to share between threads."""

    def __init__(
        self,
        token: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._token = token

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BotApi:
        return cls(
            str(config["TELEGRAM_TOKEN"]),
            api_base=str(config.get("TELEGRAM_API_BASE") or DEFAULT_API_BASE),
        )

    def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """Call ``method`` with a JSON body; return its ``result`` or raise :class:`BotApiError`."""
        request = urllib.request.Request(
            f"{self.api_base}/bot{self._token}/{method}",
            data=json.dumps(params, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        status, body = self._open(request, MAX_ANSWER)
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise BotApiError(
                f"{method}: not a Bot API answer", status=None if status < 400 else status
            )
        if status < 400 and answer.get("ok") is True:
            return answer.get("result")
        parameters = answer.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        code = answer.get("error_code")
        raise BotApiError(
            str(answer.get("description") or "error"),
            status=status,
            error_code=code if isinstance(code, int) else status,
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )

    def send_message(
        self, chat_id: str, text: str, *, reply_markup: Mapping[str, Any] | None = None
    ) -> Any:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_markup:
            params["reply_markup"] = dict(reply_markup)
        return self.call("sendMessage", params)

    def download(self, file_id: str, *, max_bytes: int) -> bytes:
        """A file a user sent: ``getFile`` for its path, then the download (at most
        ``max_bytes``; a bigger file is refused with status 413)."""
        info = self.call("getFile", {"file_id": file_id})
        path = info.get("file_path") if isinstance(info, dict) else None
        if not path:
            raise BotApiError("getFile gave no file_path", status=400, error_code=400)
        size = info.get("file_size")
        if isinstance(size, int) and size > max_bytes:
            raise BotApiError(f"the file is {size} bytes", status=413, error_code=413)
        request = urllib.request.Request(f"{self.api_base}/file/bot{self._token}/{path}")
        status, body = self._open(request, max_bytes)
        if status >= 400:
            raise BotApiError(f"file download answered {status}", status=status, error_code=status)
        return body

    def _open(self, request: urllib.request.Request, limit: int) -> tuple[int, bytes]:
        """(status, body) of a request; 4xx and 5xx are answers too, not exceptions."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _read(response, limit)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _read(error, MAX_ANSWER)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise BotApiError(f"cannot reach the Bot API: {error}") from None


def _read(stream: Any, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise BotApiError(f"answer over {limit} bytes", status=413, error_code=413)
    return bytes(data)
