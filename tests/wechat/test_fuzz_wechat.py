"""Properties of ``POST /wechat`` under hostile input (the tests/edge style): whatever a signed
or unsigned request carries, the answer is 200, 400, 403 or 413, never a 5xx."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from wechat.protocol import signed_request

from .conftest import ACCOUNT, FakeWeChat

FUZZ = settings(
    max_examples=int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "20")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["]]>", "<!DOCTYPE x>", "&amp;", "\x00", "1", "2", "取消", "人工", "确认"]),
    st.integers(min_value=2**63, max_value=2**80).map(str),
)
TYPES = st.sampled_from(
    ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "x", ""]
)
EVENTS = st.sampled_from(["subscribe", "unsubscribe", "CLICK", "VIEW", "LOCATION", "SCAN", "?"])
FIELDS = st.dictionaries(
    st.sampled_from(
        ["Content", "MediaId", "Recognition", "Location_X", "Location_Y", "Label", "EventKey"]
    ),
    TEXT,
    max_size=4,
)
ANSWERS = {200, 400, 403, 413}


def _cdata(value: str) -> str:
    return value.replace("]]>", "]]]]><![CDATA[>")


@pytest.mark.parametrize("wechat_mode", ["plain", "safe"])
@FUZZ
@given(msg_type=TYPES, event=EVENTS, fields=FIELDS, msg_id=TEXT)
def test_a_signed_message_of_any_shape_never_fails(
    wx: FakeWeChat, msg_type: str, event: str, fields: dict[str, str], msg_id: str
) -> None:
    extra = "".join(f"<{k}><![CDATA[{_cdata(v)}]]></{k}>" for k, v in fields.items())
    xml = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        "<FromUserName><![CDATA[o-fuzz]]></FromUserName>"
        f"<CreateTime>{int(clock.now().timestamp())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"{extra}<MsgId>{_cdata(msg_id)}</MsgId></xml>"
    )
    assert wx.post(xml).status_code in ANSWERS


@pytest.mark.parametrize("wechat_mode", ["plain", "safe"])
@FUZZ
@given(body=st.binary(max_size=300), query=st.dictionaries(TEXT, TEXT, max_size=4))
def test_any_body_and_query_never_fail(wx: FakeWeChat, body: bytes, query: dict[str, str]) -> None:
    args, _ = signed_request(wx.settings, "<xml/>", now=clock.now())
    signed = wx.client.post("/wechat", query_string=args, data=body, content_type="text/xml")
    assert signed.status_code in ANSWERS
    unsigned = wx.client.post("/wechat", query_string=query, data=body)
    assert unsigned.status_code in ANSWERS
