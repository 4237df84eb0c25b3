"""Property-based fuzzing of every public endpoint: the citizen portal, the JSON API, web chat,
the switchboard's events, Open311 GeoReport v2 and staff sign-in, on the demo data, on whichever
database the run uses.

For every generated request: no 5xx (in tests an unexpected exception propagates and fails the
example), no traceback in the body, and when the answer is a refusal (4xx) no table changed.

Inputs: text with NUL, lone surrogates, control and bidi characters, quotes and template syntax,
overlong strings; integers far beyond 64 bits and negative; JSON of the wrong type. Query strings
and forms are sent as raw bytes, the way an attacker's client would (a lone surrogate goes out as
the bytes of its CESU-8 form, which the server reads as U+FFFD); JSON carries ``\\ud800`` escapes.

The budget is fixed (``HOTLINE_FUZZ_EXAMPLES``, 20 per property by default) and derandomised when
``CI`` is set; ``scripts/fuzz.py`` runs the same properties with a large budget and counts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "20"))
settings.register_profile(
    "hotline",
    max_examples=EXAMPLES,
    derandomize=bool(os.environ.get("CI")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings.get_profile("hotline")

# endpoint -> Counter of answer statuses, written by scripts/fuzz.py's run (HOTLINE_FUZZ_REPORT)
TRIED: dict[str, Counter[int]] = {}

NASTY = st.sampled_from(
    [
        "\x00",
        "\ud800",
        "\udfff",
        "\x1b[31m",
        "\r\n\r\nSet-Cookie: x=1",
        "\u202e",
        "\ufeff",
        "' OR '1'='1",
        '"',
        "<script>alert(1)</script>",
        "{{7*7}}",
        "%s%n",
        "../../etc/passwd",
        "𠀀",
        "١٢٣",
        "²",
        "\t",
    ]
)
ANY_CHAR = st.characters(codec=None, categories=None)  # surrogates and controls included
HOSTILE = st.lists(st.one_of(NASTY, st.text(ANY_CHAR, max_size=4)), min_size=1, max_size=5)
TEXT = st.one_of(
    HOSTILE.map("".join),
    st.text(ANY_CHAR, max_size=30),
    st.tuples(st.sampled_from(["护照", "社保", "公积金"]), NASTY).map("".join),
    st.integers(min_value=4_001, max_value=20_000).map(lambda n: "长" * n),
)
HUGE = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**80),
    st.integers(max_value=-1, min_value=-(2**80)),
    st.integers(min_value=0, max_value=10**6),
)
VALUE = st.one_of(TEXT, HUGE.map(str), st.just(""))


def around(valid: str) -> st.SearchStrategy[str]:
    """Half the time a value the endpoint accepts, so that the hostile one next to it gets
    as far as the database."""
    return st.one_of(st.just(valid), VALUE)


def form_around(valid: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({name: around(value) for name, value in valid.items()})


JSON_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.lists(TEXT, max_size=3),
    st.dictionaries(TEXT, TEXT, max_size=2),
)


def _raw(value: str) -> str:
    """Percent-encoding of the bytes a client would send (lone surrogates as CESU-8)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _encoded(fields: dict[str, str]) -> str:
    return "&".join(f"{_raw(k)}={_raw(v)}" for k, v in fields.items())


@pytest.fixture
def check(
    client: FlaskClient, demo: dict[str, str], row_counts: Callable[[], dict[str, int]]
) -> Iterator[Callable[..., Any]]:
    """``check(endpoint, method, url, **kwargs)`` sends one request and asserts the properties."""

    def send(endpoint: str, method: str, url: str, **kwargs: Any) -> Any:
        before = row_counts()
        response = client.open(url, method=method, **kwargs)
        body = response.get_data(as_text=True)
        TRIED.setdefault(endpoint, Counter())[response.status_code] += 1
        assert response.status_code < 500, (url, body[:300])
        assert "Traceback" not in body
        if 400 <= response.status_code < 500:
            assert row_counts() == before, (endpoint, response.status_code)
        return response

    send.demo = demo  # type: ignore[attr-defined]
    yield send


def _form(fields: dict[str, str]) -> dict[str, Any]:
    return {"data": _encoded(fields), "content_type": "application/x-www-form-urlencoded"}


