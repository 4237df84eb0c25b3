"""The outbox's WeChat sender against the fake WeChat API: customer-service messages inside the
48-hour window, template messages outside it, the error codes that mean "never" (dead letters)
and "later" (retries), and staff chat replies and status pushes through the real worker."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.handoff import pick_up_chat, send_staff_reply
from bot.engine.models import Conversation
from core import clock
from delivery import senders as registry
from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message
from delivery.senders import Outgoing, PermanentFailure, TemporaryFailure
from delivery.worker import Worker
from directory.citizens import find_identity, get_or_create_citizen
from directory.models import StaffUser
from tickets import workflow
from tickets.models import Ticket
from wechat import sender as wechat_sender
from wechat.sender import WeChatSender, parse_templates, register_senders

from .fake_api import FakeWeChat, account_config

OPENID = "oWx_citizen_0001"
PUBLIC = "https://12345.example.test"
TEMPLATES = {"status": "TPL-STATUS", "survey": "TPL-SURVEY", "chat": "TPL-CHAT"}
CHAT_CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
_ids = itertools.count(1)


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeWeChat) -> dict[str, Any]:
    return {
        **test_config,
        **account_config(fake),
        "WECHAT_TEMPLATES": TEMPLATES,
        "PUBLIC_BASE_URL": PUBLIC,
    }


def seen(db: Session, openid: str = OPENID, *, hours_ago: float = 1.0) -> None:
    """The citizen's last message on WeChat was ``hours_ago`` hours ago."""
    with clock.frozen(clock.now() - dt.timedelta(hours=hours_ago)):
        get_or_create_citizen(db, "wechat", openid)
    db.commit()


def outgoing(template: str = "ticket_dispatched", **kw: Any) -> Outgoing:
    values: dict[str, Any] = {
        "id": next(_ids),
        "idempotency_key": f"k{next(_ids)}",
        "audience": "citizen",
        "channel": "wechat",
        "recipient": OPENID,
        "template": template,
        "params": {"number": "20260310-0001", "stage": "dept_review"},
        "locale": "zh_CN",
        "ticket_id": None,
        "attempts": 1,
        "text": "工单 20260310-0001 已转交城管局。",
        "extra": {},
    }
    values.update(kw)
    return Outgoing(**values)


def queue(db: Session, template: str = "chat_notice", text: str = "您好") -> OutboxMessage:
    message = enqueue_message(
        db,
        idempotency_key=f"test:{next(_ids)}",
        audience="citizen",
        channel="wechat",
        recipient=OPENID,
        template=template,
        params={"text": text},
    )
    db.commit()
    return message


def status_of(db: Session, message: OutboxMessage) -> OutboxMessage:
    db.rollback()  # end the read transaction: see what the worker committed since
    db.expire_all()
    row = db.get(OutboxMessage, message.id)
    assert row is not None
    return row


# -- registration --------------------------------------------------------------------------------


def test_the_app_registers_the_sender_only_when_the_account_is_configured(
    app: Flask, sender: WeChatSender, fake: FakeWeChat
) -> None:
    assert sender.api.api_base == fake.url
    assert register_senders({"WECHAT_APP_ID": "wx1"}, app.extensions["hotline_db"].session) is False
    assert registry.sender_for("wechat") is None  # none is left behind from an earlier app


# -- the window ----------------------------------------------------------------------------------


def test_inside_the_window_a_customer_service_message(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=47.9)
    sender(outgoing())
    assert fake.custom_messages == [
        {
            "touser": OPENID,
            "msgtype": "text",
            "text": {"content": "工单 20260310-0001 已转交城管局。"},
        }
    ]
    assert fake.template_messages == []


def test_outside_the_window_a_template_message_for_the_purpose(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=48.1)
    with clock.frozen(clock.now()) as now:
        sender(outgoing())
    local = now.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert fake.custom_messages == []
    assert fake.template_messages == [
        {
            "touser": OPENID,
            "template_id": "TPL-STATUS",
            "url": PUBLIC + "/wechat/oauth/start?next=%2Ftrack%2F20260310-0001",
            "data": {
                "first": {"value": "工单 20260310-0001 已转交城管局。"},
                "keyword1": {"value": "20260310-0001"},
                "keyword2": {"value": local},
            },
        }
    ]


