"""The protocol without the app: Tencent's published safe-mode vector, our encrypted reply
decrypting back, the XML screen, parsing every fixture, and the reply's text rules."""

from __future__ import annotations

import datetime as dt

import pytest
import xmltodict

from bot.engine import Choice, Reply
from wechat.choices import answer, render
from wechat.protocol import (
    MAX_REPLY_BYTES,
    ConfigError,
    Mode,
    ProtocolError,
    Settings,
    clip,
    open_body,
    parse,
    passive_reply,
    read_reply,
    screen_xml,
    signed_request,
    text_message,
)

from .conftest import fixture_names, read_fixture

# Tencent's sample of safe mode (the WXBizMsgCrypt demo of the official-account developer
# documentation, reproduced by every WeChat SDK's tests): token, EncodingAESKey and app id, and
# one posted message with its msg_signature, timestamp, nonce and Encrypt.
VECTOR = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "encrypt": (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6"
        "F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T33"
        "2jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCg"
        "avjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oewp"
        "usjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
    ),
}
VECTOR_TEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)


def vector_settings(mode: str = "safe") -> Settings:
    settings = Settings.from_config(
        {
            "WECHAT_TOKEN": VECTOR["token"],
            "WECHAT_AES_KEY": VECTOR["aes_key"],
            "WECHAT_APP_ID": VECTOR["app_id"],
            "WECHAT_MODE": mode,
        }
    )
    assert settings is not None
    return settings


def vector_envelope() -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        f"<Encrypt><![CDATA[{VECTOR['encrypt']}]]></Encrypt></xml>"
    )


def vector_args(**changes: str) -> dict[str, str]:
    args = {
        "timestamp": VECTOR["timestamp"],
        "nonce": VECTOR["nonce"],
        "encrypt_type": "aes",
        "msg_signature": VECTOR["msg_signature"],
    }
    return {**args, **changes}


def test_tencent_vector_decrypts_to_its_known_text() -> None:
    xml, encrypted = open_body(vector_settings(), vector_envelope(), vector_args())
    assert encrypted and xml == VECTOR_TEXT
    message = parse(xml)
    assert (message.kind, message.content, message.msg_id) == (
        "text",
        "abcdteT",
        "6054768590064713728",
    )
    assert message.sender == "oyORnuP8q7ou2gfYjqLzSIWZf0rs" and message.account == "gh_10f6c3c3ac5a"


def test_tencent_vector_with_a_wrong_signature_or_app_id_is_refused() -> None:
    with pytest.raises(ProtocolError) as refused:
        open_body(vector_settings(), vector_envelope(), vector_args(nonce="1320562133"))
    assert refused.value.status == 403
    other_app = Settings.from_config(
        {
            "WECHAT_TOKEN": VECTOR["token"],
            "WECHAT_AES_KEY": VECTOR["aes_key"],
            "WECHAT_APP_ID": "wx0000000000000000",
        }
    )
    assert other_app is not None
    with pytest.raises(ProtocolError) as refused:
        open_body(other_app, vector_envelope(), vector_args())
    assert refused.value.status == 403