@FUZZ
@given(segment=VALUE, page=VALUE, q=VALUE)
def test_portal_pages(check, segment: str, page: str, q: str) -> None:
    check("GET /faq/<id>", "GET", f"/faq/{_raw(segment)}")
    check("GET /faq/c/<category>", "GET", f"/faq/c/{_raw(segment or 'x')}?page={_raw(page)}")
    check("GET /search", "GET", f"/search?q={_raw(q)}")
    check("GET /track/<number>", "GET", f"/track/{_raw(segment or 'x')}")
    check("GET /submitted/<number>", "GET", f"/submitted/{_raw(segment or 'x')}")
    check("GET /survey/<token>", "GET", f"/survey/{_raw(segment or 'x')}")
    check("GET /lang/<code>", "GET", f"/lang/{_raw(segment or 'x')}?next={_raw(q)}")
    check("GET /track", "GET", f"/track?number={_raw(q)}")


@FUZZ
@given(huge=HUGE)
def test_integer_paths_and_pages(check, huge: int) -> None:
    check("GET /faq/<id>", "GET", f"/faq/{huge}")
    check("GET /faq/c/<category>", "GET", f"/faq/c/{_raw(check.demo['category'])}?page={huge}")
    check("GET /api/v1/chat/poll", "GET", f"/api/v1/chat/poll?after={huge}")


FORM_FIELDS = form_around(
    {
        "kind": "complaint",
        "category": "environment",
        "title": "噪音扰民",
        "description": "工地夜间施工噪音很大，影响休息。",
        "address": "香洲区吉大路1号",
        "latitude": "22.27",
        "longitude": "113.57",
        "contact_name": "张三",
        "phone": "13800138000",
        "anonymous": "0",
        "form_token": "0123456789abcdef0123456789abcdef",
    }
)


@FUZZ
@given(fields=FORM_FIELDS)
def test_submit_form(check, fields: dict[str, str]) -> None:
    check("POST /submit", "POST", "/submit", **_form(fields))


@FUZZ
@given(number=around("261124000001"), by=around("phone"), secret=around("13800130000"))
def test_track_form(check, number: str, by: str, secret: str) -> None:
    fields = {"number": number, "by": by, "code": secret, "phone": secret}
    check("POST /track", "POST", "/track", **_form(fields))


@FUZZ
@given(token=VALUE, satisfaction=VALUE, comment=VALUE)
def test_survey_form(check, token: str, satisfaction: str, comment: str) -> None:
    fields = {"satisfaction": satisfaction, "comment": comment}
    check("POST /survey/<token>", "POST", f"/survey/{_raw(token or 'x')}", **_form(fields))


@FUZZ
@given(username=around("nobody"), password=around("hotline-demo"), next_url=around("/staff/"))
def test_staff_login(check, username: str, password: str, next_url: str) -> None:
    fields = {"username": username, "password": password}
    check("POST /staff/login", "POST", f"/staff/login?next={_raw(next_url)}", **_form(fields))


VALID_TICKET: dict[str, Any] = {
    "kind": "consultation",
    "title": "社保卡补办",
    "description": "社保卡丢了，怎么补办？",
    "address": "香洲区",
    "contact_name": "王五",
    "phone": "13700001111",
    "category": "social_security",
    "anonymous": False,
    "latitude": 22.27,
    "longitude": 113.57,
}
TICKET_BODY = st.one_of(
    # a valid ticket with one hostile field, so that the hostile value reaches the domain
    st.tuples(st.sampled_from(sorted(VALID_TICKET)), JSON_VALUE).map(
        lambda field: {**VALID_TICKET, field[0]: field[1]}
    ),
    st.fixed_dictionaries(
        {name: st.one_of(st.just(value), JSON_VALUE) for name, value in VALID_TICKET.items()}
    ),
    JSON_VALUE,
)


# CR and LF cannot travel inside one header value (HTTP framing ends the header there; werkzeug's
# client refuses to build such a request), so the key is hostile in every other way.
HEADER_VALUE = VALUE.map(lambda value: value.replace("\r", "").replace("\n", ""))


