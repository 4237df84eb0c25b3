"""Benchmark ``POST /api/v1/cti/events`` (not a timed test): a simulated day of calls
(``calls.simulate``) posted signed, one event per request and in batches, through waitress (the
production server, as ``flask serve``).

    .venv/bin/python scripts/bench_cti.py [--calls 1500] [--rows 1x1,1x8,50x1,50x4] [--threads 8]
                                          [--database-url postgresql+psycopg://…]
                                          [--figures-calls 1000000]

A row ``BxC`` posts batches of B events from C concurrent switchboard connections (keep-alive;
each connection sends the events of its own calls in time order). The app runs in its own
process; the load comes from this one. The database is a fresh SQLite file unless
``--database-url`` names another (e.g. a throw-away PostgreSQL database). Reports events
accepted per second and the p50/p95/p99 round-trip latency of a request. ``--figures-calls N``
then adds N synthetic calls (one INSERT … SELECT) and times one day's figures among them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-cti"


def config_for(database_url: str) -> dict[str, Any]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False}


def serve(port: int, database_url: str, threads: int) -> None:
    import logging

    from waitress import serve as waitress_serve

    from hotline.factory import create_app

    app = create_app(config_for(database_url))
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress_serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


def prepare_database(database_url: str) -> tuple[str, str]:
    from calls.keys import create_key
    from core.db import Database
    from directory.access import SYSTEM
    from hotline import migrate

    migrate.upgrade(database_url)
    database = Database(database_url)
    with database.session() as session:
        new = create_key(session, f"bench-{time.time_ns()}", pepper=SECRET, actor=SYSTEM)
        session.commit()
        key = new.key.key_id, new.secret
    database.dispose()
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start")


def calls_for(day: dt.date, count: int, seed: int) -> list[list[dict[str, Any]]]:
    """The events of each simulated call (the day's call ids are unique per day and seed)."""
    from calls.simulate import events_of, simulate_calls

    calls = simulate_calls(day, calls=count, seed=seed)
    return [[{**e, "call_id": f"{e['call_id']}-{seed}"} for e in events_of(call)] for call in calls]


def run_load(
    port: int, key: tuple[str, str], calls: list[list[dict[str, Any]]], *, batch: int, conc: int
) -> tuple[float, list[float], int, int]:
    from calls.keys import signed_headers
    from core import clock

    key_id, secret = key
    lock = threading.Lock()
    latencies: list[float] = []
    totals = {"accepted": 0, "failed": 0}

    def worker(n: int) -> None:
        mine = [event for call in calls[n::conc] for event in call]
        mine.sort(key=lambda e: e["at"])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for start in range(0, len(mine), batch):
            chunk = mine[start : start + batch]
            payload = chunk[0] if batch == 1 else {"events": chunk}
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers = signed_headers(key_id, secret, body, now=clock.now())
            started = time.perf_counter()
            connection.request("POST", "/api/v1/cti/events", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - started
            accepted = json.loads(answer).get("accepted", 0) if response.status == 200 else 0
            with lock:
                latencies.append(elapsed)
                totals["accepted"] += accepted
                totals["failed"] += 0 if response.status == 200 else 1
        connection.close()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(conc)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - started, latencies, totals["accepted"], totals["failed"]


FIGURES_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def fill_calls(database_url: str, total: int) -> dt.date:
    """``total`` synthetic calls, one every 31 s from 2025-01-01 (about 2,800 a day), in one
    INSERT … SELECT; a quarter to 专席 人社, one in eight abandoned. Returns a day in the middle."""
    from sqlalchemy import text

    from calls.models import CtiSystem
    from core import clock
    from core.db import Database

    database = Database(database_url)
    with database.session() as session:
        system = CtiSystem(name=f"figures-{time.time_ns()}", created_at=clock.now())
        session.add(system)
        session.flush()
        if database.dialect == "postgresql":
            moment = "(timestamptz '2025-01-01 00:00:00+00' + g * interval '31 seconds')"
            plus = "({m} + interval '{s} seconds')"
            series = "FROM generate_series(1, :n) AS g"
            local_date = f"(({moment}) AT TIME ZONE 'Asia/Shanghai')::date"
            local_hour = f"extract(hour FROM ({moment}) AT TIME ZONE 'Asia/Shanghai')::int"
            prefix = ""
        else:  # UTCDateTime keeps naive UTC text on SQLite
            moment = "strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', '+' || (g * 31) || ' seconds')"
            plus = "strftime('%Y-%m-%d %H:%M:%S', {m}, '+{s} seconds')"
            series = "FROM seq"
            shanghai = "'+' || (g * 31 + 28800) || ' seconds'"
            local_date = f"date('2025-01-01', {shanghai})"
            local_hour = f"CAST(strftime('%H', '2025-01-01', {shanghai}) AS INTEGER)"
            prefix = (
                "WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n) "
            )
        wait = "(g * 7 % 60)"
        abandoned = "(g % 8 = 0)"
        session.execute(
            text(
                f"{prefix}INSERT INTO calls (system_id, call_id, caller_number, queue, agent_code,"
                " offered_at, answered_at, ended_at, abandoned_at, wait_seconds,"
                " handling_seconds, offered_date, offered_hour, created_at, updated_at) "
                f"SELECT :system, 'F' || g, '138' || (10000000 + g % 9000000),"
                " CASE WHEN g % 4 = 0 THEN '专席 人社' ELSE '综合' END,"
                f" CASE WHEN {abandoned} THEN NULL ELSE '80' || (g % 20) END, {moment},"
                f" CASE WHEN {abandoned} THEN NULL ELSE {plus.format(m=moment, s=20)} END,"
                f" CASE WHEN {abandoned} THEN NULL ELSE {plus.format(m=moment, s=220)} END,"
                f" CASE WHEN {abandoned} THEN {plus.format(m=moment, s=40)} ELSE NULL END,"
                f" {wait}, CASE WHEN {abandoned} THEN NULL ELSE 100 + g % 300 END,"
                f" {local_date}, {local_hour}, {moment}, {moment} {series}"
            ),
            {"system": system.id, "n": total},
        )
        session.commit()
    database.dispose()
    return (FIGURES_START + dt.timedelta(seconds=31 * total // 2)).date()


def bench_figures(database_url: str, total: int) -> None:
    from sqlalchemy import func, select

    from calls.figures import day_figures
    from calls.models import Call
    from core.db import Database

    started = time.perf_counter()
    day = fill_calls(database_url, total)
    filled = time.perf_counter() - started
    database = Database(database_url)
    timings = []
    with database.session() as session:
        rows = session.scalar(select(func.count()).select_from(Call))
        for _ in range(5):
            begin = time.perf_counter()
            figures = day_figures(session, day)
            timings.append(time.perf_counter() - begin)
            session.rollback()
    database.dispose()
    assert figures.total is not None
    print(
        f"figures of {day} ({figures.total.offered} calls, {len(figures.by_queue_hour)} "
        f"queue-hours, 人工接通率 {figures.total.answer_rate or 0:.1f}%) among {rows:,} calls (filled in {filled:.0f} s): median of 5 "
        f"{sorted(timings)[2] * 1000:.1f} ms, best {min(timings) * 1000:.1f} ms"
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1500, help="simulated calls per row")
    parser.add_argument("--rows", default="1x1,1x8,50x1,50x4", help="BATCHxCONCURRENCY, …")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--figures-calls", type=int, default=0, help="also time one day's figures among N calls"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.database_url, args.threads)
        return

    folder = tempfile.mkdtemp(prefix="bench-cti-")
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    key = prepare_database(database_url)
    rows = [tuple(int(x) for x in row.split("x")) for row in args.rows.split(",") if row.strip()]
    print(
        f"{args.calls} simulated calls per row, waitress threads={args.threads}, "
        f"database {database_url.split(':', 1)[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'batch':>6}{'conc':>6}{'events':>8}{'events/s':>10}{'req/s':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'failed':>8}"
    )
    port = free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--port",
            str(port),
            "--threads",
            str(args.threads),
            "--database-url",
            database_url,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        wait_for(port)
        day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        run_load(port, key, calls_for(day, 50, seed=0), batch=10, conc=2)  # warm up
        for seed, (batch, conc) in enumerate(rows, start=1):
            calls = calls_for(day, args.calls, seed=seed)
            elapsed, latencies, accepted, failed = run_load(
                port, key, calls, batch=batch, conc=conc
            )
            print(
                f"{batch:>6}{conc:>6}{accepted:>8}{accepted / elapsed:>10.0f}"
                f"{len(latencies) / elapsed:>8.0f}"
                f"{percentile(latencies, 50) * 1000:>9.1f}"
                f"{percentile(latencies, 95) * 1000:>9.1f}"
                f"{percentile(latencies, 99) * 1000:>9.1f}{failed:>8}"
            )
    finally:
        child.terminate()
        child.wait(timeout=10)
    if args.figures_calls:
        bench_figures(database_url, args.figures_calls)


if __name__ == "__main__":
    main()