def test_a_citizen_never_heard_from_on_wechat_gets_a_template_message(
    sender: WeChatSender, fake: FakeWeChat
) -> None:
    sender(outgoing("chat_staff_reply"))
    assert [m["template_id"] for m in fake.template_messages] == ["TPL-CHAT"]


def test_a_survey_outside_the_window_links_to_the_survey(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=72)
    link = "https://12345.example.test/survey/abc.def"
    sender(outgoing("survey_reminder", extra={"survey_link": link}))
    (message,) = fake.template_messages
    assert message["template_id"] == "TPL-SURVEY"
    # opened inside WeChat through 网页授权, straight on the survey
    assert message["url"] == PUBLIC + "/wechat/oauth/start?next=%2Fsurvey%2Fabc.def"


def test_out_of_the_window_answer_falls_back_to_a_template_message(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=1)
    fake.fail("custom", 45015)
    sender(outgoing())
    assert len(fake.calls_to("custom")) == 1 and fake.custom_messages == []
    assert [m["template_id"] for m in fake.template_messages] == ["TPL-STATUS"]
    fake.fail("custom", 45047)  # too many customer-service messages since the last one
    sender(outgoing())
    assert len(fake.template_messages) == 2


def test_no_template_for_the_purpose_is_a_permanent_failure_that_says_so(
    db: Session, sender: WeChatSender, fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "templates", parse_templates('{"status": "TPL-STATUS"}'))
    with pytest.raises(
        PermanentFailure, match="no WeChat template is configured for purpose 'chat'"
    ):
        sender(outgoing("chat_notice"))
    assert fake.calls == []


def test_templates_by_outbox_name_and_with_their_own_fields(
    db: Session, sender: WeChatSender, fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sender,
        "templates",
        parse_templates(
            {
                "status": "TPL-STATUS",
                "ticket_closed": {
                    "template_id": "TPL-CLOSED",
                    "fields": {"character_string1": "number", "thing2": "text"},
                },
            }
        ),
    )
    sender(
        outgoing("ticket_closed", text="工单已办结，感谢您对12345市民服务热线工作的支持与理解。")
    )
    (message,) = fake.template_messages
    assert message["template_id"] == "TPL-CLOSED"
    thing = message["data"]["thing2"]["value"]
    assert len(thing) == 20 and thing.endswith("…")  # WeChat's limit for a thing field
    assert message["data"]["character_string1"] == {"value": "20260310-0001"}


def test_the_templates_setting_may_be_json_and_is_checked() -> None:
    assert parse_templates('{"chat": "T1"}')["chat"].template_id == "T1"
    assert parse_templates(None) == {}
    with pytest.raises(ValueError, match="needs a template id"):
        parse_templates({"chat": {"fields": {}}})


# -- never and later ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [43004, 40003, 43019])
def test_never_codes_are_permanent(
    db: Session, sender: WeChatSender, fake: FakeWeChat, code: int
) -> None:
    seen(db)
    fake.fail("custom", code)
    with pytest.raises(PermanentFailure, match=str(code)):
        sender(outgoing())


@pytest.mark.parametrize("code", [45009, -1, 45011, 40164])
def test_rate_limits_and_busy_are_temporary(
    db: Session, sender: WeChatSender, fake: FakeWeChat, code: int
) -> None:
    seen(db)
    fake.fail("custom", code)
    with pytest.raises(TemporaryFailure, match=str(code)):
        sender(outgoing())


def test_gateway_errors_and_an_unreachable_server_are_temporary(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db)
    fake.fail_http("custom", 502)
    with pytest.raises(TemporaryFailure, match="HTTP 502"):
        sender(outgoing())
    fake.fail_http("template", 503)
    seen(db, "oWx_other", hours_ago=100)
    with pytest.raises(TemporaryFailure, match="HTTP 503"):
        sender(outgoing(recipient="oWx_other"))
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s3cr3t-value", "TIMEZONE": "UTC"}
    config["WECHAT_API_BASE"] = f"http://127.0.0.1:{port}"
    nowhere = WeChatSender.from_config(config, sender.session_factory)
    try:
        with pytest.raises(TemporaryFailure, match="ConnectionError") as raised:
            nowhere(outgoing())
    finally:
        nowhere.api.close()
    # the reason lands in the outbox's last_error, which admins read: no secret in it
    assert "/cgi-bin/token" in str(raised.value)
    assert "s3cr3t-value" not in str(raised.value) and "secret=***" in str(raised.value)


