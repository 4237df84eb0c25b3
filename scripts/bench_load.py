"""Mixed citizen load against the production shape (not a timed test; figures go in the README).

    .venv/bin/python scripts/bench_load.py [--steps 8,16,32,64] [--seconds 20] [--workers 2]

Starts the stack of ``scripts/prod.py`` (nginx → two gunicorn instances, worker, scheduler,
PostgreSQL, Redis), with the WeChat account configured (plain mode) and rate limits off (the load
comes from one address). Virtual citizens, each with its own keep-alive connection, send:

    FAQ search 55% · ticket submission 10% · tracking 15% · WeChat text 10% · web chat 5% ·
    Open311 reads 5%

in closed loops, ramping the number of citizens step by step (``--steps``) until the p95 of a
step passes 500 ms. Every step reports sustained requests per second and p50/p95/p99 per
endpoint. Then the same stack serves a bare Flask endpoint (one JSON line, no database: the
floor of Flask + gunicorn + nginx on this machine) at the step that was fastest, and the FAQ
search's rate is given as a share of it. Afterwards: every accepted submission (201) is in the
database exactly once, and every outbox message the run caused was sent once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import clock  # noqa: E402
from wechat.protocol import Settings, signed_request, text_message  # noqa: E402

PORT = 18280
APP_PORTS = "18201,18202"
TOKEN = "load-token"
RUN_DIR = ROOT / "instance" / "load"
MIX = (
    ("faq_search", 55),
    ("submit", 10),
    ("track", 15),
    ("wechat_text", 10),
    ("web_chat", 5),
    ("open311_read", 5),
)
BARE_APP = "scripts.bare_app:app"


def prod(*args: str, wsgi: str | None = None) -> str:
    env = {**os.environ, "HOTLINE_PROD_RUN_DIR": str(RUN_DIR), "HOTLINE_PROD_APP_PORTS": APP_PORTS}
    if wsgi:
        env["HOTLINE_WSGI_APP"] = wsgi
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "prod.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"prod.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def starter_questions() -> list[str]:
    """The starter FAQs' questions and their alternative wordings: what citizens ask most."""
    import csv

    with (ROOT / "knowledge" / "data" / "faqs.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    asks = [r["question"] for r in rows]
    asks += [alt for r in rows for alt in (r.get("alternatives") or "").split("|")[:3] if alt]
    return asks


class Load:
    def __init__(self, run_id: str, seeded: list[tuple[str, str]], asks: list[str]) -> None:
        self.run_id = run_id
        self.seeded = seeded  # (number, query code) of tickets to track
        self.asks = asks
        self.settings = Settings.from_config({"WECHAT_TOKEN": TOKEN, "WECHAT_MODE": "plain"})
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.accepted: set[str] = set()
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._n = 0
        self.recording = False

    def _next(self) -> int:
        self._n += 1
        return self._n

    async def one(self, http: aiohttp.ClientSession, kind: str, user: int) -> None:
        base = f"http://127.0.0.1:{PORT}"
        started = time.perf_counter()
        status = 0
        try:
            if kind == "faq_search":
                q = random.choice(self.asks)
                async with http.get(f"{base}/api/v1/faq/search", params={"q": q}) as r:
                    await r.read()
                    status = r.status
            elif kind == "submit":
                key = f"load-{self.run_id}-{self._next()}"
                body = {
                    "kind": "complaint",
                    "title": "噪音扰民",
                    "description": f"楼下商铺晚上十一点后还在放很大声的音乐（压测 {key}）",
                    # each virtual citizen their own mobile: one number for all would queue every
                    # submission on that one citizen's identity row
                    "phone": f"1380{user:07d}",
                }
                async with http.post(
                    f"{base}/api/v1/tickets", json=body, headers={"Idempotency-Key": key}
                ) as r:
                    await r.read()
                    status = r.status
                    if status == 201 and self.recording:
                        self.accepted.add(key)
            elif kind == "track":
                number, code = random.choice(self.seeded)
                async with http.get(f"{base}/api/v1/tickets/{number}", params={"code": code}) as r:
                    await r.read()
                    status = r.status
            elif kind == "wechat_text":
                assert self.settings is not None
                openid = f"o-load-{self.run_id}-{user:05d}"
                xml = text_message(
                    openid,
                    random.choice(self.asks),
                    account="gh_load",
                    now=clock.now(),
                    msg_id=str(9_000_000_000_000_000_000 + self._next()),
                )
                args, payload = signed_request(self.settings, xml, now=clock.now())
                async with http.post(
                    f"{base}/wechat?{urllib.parse.urlencode(args)}",
                    data=payload.encode(),
                    headers={"Content-Type": "text/xml"},
                ) as r:
                    await r.read()
                    status = r.status
            elif kind == "web_chat":
                async with http.post(f"{base}/api/v1/chat/start", json={}) as r:
                    started_chat = await r.json() if r.status == 200 else {}
                    status = r.status
                if status == 200:
                    # as the page's widget does: ask only for what came after the last message
                    # it shows (a returning citizen's start still reads the history)
                    shown = max((m["id"] for m in started_chat["messages"]), default=0)
                    body = {
                        "text": random.choice(self.asks),
                        "client_id": uuid.uuid4().hex,
                        "after": shown,
                    }
                    async with http.post(f"{base}/api/v1/chat/send", json=body) as r:
                        await r.read()
                        status = r.status
            else:  # open311_read
                path = random.choice(("/open311/v2/services.json", "/open311/v2/requests.json"))
                async with http.get(f"{base}{path}") as r:
                    await r.read()
                    status = r.status
        except (TimeoutError, aiohttp.ClientError):
            status = 0
        if not self.recording:
            return
        self.latencies[kind].append((time.perf_counter() - started) * 1000)
        self.statuses[kind][status] += 1
        if status == 0 or status >= 400:
            self.errors[kind] += 1


async def run_step(load: Load, users: int, seconds: float, kinds: list[tuple[str, int]]) -> float:
    """``users`` citizens in closed loops: 1.5 s of warm-up (not recorded), then ``seconds``."""
    names = [k for k, _ in kinds]
    weights = [w for _, w in kinds]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)

    async def citizen(n: int, until: float) -> None:
        jar = aiohttp.CookieJar(unsafe=True)  # the web chat's cookie, on an IP address
        async with aiohttp.ClientSession(
            connector=connector, connector_owner=False, timeout=timeout, cookie_jar=jar
        ) as http:
            while time.monotonic() < until:
                await load.one(http, random.choices(names, weights)[0], n)

    load.recording = False
    warm = time.monotonic() + 1.5
    await asyncio.gather(*(citizen(n, warm) for n in range(users)))
    load.recording = True
    started = time.monotonic()
    await asyncio.gather(*(citizen(n, started + seconds) for n in range(users)))
    elapsed = time.monotonic() - started
    load.recording = False
    await connector.close()
    return elapsed


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report_step(load: Load, users: int, elapsed: float) -> dict[str, Any]:
    every = [v for values in load.latencies.values() for v in values]
    row: dict[str, Any] = {
        "citizens": users,
        "requests/s": round(len(every) / elapsed, 1),
        "p50": round(pct(every, 50), 1),
        "p95": round(pct(every, 95), 1),
        "p99": round(pct(every, 99), 1),
        "errors": sum(load.errors.values()),
        "per endpoint": {
            kind: {
                "n": len(values),
                "rps": round(len(values) / elapsed, 1),
                "p50": round(pct(values, 50), 1),
                "p95": round(pct(values, 95), 1),
                "p99": round(pct(values, 99), 1),
                "errors": load.errors.get(kind, 0),
                "statuses": dict(load.statuses[kind]),
            }
            for kind, values in sorted(load.latencies.items())
        },
    }
    load.latencies.clear()
    load.errors.clear()
    load.statuses.clear()
    return row