def test_our_encrypted_reply_decrypts_back_with_the_vector_keys() -> None:
    settings = vector_settings()
    message = parse(VECTOR_TEXT)
    now = dt.datetime(2014, 9, 3, 9, 14, 29, tzinfo=dt.UTC)
    body = passive_reply(
        settings, message, "已收到]]>您的消息", encrypted=True, nonce="42", now=now
    )
    envelope = xmltodict.parse(body)["xml"]
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["TimeStamp"] == str(int(now.timestamp())) and envelope["Nonce"] == "42"
    assert read_reply(settings, body) == "已收到]]>您的消息"
    inner = settings.crypto().decrypt_message(  # type: ignore[union-attr]
        {"Encrypt": envelope["Encrypt"]}, envelope["MsgSignature"], envelope["TimeStamp"], "42"
    )
    fields = xmltodict.parse(inner)["xml"]
    assert fields["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert fields["FromUserName"] == "gh_10f6c3c3ac5a"
    assert fields["MsgType"] == "text"


def test_a_request_we_sign_and_encrypt_opens_again() -> None:
    settings = vector_settings()
    now = dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC)
    xml = text_message("openid-1", "我要投诉", account="gh_x", now=now, msg_id="1")
    args, body = signed_request(settings, xml, now=now)
    assert args["encrypt_type"] == "aes" and "我要投诉" not in body
    opened, encrypted = open_body(settings, body, args)
    assert encrypted and parse(opened).content == "我要投诉"


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses(name: str) -> None:
    message = parse(screen_xml(read_fixture(name).encode("utf-8")))
    assert message.sender and message.account and message.create_time.isdigit()


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "b">]><xml><Content>&a;</Content></xml>',
        "<!doctype xml><xml/>",
        '<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml/>',
        '<xml><!ENTITY x SYSTEM "file:///etc/passwd"></xml>',
        "<xml><![CDATA[never closed <!DOCTYPE x></xml>",
    ],
)
def test_markup_declarations_never_reach_a_parser(body: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        screen_xml(body.encode("utf-8"))
    assert refused.value.status == 400


def test_a_citizen_may_type_markup_inside_cdata() -> None:
    body = "<xml><Content><![CDATA[<!DOCTYPE 这是文字>]]></Content><!-- note --></xml>"
    assert screen_xml(body.encode("utf-8")) == body


@pytest.mark.parametrize("body", [b"", b"   ", b"\xff\xfe<xml/>", b"\xc3(<xml/>"])
def test_empty_or_not_utf8_is_refused(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        screen_xml(body)


@pytest.mark.parametrize(
    "xml",
    [
        "not xml at all",
        "<xml><FromUserName>a</FromUserName>",
        "<root><MsgType>text</MsgType></root>",
        "<xml><MsgType>text</MsgType></xml>",
        "<xml><ToUserName>a</ToUserName><FromUserName><b>1</b></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
        "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
        "<CreateTime>yesterday</CreateTime><MsgType>text</MsgType></xml>",
    ],
)
def test_malformed_messages_are_400(xml: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse(xml)
    assert refused.value.status == 400


def test_settings() -> None:
    assert Settings.from_config({}) is None
    plain = Settings.from_config({"WECHAT_TOKEN": "t"})
    assert plain is not None and plain.mode == Mode.PLAIN
    derived = vector_settings(mode="")
    assert derived.mode == Mode.SAFE
    assert vector_settings("compatible").mode == Mode.COMPATIBLE
    for bad in (
        {"WECHAT_TOKEN": "t", "WECHAT_MODE": "safe"},
        {"WECHAT_TOKEN": "t", "WECHAT_MODE": "secret"},
        {"WECHAT_TOKEN": "t", "WECHAT_AES_KEY": "short", "WECHAT_APP_ID": "wx"},
        {"WECHAT_TOKEN": "t", "WECHAT_AES_KEY": VECTOR["aes_key"]},  # no app id
    ):
        with pytest.raises(ConfigError):
            Settings.from_config(bad)


def test_a_long_reply_is_clipped_to_wechats_limit() -> None:
    text = "很长的回答。" * 500
    clipped = clip(text)
    assert len(clipped.encode("utf-8")) <= MAX_REPLY_BYTES and clipped.endswith("…")
    assert clip("短") == "短"


MENU = Reply(
    "欢迎",
    (Choice("提交工单", "提交工单"), Choice("我的工单", "我的工单"), Choice("人工", "转人工")),
)
SUGGESTIONS = Reply(
    "您是不是想问：\n1. 社保卡怎么补办\n2. 公积金怎么提取",
    (Choice("1", "1"), Choice("2", "2"), Choice("都不是", "都不是")),
)
OFFER = Reply(
    "您可以提交工单，或转人工客服：\n1 提交工单\n2 转人工",
    (Choice("提交工单", "提交工单"), Choice("人工", "转人工")),
)


def test_choices_become_numbered_lines_once() -> None:
    assert render([MENU]) == "欢迎\n1. 提交工单\n2. 我的工单\n3. 转人工"
    assert render([SUGGESTIONS]) == SUGGESTIONS.text + "\n3. 都不是"
    assert render([OFFER]) == OFFER.text
    answered = Reply("答案：带身份证去网点。")
    assert render([answered, MENU]) == "答案：带身份证去网点。\n\n" + render([MENU])
    assert (
        render([MENU, answered]) == "欢迎\n1. 提交工单\n2. 我的工单\n3. 转人工\n\n" + answered.text
    )
    assert render([]) == ""


def test_a_digit_answers_the_last_choices() -> None:
    assert answer("2", [MENU]) == "我的工单"
    assert answer(" ３。", [MENU]) == "人工"  # full-width digit and punctuation
    assert answer("4", [MENU]) == "4"
    assert answer("3", [SUGGESTIONS]) == "都不是" and answer("1", [SUGGESTIONS]) == "1"
    assert answer("1", [OFFER]) == "提交工单"
    assert answer("2", []) == "2"
    assert answer("13800138000", [MENU]) == "13800138000"
    assert answer("查询", [MENU]) == "查询"
