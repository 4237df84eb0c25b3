"""The TC3-HMAC-SHA256 signing of the Tencent Cloud client, against the example of Tencent's own
documentation, and the request the fake provider checks independently (and refuses, with the
provider's real codes, when the signature, the key, the clock or the body do not hold)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
import requests

from core import clock
from sms.tencent import SmsApiError, TencentSms, tc3_signature

from .conftest import APPROVED
from .fake_provider import FakeTencentSms


def test_the_signature_matches_tencents_documented_example() -> None:
    # "签名方法 v3": CVM DescribeInstances, 2019-02-25, the documentation's (masked) key
    body = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    signature = tc3_signature(
        "Gu5t9xGARNpq86cd98joQYCN3*******",
        timestamp=1551113065,
        service="cvm",
        method="POST",
        headers={
            "content-type": "application/json; charset=utf-8",
            "host": "cvm.tencentcloudapi.com",
        },
        signed_headers=["content-type", "host"],
        body=body,
    )
    assert signature == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"


@pytest.fixture
def fake() -> Iterator[FakeTencentSms]:
    server = FakeTencentSms(templates=dict(APPROVED)).start()
    yield server
    server.stop()


def _client(fake: FakeTencentSms, **kw: str) -> TencentSms:
    return TencentSms(
        secret_id=kw.get("secret_id", fake.secret_id),
        secret_key=kw.get("secret_key", fake.secret_key),
        app_id=kw.get("app_id", fake.app_id),
        sign_name=kw.get("sign_name", fake.sign_name),
        api_base=fake.url,
        timeout=2.0,
    )


def test_a_signed_request_is_accepted_with_the_documented_headers_and_body(fake) -> None:
    accepted = _client(fake).send(
        "+8613800138000", "2001", ["260310000001", "K7M2QX"], session_context="ticket-event:7"
    )
    assert accepted.serial_no and accepted.fee == 1
    (request,) = fake.requests
    headers = request["headers"]
    assert headers["x-tc-action"] == "SendSms"
    assert headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert abs(int(headers["x-tc-timestamp"]) - clock.now().timestamp()) < 5
    assert headers["authorization"].startswith(
        f"TC3-HMAC-SHA256 Credential={fake.secret_id}/{clock.now().astimezone(dt.UTC):%Y-%m-%d}"
        "/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature="
    )
    body = json.loads(request["body"])
    assert body == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": fake.app_id,
        "TemplateId": "2001",
        "SignName": "珠海12345",
        "TemplateParamSet": ["260310000001", "K7M2QX"],
        "SessionContext": "ticket-event:7",
    }
    assert fake.sent[0].text == "【珠海12345】您的诉求已受理，工单号260310000001，查询码K7M2QX。"


def test_a_wrong_key_or_id_is_refused(fake) -> None:
    with pytest.raises(SmsApiError) as wrong_key:
        _client(fake, secret_key="not-the-key").send("+8613800138000", "2001", ["1", "2"])
    assert wrong_key.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(SmsApiError) as wrong_id:
        _client(fake, secret_id="AKIDother").send("+8613800138000", "2001", ["1", "2"])
    assert wrong_id.value.code == "AuthFailure.SecretIdNotFound"
    assert fake.sent == []


def test_a_body_changed_after_signing_is_refused(fake) -> None:
    client = _client(fake)
    body = json.dumps({"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": fake.app_id}).encode()
    headers = client.signed_headers(body, action="SendSms", timestamp=int(clock.now().timestamp()))
    tampered = body.replace(b"13800138000", b"13900139000")
    answer = requests.post(fake.url + "/", data=tampered, headers=headers, timeout=5).json()
    assert answer["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    honest = requests.post(fake.url + "/", data=body, headers=headers, timeout=5).json()
    assert honest["Response"]["Error"]["Code"] != "AuthFailure.SignatureFailure"  # signed right


def test_a_clock_more_than_five_minutes_off_is_refused(fake) -> None:
    fake.now = lambda: clock.now() + dt.timedelta(minutes=6)
    with pytest.raises(SmsApiError) as stale:
        _client(fake).send("+8613800138000", "2001", ["1", "2"])
    assert stale.value.code == "AuthFailure.SignatureExpire"
    fake.now = lambda: clock.now() + dt.timedelta(minutes=4)
    _client(fake).send("+8613800138000", "2001", ["1", "2"])


def test_the_fake_checks_sign_template_and_parameters(fake) -> None:
    cases = [
        (
            dict(sign_name="别的签名"),
            "2001",
            ["1", "2"],
            "FailedOperation.SignatureIncorrectOrUnapproved",
        ),
        (dict(app_id="1400999999"), "2001", ["1", "2"], "InvalidParameterValue.SdkAppIdNotExist"),
        ({}, "9999", ["1", "2"], "FailedOperation.TemplateIncorrectOrUnapproved"),
        ({}, "2001", ["1"], "FailedOperation.TemplateIncorrectOrUnapproved"),
        (
            {},
            "2001",
            ["1", "https://x.test/s/1"],
            "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
        ),
    ]
    for kw, template, params, code in cases:
        with pytest.raises(SmsApiError) as refused:
            _client(fake, **kw).send("+8613800138000", template, params)
        assert refused.value.code == code
    with pytest.raises(SmsApiError) as bad_number:
        _client(fake).send("+860756123", "2001", ["1", "2"])
    assert bad_number.value.code == "InvalidParameterValue.IncorrectPhoneNumber"
    assert fake.sent == []


def test_transport_failures_have_no_code(fake) -> None:
    fake.fail_http(502)
    with pytest.raises(SmsApiError) as gateway:
        _client(fake).send("+8613800138000", "2001", ["1", "2"])
    assert gateway.value.code is None and gateway.value.status == 502
