"""A fake Tencent Cloud SMS API (``SendSms``, 2021-01-11) on loopback, for tests that must not
touch the Internet.

It checks every request the way the real API does, written here from Tencent's documentation
and not from ``sms.tencent``: the ``Authorization`` header's form, the SecretId, the timestamp
(more than 5 minutes off: ``AuthFailure.SignatureExpire``), the credential scope's date and
service, and the TC3-HMAC-SHA256 signature recomputed from the raw body and the headers it names
(a mismatch: ``AuthFailure.SignatureFailure``); then the action and version, the SdkAppId, the
signature name, the template (approved, with as many parameters as it has variables, no URL in
a parameter) and each number (E.164 mainland mobile; a blacklisted one gets
``FailedOperation.PhoneNumberInBlacklist`` in its send status). Accepted messages are recorded
with their text as the citizen would read it (the registered template filled in)::

    fake.fail("LimitExceeded.PhoneNumberThirtySecondLimit")   # the next request's number status
    fake.fail_request("InternalError.Timeout")                # the next request's Error
    fake.fail_http(502)                                       # the next request: a gateway error
    fake.delay = 2.0                                          # answer every request late
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from core import clock

MESSAGES = {
    "AuthFailure.InvalidAuthorization": "Authorization in the request header is invalid.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found.",
    "AuthFailure.SignatureExpire": "Signature expired. Timestamp and server time cannot differ "
    "by more than five minutes.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. Please "
    "check your signature is correct.",
    "InvalidAction": "The action does not exist.",
    "NoSuchVersion": "The API version does not exist.",
    "FailedOperation.JsonParseFail": "Failed to parse the request body.",
    "InvalidParameterValue.SdkAppIdNotExist": "The SdkAppId does not exist.",
    "FailedOperation.SignatureIncorrectOrUnapproved": "The signature is not approved or its "
    "format is wrong.",
    "FailedOperation.TemplateIncorrectOrUnapproved": "The template is not approved or its "
    "content does not match.",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": "URLs are not allowed in "
    "template parameters.",
    "InvalidParameterValue.IncorrectPhoneNumber": "incorrect phone number",
    "FailedOperation.PhoneNumberInBlacklist": "the number is in blacklist",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "the number has reached its 30-second limit",
    "LimitExceeded.PhoneNumberDailyLimit": "the number has reached its daily limit",
    "InternalError.Timeout": "request timed out",
}
_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>\w+)/"
    r"tc3_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)
_MAINLAND = re.compile(r"^\+861\d{10}$")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


@dataclass
class Sent:
    phone: str
    template_id: str
    params: list[str]
    sign_name: str
    session_context: str
    text: str  # what the citizen reads: 【sign】 + the template filled in


@dataclass
class FakeTencentSms:
    secret_id: str = "AKIDfake-hotline-0001"
    secret_key: str = "fake-secret-key-0001"
    app_id: str = "1400000001"
    sign_name: str = "珠海12345"
    # approved templates: id -> content with {1}, {2}… variables
    templates: dict[str, str] = field(default_factory=dict)
    blacklist: set[str] = field(default_factory=set)
    delay: float = 0.0
    now: Callable[[], datetime] = clock.now  # the server's clock (the suite's travelled clock)
    sent: list[Sent] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every request, with its answer
    _failures: list[tuple[str, Any]] = field(default_factory=list)
    _serial: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------------

    def fail(self, *codes: str) -> None:
        """The next requests' number gets these send-status codes, one request each."""
        with self._lock:
            self._failures.extend(("status", c) for c in codes)

    def fail_request(self, *codes: str) -> None:
        """The next requests are refused as a whole with these error codes."""
        with self._lock:
            self._failures.extend(("error", c) for c in codes)

    def fail_http(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([("http", status)] * times)

    def codes(self) -> list[str]:
        """The code each request was answered with (``Ok``, an error code, or ``HTTP <n>``)."""
        return [r["answer"] for r in self.requests]

    # -- serving --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTencentSms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake._handle(self, raw)

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

    # -- answers --------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        if self.delay:
            time.sleep(self.delay)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        code, status, data, kind = self._answer(headers, raw)
        with self._lock:  # recorded before the answer goes out: the caller may look at once
            self.requests.append({"headers": headers, "body": raw, "answer": code})
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _json(self, response: dict[str, Any]) -> tuple[int, bytes, str]:
        response["RequestId"] = f"fake-{len(self.requests) + 1}"
        data = json.dumps({"Response": response}, ensure_ascii=False).encode("utf-8")
        return 200, data, "application/json"

    def _error(self, code: str) -> tuple[str, int, bytes, str]:
        return (code, *self._json({"Error": {"Code": code, "Message": MESSAGES.get(code, code)}}))

    def _answer(self, headers: dict[str, str], raw: bytes) -> tuple[str, int, bytes, str]:
        """(the code answered, HTTP status, body, content type)"""
        refused = self._check_signature(headers, raw)
        if refused:
            return self._error(refused)
        if headers.get("x-tc-action") != "SendSms":
            return self._error("InvalidAction")
        if headers.get("x-tc-version") != "2021-01-11" or not headers.get("x-tc-region"):
            return self._error("NoSuchVersion")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None and failure[0] == "http":
            return f"HTTP {failure[1]}", failure[1], b"<html>bad gateway</html>", "text/html"
        if failure is not None and failure[0] == "error":
            return self._error(failure[1])
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return self._error("FailedOperation.JsonParseFail")
        if body.get("SmsSdkAppId") != self.app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist")
        if body.get("SignName") != self.sign_name:
            return self._error("FailedOperation.SignatureIncorrectOrUnapproved")
        content = self.templates.get(str(body.get("TemplateId")))
        params = body.get("TemplateParamSet") or []
        if content is None or len(re.findall(r"\{\d+\}", content)) != len(params):
            return self._error("FailedOperation.TemplateIncorrectOrUnapproved")
        if any(_URL.search(str(p)) for p in params):
            return self._error("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter")
        statuses = []
        for phone in body.get("PhoneNumberSet") or []:
            code = "Ok"
            if not _MAINLAND.match(str(phone)):
                code = "InvalidParameterValue.IncorrectPhoneNumber"
            elif phone[3:] in self.blacklist:
                code = "FailedOperation.PhoneNumberInBlacklist"
            elif failure is not None:
                code = failure[1]
            if code == "Ok":
                self._record(phone, body, content, params)
            statuses.append(
                {
                    "SerialNo": f"2028:fake{self._serial:08d}",
                    "PhoneNumber": phone,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": body.get("SessionContext") or "",
                    "Code": code,
                    "Message": "send success" if code == "Ok" else MESSAGES.get(code, code),
                    "IsoCode": "CN",
                }
            )
        answered = statuses[0]["Code"] if len(statuses) == 1 else "Ok"
        return (answered, *self._json({"SendStatusSet": statuses}))

    def _record(self, phone: str, body: dict[str, Any], content: str, params: list[Any]) -> None:
        text = content
        for n, value in enumerate(params, start=1):
            text = text.replace("{" + str(n) + "}", str(value))
        with self._lock:
            self._serial += 1
            self.sent.append(
                Sent(
                    phone=phone,
                    template_id=str(body["TemplateId"]),
                    params=[str(p) for p in params],
                    sign_name=str(body["SignName"]),
                    session_context=str(body.get("SessionContext") or ""),
                    text=f"【{body['SignName']}】{text}",
                )
            )

    def _check_signature(self, headers: dict[str, str], raw: bytes) -> str | None:
        """The error code a real server would refuse this request's credentials with, if any."""
        match = _AUTH.match(headers.get("authorization", ""))
        if match is None:
            return "AuthFailure.InvalidAuthorization"
        if match["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidAuthorization"
        if abs(self.now().timestamp() - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        signed = match["headers"].split(";")
        if match["date"] != date or match["service"] != "sms":
            return "AuthFailure.SignatureFailure"
        if "content-type" not in signed or "host" not in signed:
            return "AuthFailure.SignatureFailure"
        if any(name not in headers for name in signed):
            return "AuthFailure.SignatureFailure"
        canonical = "POST\n/\n\n"
        canonical += "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
        canonical += "\n" + ";".join(signed) + "\n" + hashlib.sha256(raw).hexdigest()
        scope = f"{date}/sms/tc3_request"
        string_to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n"
            + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        )

        def step(key: bytes, text: str) -> bytes:
            return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()

        key = step(step(step(b"TC3" + self.secret_key.encode("utf-8"), date), "sms"), "tc3_request")
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match["sig"]):
            return "AuthFailure.SignatureFailure"
        return None


def running_fake(**kwargs: Any) -> Iterator[FakeTencentSms]:
    """For a fixture: ``yield from running_fake(templates=…)``."""
    fake = FakeTencentSms(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()
