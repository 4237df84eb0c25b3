"""The shared access token (``wechat.token``): fetched once for every process, refreshed before
it expires and after WeChat calls it invalid, never fetched twice at once — in the database
(SQLite and PostgreSQL) and in Redis."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry
from wechat.client import WeChatApi, WeChatError
from wechat.token import (
    REFRESH_MARGIN,
    AccessTokens,
    DatabaseTokenStore,
    RedisTokenStore,
    Token,
    TokenStore,
    TokenUnavailable,
    store_for,
)

from .fake_api import FakeWeChat

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def database_store(app: Flask) -> Callable[[], TokenStore]:
    return lambda: DatabaseTokenStore(app.extensions["hotline_db"].session, "wx-test-app")


@pytest.fixture
def redis_store() -> Iterator[Callable[[], TokenStore]]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        client.close()
        pytest.skip(f"Redis does not answer on {REDIS_URL}: {error}")
    prefix = f"hotline-test:{uuid.uuid4().hex}"
    yield lambda: RedisTokenStore(client, "wx-test-app", prefix=prefix)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["database", "redis"])
def make_store(
    request: pytest.FixtureRequest,
) -> Callable[[], TokenStore]:
    fixture: Callable[[], TokenStore] = request.getfixturevalue(f"{request.param}_store")
    return fixture


@pytest.fixture
def make_api(
    fake: FakeWeChat, make_store: Callable[[], TokenStore]
) -> Iterator[Callable[[], WeChatApi]]:
    """A client as one worker process has it: its own store object on the shared storage."""
    made: list[WeChatApi] = []

    def make() -> WeChatApi:
        api = WeChatApi(fake.appid, fake.secret, store=make_store(), api_base=fake.url)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


def test_the_token_is_fetched_once_and_shared_by_two_workers(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    first, second = make_api(), make_api()
    assert first.tokens.get() == "TOKEN-1"
    assert second.tokens.get() == "TOKEN-1"
    first.send_text("openid-1", "一")
    second.send_text("openid-2", "二")
    assert len(fake.token_requests) == 1
    assert fake.token_requests[0] == {
        "grant_type": "client_credential",
        "appid": fake.appid,
        "secret": fake.secret,
    }
    assert [c.token for c in fake.calls_to("custom")] == ["TOKEN-1", "TOKEN-1"]


def test_two_workers_asking_at_once_fetch_it_once(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    fake.token_delay = 0.3  # the first fetch is still running when the others ask
    apis = [make_api() for _ in range(4)]
    barrier = threading.Barrier(len(apis))
    got: list[str] = []
    errors: list[BaseException] = []

    def ask(api: WeChatApi) -> None:
        barrier.wait()
        try:
            got.append(api.tokens.get())
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(api,)) for api in apis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert got == ["TOKEN-1"] * len(apis)
    assert len(fake.token_requests) == 1


def test_refreshed_some_minutes_before_it_expires(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    api = make_api()
    start = clock.now()
    with clock.frozen(start):
        assert api.tokens.get() == "TOKEN-1"
    with clock.frozen(
        start + dt.timedelta(seconds=7200) - REFRESH_MARGIN - dt.timedelta(seconds=1)
    ):
        assert api.tokens.get() == "TOKEN-1"
    with clock.frozen(start + dt.timedelta(seconds=7200) - REFRESH_MARGIN):
        assert api.tokens.get() == "TOKEN-2"
    assert len(fake.token_requests) == 2


def test_an_invalid_token_is_replaced_once_and_the_call_retried(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    first, second = make_api(), make_api()
    first.send_text("openid-1", "before")
    fake.revoke_tokens()  # e.g. someone fetched a token with the same secret elsewhere
    first.send_text("openid-1", "after")
    assert [(c.token) for c in fake.calls_to("custom")] == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    # the other worker picks up the new token without fetching
    second.send_text("openid-2", "also")
    assert fake.calls_to("custom")[-1].token == "TOKEN-2"
    assert len(fake.token_requests) == 2
    assert [m["text"]["content"] for m in fake.custom_messages] == ["before", "after", "also"]


def test_a_stale_token_refreshed_elsewhere_is_not_fetched_again(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    first, second = make_api(), make_api()
    assert first.tokens.get() == "TOKEN-1"
    assert first.tokens.refresh(stale="TOKEN-1") == "TOKEN-2"
    # the second worker also saw TOKEN-1 refused: the store already holds a newer one
    assert second.tokens.refresh(stale="TOKEN-1") == "TOKEN-2"
    assert len(fake.token_requests) == 2


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_each_invalid_token_code_refreshes(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi], code: int
) -> None:
    api = make_api()
    api.tokens.get()
    fake.fail("custom", code)
    api.send_text("openid-1", "hello")
    assert len(fake.token_requests) == 2
    assert len(fake.custom_messages) == 1


def test_a_token_still_refused_after_the_refresh_is_an_error_not_a_loop(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    api = make_api()
    api.tokens.get()
    fake.fail("custom", 40001, 40001, 40001)
    with pytest.raises(WeChatError) as raised:
        api.send_text("openid-1", "hello")
    assert raised.value.errcode == 40001
    assert len(fake.token_requests) == 2  # one refresh, one retry
    assert len(fake.calls_to("custom")) == 2


def test_a_refused_token_request_raises_with_its_code(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    fake.fail("token", 40013)
    with pytest.raises(WeChatError) as raised:
        make_api().tokens.get()
    assert raised.value.errcode == 40013
    fake.fail_http("token", 503)
    with pytest.raises(WeChatError) as raised:
        make_api().tokens.get()
    assert raised.value.errcode is None and raised.value.status == 503


def test_a_worker_waits_for_another_ones_fetch_then_gives_up(
    make_store: Callable[[], TokenStore],
) -> None:
    store = make_store()
    assert store.try_lock("someone-else", 30)
    waited: list[float] = []
    tokens = AccessTokens(
        make_store(), lambda: ("never", 7200), wait_seconds=0.2, sleep=waited.append
    )
    with pytest.raises(TokenUnavailable):
        tokens.get()
    assert waited  # it polled instead of fetching
    # while the old token is still valid (only near its expiry) it is used meanwhile
    store.write(Token("OLD", clock.now() + REFRESH_MARGIN / 2))
    assert tokens.get() == "OLD"
    store.unlock("someone-else")
    assert tokens.get() == "never"


def test_the_lock_is_released_only_by_its_owner_and_expires(
    make_store: Callable[[], TokenStore],
) -> None:
    store = make_store()
    assert store.try_lock("a", 30)
    assert not store.try_lock("b", 30)
    store.unlock("b")  # not the owner: no effect
    assert not store.try_lock("b", 30)
    store.unlock("a")
    assert store.try_lock("b", 30)


def test_the_database_lock_expires_on_the_clock(
    database_store: Callable[[], TokenStore],
) -> None:
    store = database_store()
    start = clock.now()
    with clock.frozen(start):
        assert store.try_lock("crashed", 30)
        assert not store.try_lock("b", 30)
    with clock.frozen(start + dt.timedelta(seconds=31)):
        assert store.try_lock("b", 30)


def test_the_database_keeps_the_token_in_system_state(
    fake: FakeWeChat, app: Flask, db: Session
) -> None:
    api = WeChatApi(
        fake.appid,
        fake.secret,
        store=store_for({}, app.extensions["hotline_db"].session, fake.appid),
        api_base=fake.url,
    )
    try:
        with clock.frozen(clock.now()) as now:
            api.tokens.get()
    finally:
        api.close()
    rows = {e.key: e for e in db.scalars(select(StateEntry))}
    entry = rows[f"wechat.access_token:{fake.appid}"]
    assert entry.value == "TOKEN-1"
    assert entry.updated_at == now + dt.timedelta(seconds=7200)  # when it expires
    assert f"wechat.access_token_lock:{fake.appid}" not in rows  # released


def test_redis_is_used_when_configured(app: Flask) -> None:
    store = store_for({"REDIS_URL": REDIS_URL}, app.extensions["hotline_db"].session, "wx1")
    assert isinstance(store, RedisTokenStore)
    store.client.close()


def test_media_downloads_use_the_shared_token(
    fake: FakeWeChat, make_api: Callable[[], WeChatApi]
) -> None:
    fake.media["MEDIA-1"] = b"\xff\xd8\xff\xe0 a photo"
    api = make_api()
    assert api.download_media("MEDIA-1") == b"\xff\xd8\xff\xe0 a photo"
    with pytest.raises(WeChatError) as raised:
        api.download_media("MEDIA-404")
    assert raised.value.errcode == 40007
    assert fake.media_requests == ["MEDIA-1", "MEDIA-404"]
    assert {c.token for c in fake.calls_to("media")} == {"TOKEN-1"}
