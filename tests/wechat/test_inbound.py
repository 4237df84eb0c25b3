"""``/wechat`` end to end through the app: server verification, every fixture in plain and safe
mode, refused requests (signature, clock, size, hostile XML), duplicate delivery, events, and
never a 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import xmltodict
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage, Conversation, Handoff
from core import clock
from core.errors import Conflict
from core.inputs import BadInput
from directory.models import ChannelIdentity
from hotline.factory import create_app
from tickets.models import Ticket
from wechat import adapter, protocol
from wechat.protocol import (
    MAX_BODY,
    Incoming,
    Settings,
    read_reply,
    sign,
    signed_request,
    text_message,
)

from .conftest import ACCOUNT, TOKEN, USER, FakeWeChat, fixture_names, read_fixture
from .test_protocol import VECTOR, vector_args, vector_envelope

BOTH = pytest.mark.parametrize("wechat_mode", ["plain", "safe"])
ALL_MODES = pytest.mark.parametrize("wechat_mode", ["plain", "compatible", "safe"])


def _verify_args(token: str = TOKEN, **changes: str) -> dict[str, str]:
    timestamp, nonce = str(int(clock.now().timestamp())), "8842"
    args = {"timestamp": timestamp, "nonce": nonce, "echostr": "echo-1234567890"}
    args["signature"] = sign(token, timestamp, nonce)
    return {**args, **changes}


# -- the channel and server verification -------------------------------------------------------


def test_without_a_token_the_channel_is_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(WECHAT_TOKEN=None)
    client = app.test_client()
    assert client.get("/wechat", query_string=_verify_args()).status_code == 404
    assert client.post("/wechat", data=b"<xml/>").status_code == 404


def test_a_misconfigured_channel_is_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(WECHAT_MODE="safe", WECHAT_AES_KEY=None)
    assert app.test_client().get("/wechat", query_string=_verify_args()).status_code == 404


@ALL_MODES
def test_server_verification_echoes_echostr(client: Any) -> None:
    response = client.get("/wechat", query_string=_verify_args())
    assert response.status_code == 200 and response.get_data(as_text=True) == "echo-1234567890"


@pytest.mark.parametrize(
    "changes",
    [{"signature": "0" * 40}, {"nonce": "8843"}, {"signature": ""}, {"timestamp": ""}],
)
def test_server_verification_with_a_bad_signature_is_403(client: Any, changes: dict) -> None:
    response = client.get("/wechat", query_string=_verify_args(**changes))
    assert response.status_code == 403
    assert "echo-1234567890" not in response.get_data(as_text=True)


def test_verification_signed_with_another_token_is_403(client: Any) -> None:
    assert client.get("/wechat", query_string=_verify_args("other")).status_code == 403


# -- every fixture, in both modes ------------------------------------------------------------


EXPECTED_REPLY = {
    "text_message": "您",  # a question the empty knowledge base cannot answer: an apology
    "voice_message": "语音",
    "location_message": "提交工单",
    "image_message": "提交工单",
    "link_message": "文字",
    "video_message": "文字",
    "unknown_message": "文字",
    "subscribe_event": "12345市民服务热线",
    "subscribe_event_with_last_trade_no": "12345市民服务热线",
    "subscribe_scan_event": "123123",
    "scan_event": "SCENE_VALUE",
    "click_event": "12345市民服务热线",  # an unknown key: the help
}


@BOTH
@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_gets_a_sensible_answer(wx: FakeWeChat, db: Session, name: str) -> None:
    xml = read_fixture(name)
    response = wx.post(xml)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    if wx.settings.mode == "safe" and body != "success":
        assert "<Encrypt>" in body and "<Content>" not in body
    text = wx.reply(response)
    expected = EXPECTED_REPLY.get(name)
    if expected is None:
        assert text is None, text  # "success": unsubscribe, VIEW, LOCATION, platform events
    else:
        assert text is not None and expected in text, text
        sender = xmltodict.parse(xml)["xml"]["FromUserName"]
        reply = _reply_fields(wx, body)
        assert reply["ToUserName"] == sender and reply["MsgType"] == "text"


def _reply_fields(wx: FakeWeChat, body: str) -> dict[str, Any]:
    root = xmltodict.parse(body)["xml"]
    if "Encrypt" in root:
        crypto = wx.settings.crypto()
        assert crypto is not None
        inner = crypto.decrypt_message(
            {"Encrypt": root["Encrypt"]}, root["MsgSignature"], root["TimeStamp"], root["Nonce"]
        )
        root = xmltodict.parse(inner)["xml"]
    return dict(root)


@pytest.mark.parametrize("wechat_mode", ["compatible"])
def test_compatible_mode_takes_plain_and_encrypted_and_answers_in_kind(wx: FakeWeChat) -> None:
    xml = text_message(USER, "你好", account=ACCOUNT, now=clock.now(), msg_id="11")
    plain = wx.post(xml, encrypt=False).get_data(as_text=True)
    assert "<Content>" in plain and "<Encrypt>" not in plain
    xml = text_message(USER, "你好", account=ACCOUNT, now=clock.now(), msg_id="12")
    encrypted = wx.post(xml, encrypt=True).get_data(as_text=True)
    assert "<Encrypt>" in encrypted and "<Content>" not in encrypted
    assert wx.last is not None and "12345" in (wx.reply(wx.last) or "")


@pytest.fixture
def vector_app(test_config: dict[str, Any]) -> Any:
    app = create_app(
        {
            **test_config,
            "WECHAT_TOKEN": VECTOR["token"],
            "WECHAT_AES_KEY": VECTOR["aes_key"],
            "WECHAT_APP_ID": VECTOR["app_id"],
            "WECHAT_MODE": "compatible",
        }
    )
    yield app
    app.extensions["hotline_db"].dispose()


def test_tencents_vector_posted_to_the_app_is_answered_encrypted(
    vector_app: Flask, app: Flask
) -> None:
    moment = dt.datetime.fromtimestamp(int(VECTOR["timestamp"]) + 2, tz=dt.UTC)
    with clock.frozen(moment):
        response = vector_app.test_client().post(
            "/wechat", query_string=vector_args(), data=vector_envelope(), content_type="text/xml"
        )
    assert response.status_code == 200
    settings = Settings.from_config(vector_app.config)
    assert settings is not None
    body = response.get_data(as_text=True)
    assert "<Encrypt>" in body
    assert read_reply(settings, body)  # the engine's answer to "abcdteT", decrypted
    root = xmltodict.parse(body)["xml"]
    inner = xmltodict.parse(
        settings.crypto().decrypt_message(  # type: ignore[union-attr]
            {"Encrypt": root["Encrypt"]}, root["MsgSignature"], root["TimeStamp"], root["Nonce"]
        )
    )["xml"]
    assert inner["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert inner["FromUserName"] == "gh_10f6c3c3ac5a"
    # The same message now, 12 years late, is refused for its timestamp.
    late = vector_app.test_client().post(
        "/wechat", query_string=vector_args(), data=vector_envelope(), content_type="text/xml"
    )
    assert late.status_code == 403


# -- refused requests ----------------------------------------------------------------------------


def _text_xml(text: str = "你好", msg_id: str = "21") -> str:
    return text_message(USER, text, account=ACCOUNT, now=clock.now(), msg_id=msg_id)


def _nothing_stored(db: Session) -> bool:
    db.rollback()
    return db.scalar(select(func.count()).select_from(ChatMessage)) == 0


@pytest.mark.parametrize(
    "changes",
    [{"signature": "0" * 40}, {"signature": ""}, {"nonce": "1"}, {"timestamp": "abc"}],
)
def test_plain_message_with_a_bad_signature_is_403(
    wx: FakeWeChat, db: Session, changes: dict
) -> None:
    assert wx.post(_text_xml(), query=changes).status_code == 403
    assert _nothing_stored(db)


@pytest.mark.parametrize("wechat_mode", ["safe"])
@pytest.mark.parametrize(
    "changes",
    [{"msg_signature": "0" * 40}, {"msg_signature": ""}, {"nonce": "1"}, {"encrypt_type": "raw"}],
)
def test_safe_mode_refuses_a_bad_msg_signature_or_a_plain_message(
    wx: FakeWeChat, db: Session, changes: dict
) -> None:
    assert wx.post(_text_xml(), query=changes).status_code == 403
    assert wx.post(_text_xml(), encrypt=False).status_code == 403
    assert _nothing_stored(db)


@pytest.mark.parametrize("wechat_mode", ["safe"])
def test_safe_mode_refuses_a_message_encrypted_for_another_app(wx: FakeWeChat, db: Session) -> None:
    other = Settings(
        token=TOKEN, app_id="wxanother", aes_key=wx.settings.aes_key, mode=wx.settings.mode
    )
    args, body = signed_request(other, _text_xml(), now=clock.now())
    response = wx.client.post("/wechat", query_string=args, data=body, content_type="text/xml")
    assert response.status_code == 403
    assert _nothing_stored(db)


@BOTH
@pytest.mark.parametrize("offset", [-301, 301, -3600, 86400])
def test_a_timestamp_more_than_5_minutes_off_is_403(
    wx: FakeWeChat, db: Session, offset: int
) -> None:
    with clock.frozen(clock.now() + dt.timedelta(seconds=offset)):
        args, body = signed_request(wx.settings, _text_xml(), now=clock.now())
    response = wx.client.post("/wechat", query_string=args, data=body, content_type="text/xml")
    assert response.status_code == 403
    assert _nothing_stored(db)


@BOTH
def test_a_timestamp_within_5_minutes_is_accepted(wx: FakeWeChat) -> None:
    with clock.frozen(clock.now() - dt.timedelta(seconds=290)):
        args, body = signed_request(wx.settings, _text_xml(), now=clock.now())
    response = wx.client.post("/wechat", query_string=args, data=body, content_type="text/xml")
    assert response.status_code == 200


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    + "]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content></xml>"
)
HOSTILE = {
    "billion-laughs": BILLION_LAUGHS,
    "external-entity": EXTERNAL_ENTITY,
    "doctype": "<!DOCTYPE xml><xml><MsgType>text</MsgType></xml>",
    "not-xml": "hello, this is not XML",
    "unclosed": "<xml><ToUserName><![CDATA[a]]></ToUserName>",
    "json": '{"MsgType": "text"}',
    "no-sender": "<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    "undefined-entity": "<xml><Content>&nope;</Content></xml>",
}


@BOTH
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_malformed_xml_is_400(
    wx: FakeWeChat, db: Session, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    original = protocol.parse_message
    monkeypatch.setattr(protocol, "parse_message", lambda xml: parsed.append(xml) or original(xml))
    response = wx.post(HOSTILE[name])  # in safe mode, encrypted: the screen runs after decryption
    assert response.status_code == 400
    if name in ("billion-laughs", "external-entity", "doctype"):
        assert parsed == []  # refused before any parser saw it
    assert _nothing_stored(db)


@BOTH
def test_a_hostile_envelope_is_400_before_decryption(wx: FakeWeChat) -> None:
    args, _body = signed_request(
        wx.settings, _text_xml(), now=clock.now(), encrypt=bool(wx.settings.aes_key)
    )
    response = wx.client.post(
        "/wechat", query_string=args, data=EXTERNAL_ENTITY, content_type="text/xml"
    )
    assert response.status_code == 400


@BOTH
def test_a_body_over_64_kb_is_413(wx: FakeWeChat, db: Session) -> None:
    args, _ = signed_request(wx.settings, _text_xml(), now=clock.now())
    big = "<xml><Content><![CDATA[" + "字" * (MAX_BODY // 3) + "]]></Content></xml>"
    response = wx.client.post(
        "/wechat", query_string=args, data=big.encode(), content_type="text/xml"
    )
    assert response.status_code == 413
    assert _nothing_stored(db)


@BOTH
def test_a_citizen_may_write_markup_and_cdata_ends(wx: FakeWeChat) -> None:
    assert wx.say("<!DOCTYPE 这不是攻击> ]]> 你好") is not None


# -- duplicate delivery --------------------------------------------------------------------------


@BOTH
def test_a_resent_message_acts_once_and_is_answered_the_same(
    wx: FakeWeChat, db: Session, departments: Any
) -> None:
    wx.say("我要投诉")
    wx.say("小区门口的垃圾堆放了三天没人清理")
    wx.say("香洲区吉大路1号")
    wx.say("13800138000")
    xml = _text_xml("确认", msg_id="990001")
    answers = [wx.send(xml) for _ in range(3)]  # WeChat resends after 5 s, up to three times
    assert answers[0] and "工单编号" in answers[0]
    assert answers == [answers[0]] * 3
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1
    stored = db.scalar(select(func.count()).where(ChatMessage.external_id == "990001"))
    assert stored == 1


@BOTH
def test_a_resent_event_acts_once(wx: FakeWeChat, db: Session) -> None:
    at = int(clock.now().timestamp())
    answers = [wx.event("CLICK", at=at, EventKey="HUMAN") for _ in range(3)]
    assert answers == [answers[0]] * 3 and answers[0]
    db.rollback()
    assert db.scalar(select(func.count()).where(ChatMessage.external_id == f"{USER}:{at}")) == 1
    assert db.scalar(select(func.count()).select_from(Handoff)) == 1


# -- events and message types ----------------------------------------------------------------------


def test_menu_clicks_speak_the_engines_words(wx: FakeWeChat, db: Session, departments: Any) -> None:
    assert "社保卡丢了怎么补办" in wx.event("CLICK", EventKey="FAQ")
    assert "还没有工单" in wx.event("CLICK", EventKey="MY_TICKETS", at=1)
    assert "投诉" in wx.event("CLICK", EventKey="COMPLAIN", at=2)
    assert "取消" in wx.say("取消")
    human = wx.event("CLICK", EventKey="HUMAN", at=3)
    assert "排" in human or "队" in human, human


def test_subscribe_welcomes_and_unsubscribe_marks_the_citizen_unreachable(
    wx: FakeWeChat, db: Session
) -> None:
    welcome = wx.event("subscribe")
    assert "12345市民服务热线" in welcome and "1. 提交工单" in welcome
    assert wx.event("unsubscribe", at=5) is None
    db.rollback()
    identity = db.scalar(select(ChannelIdentity).where(ChannelIdentity.external_id == USER))
    assert identity is not None and identity.unreachable_at is not None
    wx.say("你好")
    db.rollback()
    db.refresh(identity)
    assert identity.unreachable_at is None and identity.last_seen_at is not None


def test_unsubscribe_of_a_stranger_is_success(wx: FakeWeChat, db: Session) -> None:
    assert wx.event("unsubscribe", user="o-never-seen") is None
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ChannelIdentity)) == 0


def test_a_qr_scene_is_named_in_the_welcome(wx: FakeWeChat) -> None:
    welcome = wx.event("subscribe", EventKey="qrscene_jida-street", Ticket="T")
    assert "jida-street" in welcome and "12345市民服务热线" in welcome


def test_voice_with_recognition_is_text_and_without_is_a_polite_reply(wx: FakeWeChat) -> None:
    polite = wx.message("voice", MediaId="m1", Format="amr")
    assert polite and "文字" in polite
    answer = wx.message("voice", MediaId="m2", Format="amr", Recognition="我的工单")
    assert answer and "还没有工单" in answer


def test_help_then_a_digit_picks_a_choice(wx: FakeWeChat) -> None:
    help_text = wx.say("你好")
    assert "2. 我的工单" in help_text
    assert "还没有工单" in wx.say("2")
    assert "还没有工单" not in wx.say("7")  # no such choice: the engine reads "7" itself


def test_digits_expire_with_their_choices(wx: FakeWeChat) -> None:
    wx.say("你好")
    with clock.frozen(clock.now() + adapter.CHOICES_VALID + dt.timedelta(minutes=1)):
        assert "还没有工单" not in wx.say("2")


def test_a_digit_to_a_staff_chat_is_not_mapped(wx: FakeWeChat, db: Session) -> None:
    wx.say("你好")
    wx.say("人工")
    db.rollback()
    conversation = db.scalar(select(Conversation))
    assert conversation is not None and conversation.mode == "waiting"
    waiting = wx.say("2")
    assert "排" in waiting or "队" in waiting or "保留" in waiting


# -- never a 500 -----------------------------------------------------------------------------------


@pytest.fixture
def no_propagation(app: Flask) -> None:
    app.config["PROPAGATE_UNEXPECTED"] = False


@BOTH
def test_an_unexpected_error_is_a_polite_reply_and_nothing_is_kept(
    wx: FakeWeChat, db: Session, no_propagation: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("the knowledge base is down")

    monkeypatch.setattr(adapter, "render", broken)
    answer = wx.say("你好")
    assert "出错" in answer or "稍后" in answer, answer
    assert _nothing_stored(db)


def test_a_domain_error_is_rolled_back_and_explained(
    wx: FakeWeChat, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any, **_kw: Any) -> Any:
        raise Conflict("The ticket has already been handled.")

    monkeypatch.setattr(adapter, "mark_reachable", refuse)
    assert wx.say("你好")
    assert _nothing_stored(db)


def test_nul_or_a_lone_surrogate_is_refused_by_the_input_policy(db: Session) -> None:
    # XML cannot carry either (the parser refuses them first); check_text is the last line.
    for content in ("a\x00b", "a\ud800b"):
        message = Incoming("text", None, USER, ACCOUNT, "1", "9", content=content)
        with pytest.raises(BadInput):
            adapter.handle(db, message, config={})