def seed_tickets(count: int, run_id: str) -> list[tuple[str, str]]:
    """Tickets to track, made through the API before the load."""
    import urllib.request

    made = []
    for i in range(count):
        body = json.dumps(
            {
                "kind": "consultation",
                "description": f"咨询社保卡补办需要带什么材料（压测准备 {run_id}-{i}）",
                "phone": "13900139000",
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/v1/tickets",
            data=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": f"seed-{run_id}-{i}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
            made.append((answer["number"], answer["query_code"]))
    return made


def bare_rate(users: int, seconds: float) -> dict[str, Any]:
    async def go() -> tuple[int, list[float], float]:
        connector = aiohttp.TCPConnector(limit=0)
        latencies: list[float] = []
        errors = 0
        stop = time.monotonic() + seconds

        async def citizen() -> None:
            nonlocal errors
            async with aiohttp.ClientSession(connector=connector, connector_owner=False) as http:
                while time.monotonic() < stop:
                    t = time.perf_counter()
                    try:
                        async with http.get(f"http://127.0.0.1:{PORT}/bare") as r:
                            await r.read()
                            if r.status != 200:
                                errors += 1
                    except aiohttp.ClientError:
                        errors += 1
                    latencies.append((time.perf_counter() - t) * 1000)

        started = time.monotonic()
        await asyncio.gather(*(citizen() for _ in range(users)))
        elapsed = time.monotonic() - started
        await connector.close()
        return errors, latencies, elapsed

    errors, latencies, elapsed = asyncio.run(go())
    return {
        "citizens": users,
        "requests/s": round(len(latencies) / elapsed, 1),
        "p50": round(pct(latencies, 50), 1),
        "p95": round(pct(latencies, 95), 1),
        "p99": round(pct(latencies, 99), 1),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--steps", default="8,16,32,64,128")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hotline_load"
    )
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:6]
    env = [
        f"HOTLINE_WECHAT_TOKEN={TOKEN}",
        "HOTLINE_WECHAT_MODE=plain",
        "HOTLINE_RATELIMIT_ENABLED=false",
        "HOTLINE_CHAT_STAFFED_HOURS=00:00-24:00",
    ]
    results: dict[str, Any] = {"steps": []}
    prod("down")
    up = ["up", "--database-url", args.database_url, "--port", str(PORT), "--seed"]
    up += ["--workers", str(args.workers)]
    for item in env:
        up += ["--env", item]
    prod(*up)
    engine = create_engine(args.database_url)
    try:
        with engine.connect() as conn:
            outbox_before = int(
                conn.execute(text("SELECT max(id) FROM outbox_messages")).scalar() or 0
            )
        load = Load(run_id, seed_tickets(40, run_id), starter_questions())
        for users in (int(s) for s in args.steps.split(",")):
            elapsed = asyncio.run(run_step(load, users, args.seconds, list(MIX)))
            row = report_step(load, users, elapsed)
            results["steps"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "per endpoint"}), flush=True)
            if row["p95"] > 500:
                break
        # let the worker finish, then count
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM outbox_messages WHERE id > :b AND status IN "
                        "('pending','sending')"
                    ),
                    {"b": outbox_before},
                ).scalar()
            if not waiting:
                break
            time.sleep(1)
        with engine.connect() as conn:
            stored = {
                key.removeprefix("api:")
                for (key,) in conn.execute(
                    text("SELECT idempotency_key FROM tickets WHERE idempotency_key LIKE :p"),
                    {"p": f"api:load-{run_id}-%"},
                )
            }
            outbox = dict(
                conn.execute(
                    text("SELECT status, count(*) FROM outbox_messages WHERE id > :b GROUP BY 1"),
                    {"b": outbox_before},
                ).all()
            )
            retried = conn.execute(
                text("SELECT count(*) FROM outbox_messages WHERE id > :b AND attempts > 1"),
                {"b": outbox_before},
            ).scalar()
        results["after"] = {
            "accepted submissions (201)": len(load.accepted),
            "their tickets in the database": len(load.accepted & stored),
            "201 without a ticket": len(load.accepted - stored),
            "outbox messages of the run": dict(outbox),
            "outbox messages sent more than once": int(retried or 0),
        }
    finally:
        prod("down")
        engine.dispose()
    best = max(
        results["steps"], key=lambda r: r["per endpoint"].get("faq_search", {}).get("rps", 0)
    )
    prod("down")
    prod(
        "up",
        "--database-url",
        args.database_url,
        "--port",
        str(PORT),
        "--workers",
        str(args.workers),
        wsgi=BARE_APP,
    )
    try:
        results["bare"] = bare_rate(best["citizens"], args.seconds)
    finally:
        prod("down")
    faq = best["per endpoint"]["faq_search"]
    # the FAQ search alone at the same number of citizens, served the same way
    prod(*up)
    try:
        load = Load(run_id, [("x", "x")], starter_questions())
        elapsed = asyncio.run(run_step(load, best["citizens"], args.seconds, [("faq_search", 1)]))
        alone = report_step(load, best["citizens"], elapsed)
    finally:
        prod("down")
        engine.dispose()
    results["faq alone"] = {k: v for k, v in alone.items() if k != "per endpoint"}
    results["faq search share of bare"] = round(
        alone["requests/s"] / results["bare"]["requests/s"], 3
    )
    results["faq in the mix"] = faq
    print(json.dumps(results, ensure_ascii=False, indent=2))
    failed = {
        name: count
        for name, count in (("bare", results["bare"]["errors"]), ("faq alone", alone["errors"]))
        if count
    }
    if failed:  # an error answers fast: a rate with errors is no rate to compare
        raise SystemExit(f"errors in the comparison runs, the share of bare is void: {failed}")


if __name__ == "__main__":
    main()