def test_a_failing_token_request_is_temporary(sender: WeChatSender, fake: FakeWeChat) -> None:
    fake.fail("token", -1)
    with pytest.raises(TemporaryFailure, match="-1"):
        sender(outgoing())


def test_an_invalid_token_is_refreshed_once_and_the_send_retried(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db)
    sender(outgoing())
    fake.revoke_tokens()
    sender(outgoing())
    assert [c.token for c in fake.calls_to("custom")] == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    assert len(fake.custom_messages) == 2
    assert len(fake.token_requests) == 2


def test_an_identity_marked_unreachable_is_not_sent_to(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    """``unreachable_at`` (set when the citizen unsubscribes) stops sending without a call; a
    message from the citizen since then (they subscribed again) lifts it."""
    seen(db, hours_ago=5)
    identity = find_identity(db, "wechat", OPENID)
    assert identity is not None
    identity.unreachable_at = clock.now() - dt.timedelta(hours=1)
    db.commit()
    with pytest.raises(PermanentFailure, match="unsubscribed"):
        sender(outgoing())
    assert fake.calls == [] and fake.token_requests == []
    seen(db, hours_ago=0)
    sender(outgoing())
    assert len(fake.custom_messages) == 1


# -- through the outbox worker -----------------------------------------------------------------


def test_unsubscribed_becomes_a_dead_letter(db: Session, worker: Worker, fake: FakeWeChat) -> None:
    seen(db)
    message = queue(db)
    fake.fail("custom", 43004)
    assert worker.drain() == 1
    row = status_of(db, message)
    assert row.status == "dead"
    assert row.last_error is not None and "43004" in row.last_error
    assert fake.template_messages == []  # unsubscribed is not "out of the window"


def test_rate_limited_is_retried_later_and_then_sent(
    db: Session, worker: Worker, fake: FakeWeChat
) -> None:
    seen(db)
    message = queue(db, text="稍后再发")
    fake.fail("custom", 45009)
    assert worker.drain() == 1
    row = status_of(db, message)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at > clock.now()
    assert row.last_error is not None and "45009" in row.last_error
    with clock.frozen(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert worker.drain() == 1
    row = status_of(db, message)
    assert (row.status, row.last_error) == ("sent", None)
    assert [m["text"]["content"] for m in fake.custom_messages] == ["12345在线客服：稍后再发"]


def test_a_staff_chat_reply_reaches_the_citizen_over_wechat(
    db: Session, worker: Worker, fake: FakeWeChat, staff: dict[str, StaffUser]
) -> None:
    handle_message(db, InboundMessage("wechat", OPENID, "m1", "人工"), config=CHAT_CONFIG)
    conversation = db.scalar(select(Conversation).where(Conversation.user_id == OPENID))
    assert conversation is not None and conversation.handoff_id
    handoff = pick_up_chat(db, conversation.handoff_id, actor=staff["operator"])
    send_staff_reply(db, handoff, "您好，请讲。", actor=staff["operator"])
    db.commit()
    worker.drain()
    texts = [m["text"]["content"] for m in fake.custom_messages]
    assert texts[-1] == f"{staff['operator'].display_name}（人工客服）：您好，请讲。"
    assert {m["touser"] for m in fake.custom_messages} == {OPENID}
    assert fake.template_messages == []
    assert db.scalars(select(OutboxMessage.status)).all() == ["sent"] * len(texts)


def test_status_pushes_go_out_in_and_out_of_the_window(
    db: Session,
    worker: Worker,
    fake: FakeWeChat,
    make_ticket: Callable[..., Ticket],
    staff: dict[str, StaffUser],
    departments: dict[str, Any],
) -> None:
    ticket = make_ticket("submitted", channel="wechat", external_id=OPENID)
    worker.drain()
    (received,) = fake.custom_messages
    assert ticket.number in received["text"]["content"]
    # three days later, without a word from the citizen: the dispatch notice is a template
    with clock.frozen(clock.now() + dt.timedelta(days=3)):
        workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
        db.commit()
        worker.drain()
    (pushed,) = fake.template_messages
    assert pushed["template_id"] == "TPL-STATUS"
    assert pushed["touser"] == OPENID
    assert pushed["data"]["keyword1"] == {"value": ticket.number}
    assert set(db.scalars(select(OutboxMessage.status))) == {"sent"}


def test_the_survey_invitation_outside_the_window_opens_the_survey(
    db: Session,
    worker: Worker,
    fake: FakeWeChat,
    make_ticket: Callable[..., Ticket],
    staff: dict[str, StaffUser],
) -> None:
    ticket = make_ticket(
        "re_review", channel="wechat", external_id=OPENID, when=clock.now() - dt.timedelta(days=3)
    )
    worker.drain()  # the earlier notices, as templates: the citizen wrote 3 days ago
    assert fake.custom_messages == []
    assert {m["template_id"] for m in fake.template_messages} == {"TPL-STATUS"}
    workflow.pass_review(db, ticket, actor=staff["reviewer"])
    db.commit()
    worker.drain()
    survey = fake.template_messages[-1]
    assert survey["template_id"] == "TPL-SURVEY"
    assert survey["url"].startswith(PUBLIC + "/wechat/oauth/start?next=%2Fsurvey%2F")
    assert survey["url"] in survey["data"]["first"]["value"]  # the text carries it too
    assert set(db.scalars(select(OutboxMessage.status))) == {"sent"}


def test_the_purposes_cover_every_citizen_template_of_the_domains() -> None:
    from bot.engine.messages import TEMPLATES as CHAT
    from tickets.notify import CITIZEN_TEMPLATES

    citizen_templates = set(CITIZEN_TEMPLATES.values()) | set(CHAT) | {"survey_reminder"}
    assert citizen_templates <= set(wechat_sender.PURPOSES)


# -- links open inside WeChat's browser through 网页授权 ----------------------------------------


def test_the_tracking_link_in_a_push_opens_the_tickets_own_page(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=1)
    text = f"已收到。请在 {PUBLIC}/track 查询进度；办事指南见 https://www.gov.cn/guide 。"
    sender(outgoing("ticket_received", text=text))
    (message,) = fake.custom_messages
    sent = message["text"]["content"]
    assert f"{PUBLIC}/wechat/oauth/start?next=%2Ftrack%2F20260310-0001 " in sent
    assert f"{PUBLIC}/track " not in sent
    assert "https://www.gov.cn/guide" in sent  # not ours: unchanged


def test_a_status_template_links_to_the_tickets_own_page(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=72)
    sender(outgoing("ticket_dispatched"))
    (message,) = fake.template_messages
    assert message["url"] == PUBLIC + "/wechat/oauth/start?next=%2Ftrack%2F20260310-0001"


def test_a_chat_reply_without_a_ticket_has_no_link(
    db: Session, sender: WeChatSender, fake: FakeWeChat
) -> None:
    seen(db, hours_ago=72)
    sender(outgoing("chat_staff_reply", params={"staff_name": "王"}, text="您好"))
    (message,) = fake.template_messages
    assert "url" not in message or not message["url"]


def test_the_pushed_link_opens_the_ticket_for_its_owner(
    db: Session,
    client: Any,
    worker: Worker,
    fake: FakeWeChat,
    make_ticket: Callable[..., Ticket],
) -> None:
    seen(db, hours_ago=1)
    ticket = make_ticket("dept_review", channel="wechat", external_id=OPENID)
    worker.drain()  # 已受理 (with the tracking link), 已转办
    sent = next(
        m["text"]["content"]
        for m in fake.custom_messages
        if "/wechat/oauth/" in m["text"]["content"]
    )
    link = re.search(r"https://\S+", sent)
    assert link is not None
    parts = urlsplit(link.group(0))
    # inside WeChat's browser: our start → WeChat's authorize page → our callback → the ticket
    fake.oauth_openid = OPENID
    start = client.get(f"{parts.path}?{parts.query}")
    assert start.status_code == 302
    authorize = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert authorize.status_code == 302
    back = urlsplit(authorize.headers["Location"])
    assert back.path == "/wechat/oauth/callback"
    landed = client.get(f"{back.path}?{back.query}")
    assert landed.headers["Location"] == f"/track/{ticket.number}"
    page = client.get(landed.headers["Location"])
    assert page.status_code == 200
    assert ticket.number in page.get_data(as_text=True)
