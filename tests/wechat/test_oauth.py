"""网页授权 (``snsapi_base``) inside WeChat's browser: ``/wechat/oauth/start`` → WeChat →
``/wechat/oauth/callback`` → the session knows the openid → ``/my`` lists that citizen's tickets
and their pages open without the query code. WeChat is the loopback fake (``fake_api``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core import clock
from tests.conftest import at
from tickets import public
from tickets.models import Ticket
from wechat import oauth

from .fake_api import FakeWeChat, account_config

OPENID = "o-citizen-openid-oauth-1"
OTHER = "o-citizen-openid-oauth-2"
PUBLIC = "https://12345.example.test"


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeWeChat) -> dict[str, Any]:
    return {
        **test_config,
        **account_config(fake),
        "PUBLIC_BASE_URL": PUBLIC + "/",
    }


def _start(client: FlaskClient, target: str = "/my") -> tuple[str, dict[str, str]]:
    response = client.get("/wechat/oauth/start", query_string={"next": target})
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return location, query


def _sign_in(client: FlaskClient, fake: FakeWeChat, openid: str = OPENID) -> Any:
    _, query = _start(client)
    return client.get(
        "/wechat/oauth/callback",
        query_string={"code": fake.issue_code(openid), "state": query["state"]},
    )


def _session(client: FlaskClient) -> dict[str, Any]:
    with client.session_transaction() as stored:
        return dict(stored)


def _listed(html: str) -> list[str]:
    return re.findall(r'data-ticket="(\d+)"', html)


def test_start_sends_the_browser_to_wechat_with_a_signed_state(
    client: FlaskClient, fake: FakeWeChat
) -> None:
    location, query = _start(client)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake.url + "/connect/oauth2/authorize"
    assert parts.fragment == "wechat_redirect"
    assert query["appid"] == fake.appid
    assert query["redirect_uri"] == PUBLIC + "/wechat/oauth/callback"
    assert query["response_type"] == "code"
    assert query["scope"] == "snsapi_base"
    # WeChat takes a-zA-Z0-9 and at most 128 bytes.
    assert re.fullmatch(r"[A-Za-z0-9]{1,128}", query["state"])
    assert _session(client)["wechat_oauth"]["next"] == "/my"
    _, again = _start(client)
    assert again["state"] != query["state"]


def test_the_default_oauth_base_is_wechats(app: Flask) -> None:
    url = oauth.authorize_url({"WECHAT_APP_ID": "wx1"}, PUBLIC + "/cb", "abc")
    assert url.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1&")
    assert url.endswith("&scope=snsapi_base&state=abc#wechat_redirect")


def test_round_trip_lists_exactly_the_citizens_tickets(
    client: FlaskClient, fake: FakeWeChat, make_ticket: Callable[..., Ticket]
) -> None:
    older = make_ticket(channel="wechat", external_id=OPENID, when=at(2026, 3, 2, 9))
    newer = make_ticket("handling", channel="wechat", external_id=OPENID, when=at(2026, 3, 9, 9))
    theirs = make_ticket(channel="wechat", external_id=OTHER, when=at(2026, 3, 9, 11))

    assert client.get("/my").headers["Location"] == "/wechat/oauth/start?next=/my"
    response = _sign_in(client, fake)
    assert response.status_code == 302
    assert response.headers["Location"] == "/my"
    stored = _session(client)
    assert stored["wechat_openid"] == OPENID
    assert "wechat_oauth" not in stored  # the state is spent
    (exchange,) = fake.oauth_requests
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["appid"] == fake.appid and exchange["secret"] == fake.secret

    page = client.get("/my")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "我的工单" in html
    assert _listed(html) == [newer.number, older.number]  # newest first, nobody else's
    assert theirs.number not in html
    assert "部门正在办理" in html or "承办部门正在办理" in html  # the stage in plain words

    own = client.get(f"/track/{newer.number}")
    assert own.status_code == 200
    assert newer.number in own.get_data(as_text=True)
    other = client.get(f"/track/{theirs.number}")
    assert other.status_code == 302
    assert other.headers["Location"].startswith("/track?number=")


def test_an_openid_without_tickets_sees_an_empty_list(
    client: FlaskClient, fake: FakeWeChat
) -> None:
    assert _sign_in(client, fake, "o-never-wrote").status_code == 302
    html = client.get("/my").get_data(as_text=True)
    assert _listed(html) == []
    assert "您还没有诉求" in html


def test_a_callback_without_a_started_sign_in_is_refused(
    client: FlaskClient, fake: FakeWeChat
) -> None:
    state, _ = oauth.new_state("test-secret", "/my")
    response = client.get(
        "/wechat/oauth/callback", query_string={"code": fake.issue_code(OPENID), "state": state}
    )
    assert response.status_code == 400
    assert "已过期或已使用" in response.get_data(as_text=True)
    assert "wechat_openid" not in _session(client)
    assert fake.oauth_requests == []


@pytest.mark.parametrize("tamper", ["forged", "other-nonce", "garbage", "missing"])
def test_a_forged_or_foreign_state_is_refused(
    client: FlaskClient, fake: FakeWeChat, tamper: str
) -> None:
    _, query = _start(client)
    state = query["state"]
    if tamper == "forged":
        state = state[:-1] + ("0" if state[-1] != "0" else "1")
    elif tamper == "other-nonce":
        state, _ = oauth.new_state("test-secret", "/my")  # validly signed, another browser's
    elif tamper == "garbage":
        state = "not-a-state"
    args = {"code": fake.issue_code(OPENID)}
    if tamper != "missing":
        args["state"] = state
    response = client.get("/wechat/oauth/callback", query_string=args)
    assert response.status_code == 400
    assert "wechat_openid" not in _session(client)
    assert fake.oauth_requests == []


def test_a_state_works_once(client: FlaskClient, fake: FakeWeChat) -> None:
    _, query = _start(client)
    first = client.get(
        "/wechat/oauth/callback",
        query_string={"code": fake.issue_code(OPENID), "state": query["state"]},
    )
    assert first.status_code == 302
    with client.session_transaction() as stored:
        stored.pop("wechat_openid")
    replay = client.get(
        "/wechat/oauth/callback",
        query_string={"code": fake.issue_code(OTHER), "state": query["state"]},
    )
    assert replay.status_code == 400
    assert "wechat_openid" not in _session(client)
    assert len(fake.oauth_requests) == 1


def test_an_expired_state_is_refused(client: FlaskClient, fake: FakeWeChat) -> None:
    _, query = _start(client)
    with clock.frozen(clock.now() + dt.timedelta(seconds=oauth.STATE_MAX_AGE + 5)):
        response = client.get(
            "/wechat/oauth/callback",
            query_string={"code": fake.issue_code(OPENID), "state": query["state"]},
        )
    assert response.status_code == 400
    assert "wechat_openid" not in _session(client)


@pytest.mark.parametrize("failure", ["40029", "used", "malformed", "http"])
def test_a_code_wechat_refuses_gets_a_polite_page(
    client: FlaskClient, fake: FakeWeChat, failure: str
) -> None:
    _, query = _start(client)
    code = fake.issue_code(OPENID)
    if failure == "40029":
        fake.fail("oauth", 40029)
    elif failure == "used":
        fake.oauth_codes.pop(code)
        fake._used_codes.add(code)
    elif failure == "malformed":
        code = "<script>"
    else:
        fake.fail_http("oauth", 502)
    response = client.get(
        "/wechat/oauth/callback", query_string={"code": code, "state": query["state"]}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "微信未能确认您的身份" in html
    assert fake.secret not in html
    assert "wechat_openid" not in _session(client)
    assert len(fake.oauth_requests) == (0 if failure == "malformed" else 1)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/my",
        "/\\evil.example",
        "javascript:alert(1)",
        "my",
        "/wechat/oauth/start?next=/my",
    ],
)
def test_next_must_be_a_local_path(client: FlaskClient, target: str) -> None:
    response = client.get("/wechat/oauth/start", query_string={"next": target})
    assert response.status_code == 400
    assert "wechat_oauth" not in _session(client)


def test_a_local_next_with_a_query_is_followed(
    client: FlaskClient, fake: FakeWeChat, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(channel="wechat", external_id=OPENID)
    _, query = _start(client, f"/track/{ticket.number}")
    response = client.get(
        "/wechat/oauth/callback",
        query_string={"code": fake.issue_code(OPENID), "state": query["state"]},
    )
    assert response.headers["Location"] == f"/track/{ticket.number}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_the_page_switches_to_english(
    client: FlaskClient, fake: FakeWeChat, make_ticket: Callable[..., Ticket]
) -> None:
    make_ticket(channel="wechat", external_id=OPENID)
    _sign_in(client, fake)
    assert client.get("/lang/en?next=/my").headers["Location"] == "/my"
    html = client.get("/my").get_data(as_text=True)
    assert "My requests" in html
    assert "Received: the hotline is checking your request" in html
    refused = client.get("/wechat/oauth/callback", query_string={"state": "x", "code": "y"})
    assert "This sign-in link has expired" in refused.get_data(as_text=True)


def test_without_the_account_the_page_explains_number_and_code(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WECHAT_APP_SECRET", None)
    page = client.get("/my")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "查询码" in html and 'href="/track"' in html
    assert client.get("/wechat/oauth/start?next=/my").status_code == 404
    assert client.get("/wechat/oauth/callback?state=x&code=y").status_code == 404


def test_own_tickets_page_by_keyset(db: Any, make_ticket: Callable[..., Ticket]) -> None:
    made = [
        make_ticket(channel="wechat", external_id=OPENID, when=at(2026, 3, day, 9))
        for day in (2, 3, 4)
    ]
    theirs = make_ticket(channel="wechat", external_id=OTHER, when=at(2026, 3, 5, 9))
    first = public.identity_tickets(db, "wechat", OPENID, limit=2)
    assert [t.number for t in first.items] == [made[2].number, made[1].number]
    assert first.next_before == made[1].number
    second = public.identity_tickets(db, "wechat", OPENID, before=first.next_before, limit=2)
    assert [t.number for t in second.items] == [made[0].number]
    assert second.next_before is None
    # Someone else's number as the cursor starts from the newest, it is not a way in.
    foreign = public.identity_tickets(db, "wechat", OPENID, before=theirs.number, limit=2)
    assert [t.number for t in foreign.items] == [made[2].number, made[1].number]
    assert public.identity_tickets(db, "wechat", "o-unknown").items == []
    assert public.identity_owns(db, made[0], "wechat", OPENID)
    assert not public.identity_owns(db, theirs, "wechat", OPENID)
    assert not public.identity_owns(db, made[0], "wechat", None)