@FUZZ
@given(body=TICKET_BODY, key=st.one_of(st.just("retry-1"), HEADER_VALUE))
def test_api_tickets(check, row_counts, body: Any, key: str) -> None:
    request = {
        "data": json.dumps(body),
        "content_type": "application/json",
        "headers": {"Idempotency-Key": key.encode("utf-8", "surrogatepass").decode("latin-1")},
    }
    first = check("POST /api/v1/tickets", "POST", "/api/v1/tickets", **request)
    if first.status_code == 201 and key.strip():
        # accepted once: the same request again (a retry) makes no second ticket
        after_first = row_counts()
        again = check("POST /api/v1/tickets", "POST", "/api/v1/tickets", **request)
        assert again.status_code < 300
        assert again.get_json()["number"] == first.get_json()["number"]
        assert row_counts() == after_first


@FUZZ
@given(number=around("261124000001"), code=VALUE, phone=around("13800130000"))
def test_api_ticket_status(check, number: str, code: str, phone: str) -> None:
    url = f"/api/v1/tickets/{_raw(number or 'x')}?code={_raw(code)}&phone={_raw(phone)}"
    check("GET /api/v1/tickets/<number>", "GET", url)


@FUZZ
@given(q=VALUE, limit=around("3"), channel=around("wechat"))
def test_api_faq_search(check, q: str, limit: str, channel: str) -> None:
    url = f"/api/v1/faq/search?q={_raw(q)}&limit={_raw(limit)}&channel={_raw(channel)}"
    check("GET /api/v1/faq/search", "GET", url)


@FUZZ
@given(
    start=st.one_of(st.just({}), JSON_VALUE),
    text=st.one_of(TEXT, JSON_VALUE),
    client_id=st.one_of(st.just("m1"), TEXT, JSON_VALUE),
    location=st.one_of(st.none(), JSON_VALUE),
    after=st.one_of(st.just(0), HUGE, JSON_VALUE),
)
def test_web_chat(check, start: Any, text: Any, client_id: Any, location: Any, after: Any) -> None:
    as_json = {"content_type": "application/json"}
    check(
        "POST /api/v1/chat/start", "POST", "/api/v1/chat/start", data=json.dumps(start), **as_json
    )
    check("POST /api/v1/chat/start", "POST", "/api/v1/chat/start", data="{}", **as_json)
    body = {"text": text, "client_id": client_id, "location": location, "after": after}
    check("POST /api/v1/chat/send", "POST", "/api/v1/chat/send", data=json.dumps(body), **as_json)
    check("GET /api/v1/chat/poll", "GET", f"/api/v1/chat/poll?after={_raw(str(after))}")


@FUZZ
@given(before=VALUE, next_url=around("/my"), code=VALUE, state=VALUE)
def test_wechat_browser_pages(check, before: str, next_url: str, code: str, state: str) -> None:
    """我的工单 and the 网页授权 round trip (off here: WeChat is not configured in this app)."""
    check("GET /my", "GET", f"/my?before={_raw(before)}")
    check("GET /wechat/oauth/start", "GET", f"/wechat/oauth/start?next={_raw(next_url)}")
    url = f"/wechat/oauth/callback?code={_raw(code)}&state={_raw(state)}"
    check("GET /wechat/oauth/callback", "GET", url)


@FUZZ
@given(body=st.one_of(JSON_VALUE, st.just({"update_id": 1})), secret=HEADER_VALUE)
def test_telegram_webhook(check, body: Any, secret: str) -> None:
    """The bot's webhook (off here: Telegram is not configured in this app; configured, it has
    its own properties in tests/telegram/test_fuzz_webhook.py)."""
    header = secret.encode("utf-8", "surrogatepass").decode("latin-1")
    check(
        "POST /telegram/webhook",
        "POST",
        "/telegram/webhook",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": header},
    )


SMS_REPLY_TOKEN = "fuzz-sms-token"
SMS_REPLY: dict[str, Any] = {
    "extend": "",
    "mobile": "13800138000",
    "nationcode": "86",
    "sign": "珠海12345",
    "text": "1",
    "time": 1773108000,
}
SMS_REPLY_BODY = st.one_of(
    # a valid reply with one hostile field, so that the hostile value reaches the domain
    st.tuples(st.sampled_from(sorted(SMS_REPLY)), JSON_VALUE).map(
        lambda field: {**SMS_REPLY, field[0]: field[1]}
    ),
    st.fixed_dictionaries(
        {name: st.one_of(st.just(value), JSON_VALUE) for name, value in SMS_REPLY.items()}
    ),
    JSON_VALUE,
)


