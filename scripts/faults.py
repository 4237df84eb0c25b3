"""Faults on the production shape (``scripts/prod.py``), with nothing lost and nothing duplicated.

    .venv/bin/python scripts/faults.py [--submissions 400] [--outage 60] [--database-url URL]

Starts the stack (nginx → two gunicorn instances, worker, scheduler, PostgreSQL, Redis) with the
WeChat account pointed at a fake WeChat API on loopback (tests/wechat/fake_api.py), then:

1. **An app server killed** during a submission load: 8 clients post tickets through nginx, each
   with its own ``Idempotency-Key`` and retrying with the same key on a connection error or a
   5xx, as a careful client does. app1 is killed (SIGKILL) a third of the way in and started again
   two thirds of the way in.
2. **PostgreSQL restarted** during the same load (``pg_ctlcluster … restart``; needs root).
3. **The WeChat API down** for ``--outage`` seconds while WeChat citizens submit tickets through the
   official account (the outbox fills with pushes); then the API answers again and **the worker is
   stopped in the middle of the batch** that follows: once gracefully (SIGTERM: the message in
   flight is finished, the rest of the batch given back at once) and once killed (SIGKILL), and
   started again each time.

Afterwards it counts: every key that got a 201 is exactly one ticket (and no ticket without a
201), the app answers again by itself (seconds of errors), every outbox message is ``sent``, and
how many WeChat messages arrived twice: none after SIGTERM; after SIGKILL at most one per worker
thread, the window no sender can close (WeChat's API accepted the message, and the worker died
before recording it; the API takes no idempotency key). Exits 1 if anything else is found. The worker's backoff is shortened for the run
(``HOTLINE_OUTBOX_BACKOFF_BASE_SECONDS=2``, cap 10 s) so that an outage of a minute is retried
within seconds of its end.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import clock  # noqa: E402
from tests.wechat.fake_api import FakeWeChat  # noqa: E402
from wechat.protocol import Settings, signed_request, text_message  # noqa: E402

PORT = 18180
APP_PORTS = "18101,18102"
TOKEN = "faults-token"
RUN_DIR = ROOT / "instance" / "faults"
WORKER_THREADS = 2  # scripts/prod.py runs `flask worker --threads 2`
RUN_ID = uuid.uuid4().hex[:6]  # this run's WeChat citizens (the database may hold earlier runs)


def prod(*args: str) -> str:
    env = {**os.environ, "HOTLINE_PROD_RUN_DIR": str(RUN_DIR), "HOTLINE_PROD_APP_PORTS": APP_PORTS}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "prod.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise SystemExit(f"prod.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class Client:
    """One keep-alive connection to nginx, reopened after any failure."""

    def __init__(self) -> None:
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, data
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, b""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


class Submissions:
    """Clients submitting tickets with idempotency keys, retrying until each is accepted."""

    def __init__(self, label: str, total: int, clients: int = 8) -> None:
        self.label = label
        self.total = total
        self.clients = clients
        self.accepted: dict[str, str] = {}  # key -> ticket number of its 201
        self.statuses: Counter[int] = Counter()
        self.first_error: float | None = None
        self.last_error: float | None = None
        self.done = 0
        self._lock = threading.Lock()
        self.prefix = f"fault-{label}-{uuid.uuid4().hex[:8]}-"
        self._keys = iter(f"{self.prefix}{i}" for i in range(total))

    def _one(self, client: Client, key: str) -> None:
        body = json.dumps(
            {
                "kind": "complaint",
                "title": "路灯不亮",
                "description": f"故障演练：{self.label} 路口的路灯坏了一周，晚上很黑（{key}）",
                "phone": "13800138000",
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        for attempt in itertools.count():
            status, data = client.request("POST", "/api/v1/tickets", body, headers)
            with self._lock:
                self.statuses[status] += 1
                if status == 201:
                    self.accepted[key] = json.loads(data)["number"]
                    self.done += 1
                    return
                now = time.monotonic()
                self.first_error = self.first_error or now
                self.last_error = now
            if status not in (0, 500, 502, 503, 504) or attempt > 200:
                raise SystemExit(f"{self.label}: {key} answered {status}: {data[:300]!r}")
            time.sleep(min(0.05 * 2**attempt, 1.0))

    def run(self, at_third: Any = None, at_two_thirds: Any = None) -> float:
        started = time.monotonic()
        events = [(self.total // 3, at_third), (2 * self.total // 3, at_two_thirds)]

        def worker() -> None:
            client = Client()
            while True:
                with self._lock:
                    key = next(self._keys, None)
                if key is None:
                    break
                self._one(client, key)
            client.close()

        threads = [threading.Thread(target=worker) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for mark, action in events:
            while self.done < mark and any(t.is_alive() for t in threads):
                time.sleep(0.02)
            if action is not None:
                action()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def error_window(self) -> float:
        if self.first_error is None or self.last_error is None:
            return 0.0
        return self.last_error - self.first_error


def check_submissions(engine: Any, run: Submissions) -> dict[str, Any]:
    prefix = f"api:{run.prefix}%"
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT idempotency_key, number FROM tickets WHERE idempotency_key LIKE :p"),
            {"p": prefix},
        ).all()
    stored = {key.removeprefix("api:"): number for key, number in rows}
    return {
        "accepted (201)": len(run.accepted),
        "tickets stored": len(rows),
        "lost (201 without a ticket)": len(set(run.accepted) - set(stored)),
        "extra (a ticket without a 201)": len(set(stored) - set(run.accepted)),
        "201 with another ticket's number": sum(
            1 for k, n in run.accepted.items() if stored.get(k) != n
        ),
        "statuses": dict(sorted(run.statuses.items())),
        "seconds with errors": round(run.error_window(), 1),
    }


def wechat_intakes(settings: Settings, citizens: int, round_id: str) -> int:
    """WeChat citizens each write a complaint in the official account (five messages)."""
    script = [
        "我要投诉",
        "小区门口的井盖松动了，走上去咣当响，怕有人踩空",
        "跳过",
        "13900139000",
        "确认",
    ]
    ids = itertools.count(8_100_000_000_000_000_001 + 1_000_000 * int(round_id, 16) % 10**15)
    client = Client()
    made = 0
    for citizen in range(citizens):
        user = f"o-fault-citizen-{RUN_ID}-{round_id}-{citizen:04d}"
        for words in script:
            xml = text_message(
                user, words, account="gh_faults", now=clock.now(), msg_id=str(next(ids))
            )
            args, body = signed_request(settings, xml, now=clock.now())
            query = urllib.parse.urlencode(args)
            status, data = client.request(
                "POST", f"/wechat?{query}", body.encode(), {"Content-Type": "text/xml"}
            )
            if status != 200:
                raise SystemExit(f"WeChat message refused: {status} {data[:200]!r}")
        made += 1
    client.close()
    return made


def outbox_state(engine: Any, citizens: str) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, count(*) FROM outbox_messages WHERE channel = 'wechat'"
                " AND recipient LIKE :citizens GROUP BY 1"
            ),
            {"citizens": citizens},
        ).all()
    return Counter({status: int(n) for status, n in rows})


def wait_for(predicate: Any, seconds: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.25)
    raise SystemExit(f"timed out after {seconds:.0f} s waiting for {what}")


def restart_postgres() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").exists() else []
    tool = shutil.which("pg_ctlcluster")
    if not versions or tool is None or os.geteuid() != 0:
        raise SystemExit("restarting PostgreSQL needs root and pg_ctlcluster")
    subprocess.run([tool, "--skip-systemctl-redirect", versions[-1], "main", "restart"], check=True)


def outage_round(engine: Any, fake: FakeWeChat, settings: Settings, args: Any, verb: str) -> Any:
    """WeChat citizens submit while the WeChat API is down (their pushes wait in the outbox);
    the API comes back with a slow answer per message, and the worker is stopped or killed in
    the middle of the batch that follows, then started again."""
    round_id = uuid.uuid4().hex[:6]
    citizens = f"o-fault-citizen-{RUN_ID}-{round_id}-%"
    seen_before = len(fake.custom_messages) + len(fake.template_messages)
    fake.down = True
    fake.call_delay = 0.0
    made = wechat_intakes(settings, args.wechat_citizens, round_id)
    queued = sum(outbox_state(engine, citizens).values())
    time.sleep(args.outage)
    waiting = outbox_state(engine, citizens)
    fake.call_delay = 0.05  # a batch in flight takes a while: the stop lands inside it
    fake.down = False
    wait_for(
        lambda: len(fake.custom_messages) + len(fake.template_messages) >= seen_before + 3,
        60,
        "the first sends after the outage",
    )
    prod(verb, "worker")
    at_stop = len(fake.custom_messages) + len(fake.template_messages) - seen_before
    time.sleep(2)
    prod("start", "worker")
    took = wait_for(
        lambda: set(outbox_state(engine, citizens)) == {"sent"}, 300, "every WeChat message sent"
    )
    prefix = f"o-fault-citizen-{RUN_ID}-{round_id}-"
    delivered = [
        (m["touser"], json.dumps(m.get("text") or m.get("data"), ensure_ascii=False))
        for m in [*fake.custom_messages, *fake.template_messages]
        if m["touser"].startswith(prefix)
    ]
    fake.call_delay = 0.0
    return {
        "WeChat citizens who submitted": made,
        "outbox messages queued meanwhile": queued,
        f"after {args.outage:.0f} s of outage": dict(waiting),
        "delivered when the worker was stopped": at_stop,
        "seconds from restart to all sent": round(took, 1),
        "outbox at the end": dict(outbox_state(engine, citizens)),
        "WeChat messages received": len(delivered),
        "received twice": sum(n - 1 for n in Counter(delivered).values() if n > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the WeChat API is down")
    parser.add_argument("--wechat-citizens", type=int, default=40)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hotline_faults"
    )
    parser.add_argument("--skip-postgres-restart", action="store_true")
    args = parser.parse_args()

    fake = FakeWeChat().start()
    env = [
        f"HOTLINE_WECHAT_TOKEN={TOKEN}",
        f"HOTLINE_WECHAT_APP_ID={fake.appid}",
        f"HOTLINE_WECHAT_APP_SECRET={fake.secret}",
        f"HOTLINE_WECHAT_API_BASE={fake.url}",
        "HOTLINE_WECHAT_MODE=plain",
        "HOTLINE_RATELIMIT_ENABLED=false",  # the clients are one address; limits are not tested here
        "HOTLINE_OUTBOX_BACKOFF_BASE_SECONDS=2",
        "HOTLINE_OUTBOX_BACKOFF_CAP_SECONDS=10",
        "HOTLINE_OUTBOX_MAX_ATTEMPTS=50",
        "HOTLINE_OUTBOX_LEASE_SECONDS=10",  # a killed worker's claims are free again after 10 s
    ]
    # pre-ping: the script's own connections outlive the PostgreSQL restart it causes
    engine = create_engine(
        args.database_url.replace("postgresql://", "postgresql+psycopg://"), pool_pre_ping=True
    )
    report: dict[str, Any] = {}
    try:
        prod("down")
        up_args = ["up", "--database-url", args.database_url, "--port", str(PORT), "--seed"]
        for item in env:
            up_args += ["--env", item]
        prod(*up_args)
        settings = Settings.from_config({"WECHAT_TOKEN": TOKEN, "WECHAT_MODE": "plain"})
        assert settings is not None

        # 1. an app server killed and started again during the load
        run = Submissions("appkill", args.submissions)
        seconds = run.run(lambda: prod("kill", "app1"), lambda: prod("start", "app1"))
        report["app server killed"] = {
            **check_submissions(engine, run),
            "run seconds": round(seconds, 1),
        }

        # 2. PostgreSQL restarted during the load
        if not args.skip_postgres_restart:
            run = Submissions("pgrestart", args.submissions)
            seconds = run.run(restart_postgres, None)
            report["PostgreSQL restarted"] = {
                **check_submissions(engine, run),
                "run seconds": round(seconds, 1),
            }

        # 3. the WeChat API down while the outbox fills, then the worker stopped (SIGTERM) and,
        #    in a second round, killed (SIGKILL) in the middle of a batch
        for signal_name, verb in (("SIGTERM", "stop"), ("SIGKILL", "kill")):
            report[f"WeChat API down, worker {signal_name} mid-batch"] = outage_round(
                engine, fake, settings, args, verb
            )
        report["app answers at the end"] = Client().request("GET", "/healthz")[0] == 200
    finally:
        prod("down")
        fake.stop()
        engine.dispose()
    print(json.dumps(report, ensure_ascii=False, indent=2))
    broken = verdict(report)
    for line in broken:
        print("FAULT:", line)
    if broken:
        sys.exit(1)
    print("faults: nothing lost, nothing duplicated, the app answering again by itself")


def verdict(report: dict[str, Any]) -> list[str]:
    """What went wrong, if anything: a lost or extra submission, an unsent or doubled message,
    an app that does not answer after the faults."""
    broken = []
    for name in ("app server killed", "PostgreSQL restarted"):
        part = report.get(name)
        if part is None:
            continue
        for key in (
            "lost (201 without a ticket)",
            "extra (a ticket without a 201)",
            "201 with another ticket's number",
        ):
            if part[key]:
                broken.append(f"{name}: {key} = {part[key]}")
        if part["statuses"].get(500):  # the database going away is a 503 to retry, never a 500
            broken.append(f"{name}: {part['statuses'][500]} answer(s) 500")
        if part["accepted (201)"] != part["tickets stored"]:
            broken.append(
                f"{name}: {part['accepted (201)']} accepted, {part['tickets stored']} stored"
            )
    for signal_name, allowed in (("SIGTERM", 0), ("SIGKILL", WORKER_THREADS)):
        part = report.get(f"WeChat API down, worker {signal_name} mid-batch", {})
        if set(part.get("outbox at the end", {})) != {"sent"}:
            broken.append(f"{signal_name}: outbox not all sent: {part.get('outbox at the end')}")
        # SIGKILL: a message the API accepted in the instant before the worker died may be sent
        # again (WeChat's API takes no idempotency key): at most one per worker thread.
        if part.get("received twice", 0) > allowed:
            broken.append(f"{signal_name}: {part['received twice']} message(s) received twice")
    if not report.get("app answers at the end"):
        broken.append("the app does not answer after the faults")
    return broken


if __name__ == "__main__":
    main()
