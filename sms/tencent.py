"""Tencent Cloud SMS (短信), API 3.0 ``SendSms`` (version 2021-01-11) over its documented HTTP API.

One request is one POST of a JSON body to ``SMS_API_BASE`` (``https://sms.tencentcloudapi.com``),
signed with TC3-HMAC-SHA256:

1. canonical request: method, ``/``, an empty query string, the signed headers
   (``content-type``, ``host``, ``x-tc-action``: lower-case name and value, trimmed, one per
   line), their names joined by ``;``, and the hex SHA-256 of the body;
2. string to sign: ``TC3-HMAC-SHA256``, the timestamp, the credential scope
   ``<UTC date>/sms/tc3_request`` and the hex SHA-256 of the canonical request;
3. key: HMAC-SHA256 chained from ``"TC3" + SecretKey`` over the date, the service and
   ``tc3_request``; the signature is the hex HMAC of the string to sign;
4. ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=…,
   Signature=…``, with ``X-TC-Action``, ``X-TC-Version``, ``X-TC-Region`` and ``X-TC-Timestamp``.

The answer is HTTP 200 with ``Response.Error`` (the request was refused as a whole) or
``Response.SendStatusSet`` (one status per number, ``Code`` ``"Ok"`` when accepted). Every call
is exactly one HTTP request: no retries here (``requests`` does not retry either), so a message is
never sent twice by this client; the outbox worker decides when to try again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from core import clock

DEFAULT_API_BASE = "https://sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_TIMEOUT_SECONDS = 10.0
SERVICE = "sms"
VERSION = "2021-01-11"
ACTION = "SendSms"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = ("content-type", "host", "x-tc-action")
MAX_SESSION_CONTEXT = 511  # bytes; the API wants fewer than 512


class SmsApiError(Exception):
    """The API refused (``code`` set: Tencent's error code) or could not be reached (``code``
    None: connection refused, timeout, HTTP 5xx, an answer that is not the API's JSON)."""

    def __init__(self, code: str | None, message: str, *, status: int | None = None) -> None:
        super().__init__(f"Tencent SMS {code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Accepted:
    serial_no: str
    fee: int


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str,
    *,
    timestamp: int,
    service: str,
    method: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body: bytes,
    query: str = "",
) -> str:
    """The hex TC3-HMAC-SHA256 signature of one request (``headers`` by lower-case name)."""
    canonical_headers = "".join(
        f"{name}:{headers[name].strip().lower()}\n" for name in signed_headers
    )
    canonical_request = "\n".join(
        [method, "/", query, canonical_headers, ";".join(signed_headers), _sha256_hex(body)]
    )
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode("utf-8"))]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class TencentSms:
    """One SMS application (SdkAppId) of one account. Safe to share between threads."""

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        app_id: str,
        sign_name: str,
        api_base: str = DEFAULT_API_BASE,
        region: str = DEFAULT_REGION,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.app_id = app_id
        self.sign_name = sign_name
        self.url = api_base.rstrip("/") + "/"
        self.host = urlsplit(self.url).netloc
        self.region = region
        self.timeout = timeout
        self._http = requests.Session()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TencentSms:
        return cls(
            secret_id=str(config["SMS_SECRET_ID"]),
            secret_key=str(config["SMS_SECRET_KEY"]),
            app_id=str(config["SMS_APP_ID"]),
            sign_name=str(config["SMS_SIGN_NAME"]),
            api_base=str(config.get("SMS_API_BASE") or DEFAULT_API_BASE),
            region=str(config.get("SMS_REGION") or DEFAULT_REGION),
            timeout=float(config.get("SMS_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
        )

    def close(self) -> None:
        self._http.close()

    def signed_headers(self, body: bytes, *, action: str, timestamp: int) -> dict[str, str]:
        headers = {"content-type": CONTENT_TYPE, "host": self.host, "x-tc-action": action.lower()}
        signature = tc3_signature(
            self._secret_key,
            timestamp=timestamp,
            service=SERVICE,
            method="POST",
            headers=headers,
            signed_headers=SIGNED_HEADERS,
            body=body,
        )
        date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
        return {
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": action,
            "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": (
                f"{ALGORITHM} Credential={self.secret_id}/{date}/{SERVICE}/tc3_request, "
                f"SignedHeaders={';'.join(SIGNED_HEADERS)}, Signature={signature}"
            ),
        }

    def send(
        self,
        phone: str,
        template_id: str,
        params: Sequence[str],
        *,
        session_context: str = "",
    ) -> Accepted:
        """Send one templated SMS to one number (E.164, ``+86…``); one HTTP request."""
        payload = {
            "PhoneNumberSet": [phone],
            "SmsSdkAppId": self.app_id,
            "TemplateId": template_id,
            "SignName": self.sign_name,
            "TemplateParamSet": list(params),
            "SessionContext": session_context.encode("utf-8")[:MAX_SESSION_CONTEXT].decode(
                "utf-8", "ignore"
            ),
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = self.signed_headers(body, action=ACTION, timestamp=int(clock.now().timestamp()))
        try:
            response = self._http.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:  # refused, reset, timed out
            raise SmsApiError(None, f"{type(error).__name__}: {error}") from None
        if response.status_code >= 300:
            raise SmsApiError(None, f"HTTP {response.status_code}", status=response.status_code)
        try:
            answer = response.json()["Response"]
        except (ValueError, KeyError, TypeError):
            raise SmsApiError(None, "the answer is not the API's JSON") from None
        return _accepted(answer, phone)


def _accepted(answer: Any, phone: str) -> Accepted:
    if not isinstance(answer, Mapping):
        raise SmsApiError(None, "the answer is not the API's JSON")
    error = answer.get("Error")
    if isinstance(error, Mapping):
        raise SmsApiError(str(error.get("Code") or "Unknown"), str(error.get("Message") or ""))
    statuses = answer.get("SendStatusSet")
    if not isinstance(statuses, list) or len(statuses) != 1 or not isinstance(statuses[0], Mapping):
        raise SmsApiError(None, f"no send status for {phone[:6]}…")
    status = statuses[0]
    code = str(status.get("Code") or "")
    if code != "Ok":
        raise SmsApiError(code or "Unknown", str(status.get("Message") or ""))
    fee = status.get("Fee")
    return Accepted(str(status.get("SerialNo") or ""), fee if isinstance(fee, int) else 0)