@FUZZ
@given(
    code=VALUE,
    token=VALUE,
    honest=st.booleans(),  # half the requests carry the right token, so the body is read
    body=SMS_REPLY_BODY,
    content_type=st.sampled_from(["application/json", "text/plain"]),
)
def test_sms_routes(
    check, client, code: str, token: str, honest: bool, body: Any, content_type: str
) -> None:
    """The SMS survey's short link and the provider's reply callback (sms/web.py), with the
    callback's secret token configured."""
    client.application.config["SMS_REPLY_TOKEN"] = SMS_REPLY_TOKEN
    check("GET /s/<code>", "GET", f"/s/{_raw(code or 'x')}")
    data = json.dumps(body)
    url = f"/sms/replies/{SMS_REPLY_TOKEN if honest else _raw(token or 'x')}"
    check("POST /sms/replies/<token>", "POST", url, data=data, content_type=content_type)


VALID_INTAKE = {
    "outcome": "ticket",
    "kind": "complaint",
    "category": "environment",
    "description": "楼下烧烤油烟扰民",
    "address": "香洲区凤凰路88号",
    "phone": "13912345678",
    "department": "1",
    "answer": "已答复",
    "ticket": "261124000001",
    "follow": "urge",
    "follow_note": "还没有处理",
    "partner": "110",
    "token": "fuzz-token",
    "call": "1",
}


@FUZZ
@given(
    fields=form_around(VALID_INTAKE),
    outcome=st.sampled_from(["ticket", "resolve", "follow_up", "transfer"]),
    q=VALUE,
    phone=VALUE,
    call=around("1"),
)
def test_staff_call_intake(
    check, client, fields: dict[str, str], outcome: str, q: str, phone: str, call: str
) -> None:
    """来电登记 (portal/staff/intake.py) as the demo operator."""
    signed_in = client.post(
        "/staff/login", data={"username": "operator", "password": "hotline-demo"}
    )
    assert signed_in.status_code == 302
    check("GET /staff/intake", "GET", f"/staff/intake?phone={_raw(phone)}&call={_raw(call)}")
    check("GET /staff/api/intake/search", "GET", f"/staff/api/intake/search?q={_raw(q)}")
    check("GET /staff/api/intake/active-call", "GET", "/staff/api/intake/active-call")
    check("POST /staff/intake", "POST", "/staff/intake", **_form({**fields, "outcome": outcome}))


@FUZZ
@given(
    start=around("2026-03-01"),
    end=around("2026-03-10"),
    department=around("1"),
    grain=around("week"),
    table=around("departments"),
    quarter=around("2026Q1"),
    value=around("99.5"),
    code=around("availability"),
)
def test_staff_analysis(
    check,
    client,
    start: str,
    end: str,
    department: str,
    grain: str,
    table: str,
    quarter: str,
    value: str,
    code: str,
) -> None:
    """信息汇总分析 (portal/staff/analysis.py) as the demo supervisor: the dashboard, a CSV, the
    quarterly assessment and the assessor's values."""
    signed_in = client.post(
        "/staff/login", data={"username": "supervisor", "password": "hotline-demo"}
    )
    assert signed_in.status_code == 302
    query = f"start={_raw(start)}&end={_raw(end)}&department={_raw(department)}&grain={_raw(grain)}"
    check("GET /staff/analysis", "GET", f"/staff/analysis?{query}")
    check("GET /staff/analysis/<table>.csv", "GET", f"/staff/analysis/{_raw(table)}.csv?{query}")
    check(
        "GET /staff/analysis/assessment",
        "GET",
        f"/staff/analysis/assessment?quarter={_raw(quarter)}",
    )
    entry = {"quarter": quarter, f"value-{code}": value}
    check("POST /staff/analysis/assessment/entries", "POST", "/staff/analysis/assessment/entries",
          **_form(entry))  # fmt: skip


