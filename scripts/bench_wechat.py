"""Benchmark ``POST /wechat`` (not a timed test): text questions from the starter knowledge base,
in plain and safe mode, through waitress (the production server, as ``flask serve``), beside a
bare wechatpy endpoint that only checks the signature, parses and echoes (decrypting and
encrypting in safe mode), served the same way in the same run.

    .venv/bin/python scripts/bench_wechat.py [--messages 600] [--concurrency 8] [--threads 8]

Each server runs in its own process; the load comes from this one (keep-alive connections, one
citizen per connection, so conversations do not wait for each other's row lock). The database is
a fresh SQLite file unless ``--database-url`` names another (e.g. a throw-away PostgreSQL one).
Reports messages per second and p50/p95/p99 round-trip latency per target.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
APP_ID = "wx0000bench000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_bench"


def config_for(mode: str, database_url: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": False,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_AES_KEY": None if mode == "plain" else AES_KEY,
        "WECHAT_MODE": mode,
    }


# -- the servers (child processes) -------------------------------------------------------------


def bare_app(mode: str) -> Any:
    """The floor: wechatpy alone, no Flask, no database."""
    from wechatpy import parse_message
    from wechatpy.replies import TextReply

    from wechat.protocol import Settings, check_plain_signature, open_body, screen_xml

    settings = Settings.from_config(config_for(mode, ""))
    assert settings is not None

    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        args = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        if args.get("encrypt_type") != "aes":
            check_plain_signature(settings, args)
        xml, encrypted = open_body(settings, screen_xml(body), args)
        message = parse_message(xml)
        reply = TextReply(message=message, content=message.content).render()
        if encrypted:
            crypto = settings.crypto()
            assert crypto is not None
            reply = crypto.encrypt_message(reply, args["nonce"])
        start_response("200 OK", [("Content-Type", "application/xml")])
        return [reply.encode("utf-8")]

    return application


def serve(target: str, mode: str, port: int, database_url: str, threads: int) -> None:
    from waitress import serve as waitress_serve

    if target == "bare":
        app = bare_app(mode)
    else:
        from hotline.factory import create_app

        app = create_app(config_for(mode, database_url))
    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" under load
    waitress_serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


# -- the load ------------------------------------------------------------------------------------


def prepare_database(database_url: str) -> list[str]:
    from sqlalchemy import select

    from core.db import Database
    from hotline import migrate
    from knowledge.models import Faq
    from knowledge.seed import seed_starter_knowledge
    from tickets.seed import seed_reference_data

    migrate.upgrade(database_url)
    database = Database(database_url)
    with database.session() as session:
        seed_reference_data(session)
        seed_starter_knowledge(session)
        session.commit()
        questions = list(session.scalars(select(Faq.question)))
    database.dispose()
    return questions


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


def run_load(
    port: int, mode: str, questions: list[str], *, messages: int, concurrency: int, tag: str
) -> tuple[float, list[float], int]:
    from core import clock
    from wechat.protocol import Settings, read_reply, signed_request, text_message

    settings = Settings.from_config(config_for(mode, ""))
    assert settings is not None
    ids = itertools.count(1)
    lock = threading.Lock()
    latencies: list[float] = []
    failures = [0]
    per_worker = messages // concurrency

    def worker(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        user = f"o-bench-{tag}-{n}"
        for i in range(per_worker):
            question = questions[(n * 7 + i) % len(questions)]
            with lock:
                msg_id = str(next(ids))
            now = clock.now()
            xml = text_message(user, question, account=ACCOUNT, now=now, msg_id=f"{tag}{msg_id}")
            query, body = signed_request(settings, xml, now=now)
            started = time.perf_counter()
            connection.request(
                "POST",
                "/wechat?" + urllib.parse.urlencode(query),
                body=body.encode("utf-8"),
                headers={"Content-Type": "text/xml"},
            )
            response = connection.getresponse()
            answer = response.read().decode("utf-8")
            elapsed = time.perf_counter() - started
            ok = response.status == 200 and bool(read_reply(settings, answer))
            with lock:
                latencies.append(elapsed)
                failures[0] += 0 if ok else 1
        connection.close()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - started, latencies, failures[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=600, help="per target")
    parser.add_argument(
        "--concurrency", default="1,8", help="concurrent citizens; a comma list runs each"
    )
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--database-url")
    parser.add_argument("--serve", choices=["app", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.mode, args.port, args.database_url, args.threads)
        return

    folder = tempfile.mkdtemp(prefix="bench-wechat-")
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    questions = prepare_database(database_url)
    levels = [int(n) for n in str(args.concurrency).split(",") if n.strip()]
    print(
        f"{len(questions)} starter FAQ questions; {args.messages} messages per target and "
        f"concurrency, waitress threads={args.threads}, database {database_url.split(':', 1)[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'target':<22}{'conc':>5}{'msg/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'failed':>8}"
    )
    for target, mode in (("app", "plain"), ("app", "safe"), ("bare", "plain"), ("bare", "safe")):
        port = free_port()
        child = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                target,
                "--mode",
                mode,
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
            tag = f"{target}{mode}"
            run_load(port, mode, questions, messages=40, concurrency=4, tag=f"warm{tag}")
            for level in levels:
                elapsed, latencies, failed = run_load(
                    port,
                    mode,
                    questions,
                    messages=args.messages,
                    concurrency=level,
                    tag=f"{tag}c{level}",
                )
                name = f"{'POST /wechat' if target == 'app' else 'bare wechatpy'} ({mode})"
                print(
                    f"{name:<22}{level:>5}{len(latencies) / elapsed:>9.1f}"
                    f"{percentile(latencies, 50) * 1000:>9.1f}"
                    f"{percentile(latencies, 95) * 1000:>9.1f}"
                    f"{percentile(latencies, 99) * 1000:>9.1f}{failed:>8}"
                    f"   (mean {statistics.mean(latencies) * 1000:.1f} ms)"
                )
        finally:
            child.terminate()
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