@FUZZ
@given(ticket=around("1"), other=around("2"), title=around("香洲区停水"))
def test_staff_hot_topics(check, client, ticket: str, other: str, title: str) -> None:
    """热点与应急 (portal/staff/analysis.py) as the demo supervisor: the page and marking an
    incident."""
    signed_in = client.post(
        "/staff/login", data={"username": "supervisor", "password": "hotline-demo"}
    )
    assert signed_in.status_code == 302
    check("GET /staff/analysis/hot", "GET", "/staff/analysis/hot")
    form = f"ticket={_raw(ticket)}&ticket={_raw(other)}&title={_raw(title)}"
    check("POST /staff/analysis/incidents", "POST", "/staff/analysis/incidents", data=form,
          content_type="application/x-www-form-urlencoded")  # fmt: skip


CTI_URL = "/api/v1/cti/events"
CTI_EVENT: dict[str, Any] = {
    "type": "offered",
    "call_id": "FUZZ-1",
    "caller": "13800138000",
    "queue": "综合",
    "agent": "8001",
}
KEEP = object()  # the field keeps its valid value
CTI_FIELD = st.tuples(
    st.sampled_from([*CTI_EVENT, "at"]), st.one_of(st.just(KEEP), st.just(KEEP), JSON_VALUE)
)
CTI_BODY = st.one_of(
    # valid events with one hostile field each, alone or in a batch; or any JSON at all
    CTI_FIELD.map(lambda field: ("one", [field])),
    st.lists(CTI_FIELD, min_size=1, max_size=3).map(lambda fields: ("batch", fields)),
    JSON_VALUE.map(lambda value: ("raw", value)),
)


@pytest.fixture
def cti_signer(app, db) -> tuple[str, str]:
    from calls.keys import create_key
    from directory.access import SYSTEM

    new = create_key(db, "fuzz", pepper=app.config["SECRET_KEY"], actor=SYSTEM)
    db.commit()
    return new.key.key_id, new.secret


@FUZZ
@given(
    body=CTI_BODY,
    kind=st.sampled_from(["offered", "answered", "ended", "abandoned"]),
    call=st.sampled_from(["FUZZ-1", "FUZZ-2", "FUZZ-3"]),
    header=st.one_of(
        st.just(""),
        st.sampled_from(["X-CTI-Key-Id", "X-CTI-Timestamp", "X-CTI-Nonce", "X-CTI-Signature"]),
    ),
    hostile=HEADER_VALUE,
)
def test_api_cti_events(
    check, row_counts, cti_signer, body: Any, kind: str, call: str, header: str, hostile: str
) -> None:
    """Switchboard events, signed (so that hostile events reach the domain) or with one
    hostile header; an accepted request sent again (signed anew) changes nothing."""
    from calls.keys import signed_headers
    from core import clock

    shape, content = body
    if shape == "raw":
        payload = content
    else:
        valid = {**CTI_EVENT, "type": kind, "call_id": call, "at": clock.now().isoformat()}
        events = [valid if value is KEEP else {**valid, name: value} for name, value in content]
        payload = events[0] if shape == "one" else {"events": events}
    raw = json.dumps(payload).encode("utf-8")
    key_id, secret = cti_signer
    headers = signed_headers(key_id, secret, raw, now=clock.now())
    if header:
        headers[header] = hostile.encode("utf-8", "surrogatepass").decode("latin-1")
    first = check("POST /api/v1/cti/events", "POST", CTI_URL, data=raw, headers=headers)
    if first.status_code == 200:
        after_first = row_counts()
        again = signed_headers(key_id, secret, raw, now=clock.now())
        second = check("POST /api/v1/cti/events", "POST", CTI_URL, data=raw, headers=again)
        assert second.status_code == 200 and second.get_json()["accepted"] == 0
        counts = row_counts()
        assert counts.pop("cti_nonces") == after_first.pop("cti_nonces") + 1
        assert counts == after_first


OPEN311 = "/open311/v2"
VALID_OPEN311 = {
    "service_code": "city_management",
    "lat": "22.27",
    "long": "113.57",
    "address_string": "香洲区吉大路1号",
    "description": "路灯坏了一个星期。",
    "first_name": "小明",
    "last_name": "李",
    "phone": "13912345678",
    "attribute[kind]": "complaint",
    "attribute[anonymous]": "false",
    "media_url": "https://photos.example.org/lamp.jpg",
    "jurisdiction_id": "",
}


@pytest.fixture
def open311_key(db) -> str:
    from directory.access import SYSTEM
    from directory.api_keys import create_api_key

    new = create_api_key(db, "fuzz", actor=SYSTEM)
    db.commit()
    return new.key


def _well_formed(response: Any) -> None:
    """Every Open311 answer, error or not, is XML or JSON in the spec's form."""
    from xml.etree import ElementTree

    if response.content_type.startswith("text/xml"):
        ElementTree.fromstring(response.get_data())
    else:
        assert isinstance(response.get_json(), list | dict)


@FUZZ
@given(
    fmt=st.sampled_from(["json", "xml"]),
    segment=VALUE,
    ids=around("260310000001"),
    code=around("city_management"),
    start=around("2026-01-01T00:00:00Z"),
    end=around("2026-03-01T00:00:00+08:00"),
    status=around("open"),
    key=st.one_of(st.just(""), st.just("valid"), VALUE),
)
def test_open311_reads(
    check, open311_key, fmt, segment, ids, code, start, end, status, key
) -> None:
    """GeoReport v2's GET endpoints, with or without a key (a wrong one is a 403)."""
    api_key = open311_key if key == "valid" else key
    check("GET /open311/v2/discovery", "GET", f"{OPEN311}/discovery.{fmt}")
    for endpoint, path in (
        ("GET /open311/v2/services/<code>", f"services/{_raw(segment or 'x')}.{fmt}"),
        ("GET /open311/v2/requests/<id>", f"requests/{_raw(segment or 'x')}.{fmt}"),
        ("GET /open311/v2/tokens/<token>", f"tokens/{_raw(segment or 'x')}.{fmt}"),
        ("GET /open311/v2/<path>", f"{_raw(segment or 'x')}"),
    ):
        _well_formed(check(endpoint, "GET", f"{OPEN311}/{path}?api_key={_raw(api_key)}"))
    query = (
        f"service_request_id={_raw(ids)}&service_code={_raw(code)}&start_date={_raw(start)}"
        f"&end_date={_raw(end)}&status={_raw(status)}&api_key={_raw(api_key)}"
    )
    _well_formed(check("GET /open311/v2/requests", "GET", f"{OPEN311}/requests.{fmt}?{query}"))


@FUZZ
@given(
    fmt=st.sampled_from(["json", "xml"]),
    fields=st.one_of(
        # the valid form with one hostile field, so that the hostile value reaches the domain
        st.tuples(st.sampled_from(sorted(VALID_OPEN311)), VALUE).map(
            lambda field: {**VALID_OPEN311, field[0]: field[1]}
        ),
        form_around(VALID_OPEN311),
    ),
    extra=st.tuples(st.one_of(st.just("email"), VALUE), VALUE),
    honest=st.booleans(),  # half the requests carry the right key, so the form is read
    hostile_key=VALUE,
    token=st.one_of(st.just(""), st.just("retry-1"), HEADER_VALUE),
)
def test_open311_post(
    check, row_counts, open311_key, fmt, fields, extra, honest, hostile_key, token
) -> None:
    """POST requests; an accepted one sent again is the same request and writes nothing."""
    form = {**fields, extra[0] or "x": extra[1], "api_key": open311_key if honest else hostile_key}
    request = {
        **_form(form),
        "headers": {"Idempotency-Key": token.encode("utf-8", "surrogatepass").decode("latin-1")},
    }
    first = check("POST /open311/v2/requests", "POST", f"{OPEN311}/requests.{fmt}", **request)
    _well_formed(first)
    if first.status_code == 201:
        after_first = row_counts()
        again = check("POST /open311/v2/requests", "POST", f"{OPEN311}/requests.{fmt}", **request)
        assert again.status_code == 200
        assert again.get_data() == first.get_data()
        assert row_counts() == after_first


def teardown_module() -> None:
    target = os.environ.get("HOTLINE_FUZZ_REPORT")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump({k: dict(v) for k, v in TRIED.items()}, out, ensure_ascii=False, indent=1)
