"""Benchmark ``GET /api/v1/faq/search`` beside a bare Flask endpoint (not a timed test), both
served the same way in one run: by default the production server, gunicorn (``gthread``,
``--processes`` workers × ``--threads`` threads, as ``deploy/gunicorn.conf.py``), or with
``--server waitress`` as many waitress processes (the server of ``make run`` and ``flask serve``)
sharing one listening port through SO_REUSEPORT.

    .venv/bin/python scripts/bench_faq_search.py [--server gunicorn|waitress] [--processes 4]
        [--threads 8] [--seconds 8] [--clients 2] [--connections 8] [--database-url URL]
        [--semantic] [--search-cache N] [--warm-up SECONDS]

The search servers are the real app (``hotline.factory.create_app``, the starter knowledge base
seeded into a fresh SQLite file unless ``--database-url`` names another database; rate limits
off; ``--semantic``: its FAQs embedded first, so the unanswered questions take the semantic
did-you-mean; ``--search-cache 0``: no result cache, every question scored afresh), each process
with its index warmed before it serves and its usage flusher armed as in every app process
(``hotline.cli``, ``knowledge.usage``). The bare server is ``Flask`` with one route returning a
small JSON body. The load comes from ``--clients`` processes with ``--connections`` keep-alive
connections each, asking questions from ``lab/knowledge/data/eval.csv`` (in scope and out of
scope, so hits, suggestions and the gap log are all counted) for ``--seconds`` per target, after
``--warm-up`` seconds of the same load that are not timed (so each process's result cache has
seen the questions: the figure of a hotline whose citizens repeat them; without a warm-up and
with ``--search-cache 0``, the figure of questions never asked before).

After the search run the servers are stopped (SIGTERM: each flushes what it still holds) and the
database's counters are compared with what the clients saw: every answer's hit, every
suggestion and every unanswered question must be there exactly once, from all processes.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ROOT / "lab" / "knowledge" / "data" / "eval.csv"


def app_config(database_url: str, search_cache: int | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": False,
        "RUN_WORKER": False,
        "KNOWLEDGE_USAGE_FLUSH_SECONDS": 2.0,
    }
    if search_cache is not None:
        config["KNOWLEDGE_SEARCH_CACHE"] = search_cache
    return config


# -- the servers (child processes) -------------------------------------------------------------


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def bare_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.get("/bare")
    def bare() -> Any:
        return jsonify({"query": request.args.get("q", ""), "answered": False})

    return app


def build_app(kind: str, database_url: str, search_cache: int | None) -> Any:
    if kind == "bare":
        return bare_app()
    from hotline.factory import create_app
    from knowledge.search import warm_index

    # As in production: the app arms its usage flusher (hotline.cli), which starts with the
    # first search and writes at exit.
    app = create_app(app_config(database_url, search_cache))
    with app.extensions["hotline_db"].session() as session:
        warm_index(session)
    return app


def serve(kind: str, port: int, args: argparse.Namespace, ready: Any) -> None:
    """One waitress process on the shared port."""
    import logging

    from waitress import create_server

    # "Task queue depth is N" on every busy moment: the load is meant to keep the queue busy.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    app = build_app(kind, args.database_url, args.search_cache)
    server = create_server(app, sockets=[_listening_socket(port)], threads=args.threads)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit handlers run: the last flush
    ready.put(os.getpid())
    server.run()


def serve_gunicorn(kind: str, port: int, args: argparse.Namespace, ready: Any) -> None:
    """One gunicorn arbiter with ``args.processes`` gthread workers (deploy/gunicorn.conf.py's
    shape); each worker builds the app after the fork (no preload) and says when it serves."""
    from gunicorn.app.base import BaseApplication

    settings = {
        "bind": f"127.0.0.1:{port}",
        "workers": args.processes,
        "worker_class": "gthread",
        "threads": args.threads,
        "keepalive": 5,
        "backlog": 1024,
        "preload_app": False,
        "accesslog": None,
        "loglevel": "warning",
        "post_worker_init": lambda worker: ready.put(os.getpid()),
    }

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return build_app(kind, args.database_url, args.search_cache)

    Server().run()


# -- the load (child processes) ----------------------------------------------------------------


def _client(port: int, path: str, questions: list[str], until: float, out: list[Any]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = answered = unanswered = suggested = errors = 0
    latencies: list[float] = []
    i = 0
    while time.monotonic() < until:
        question = questions[i % len(questions)]
        i += 1
        started = time.perf_counter()
        try:
            connection.request("GET", f"{path}?q={urllib.parse.quote(question)}")
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors += 1
            continue
        done += 1
        if path != "/bare":
            result = json.loads(body)
            if result["answered"]:
                answered += 1
            else:
                unanswered += 1
                suggested += len(result["suggestions"])
    connection.close()
    out.append((done, answered, unanswered, suggested, errors, latencies))


def load(
    port: int, path: str, questions: list[str], seconds: float, connections: int, queue: Any
) -> None:
    until = time.monotonic() + seconds
    out: list[Any] = []
    offset = len(questions) // max(connections, 1)
    threads = [
        threading.Thread(
            target=_client,
            args=(port, path, questions[i * offset :] + questions[: i * offset], until, out),
        )
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(out)


# -- the run -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_target(kind: str, args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    port = _free_port()
    ready = spawn.Queue()
    if args.server == "gunicorn":
        servers = [spawn.Process(target=serve_gunicorn, args=(kind, port, args, ready))]
    else:
        servers = [
            spawn.Process(target=serve, args=(kind, port, args, ready))
            for _ in range(args.processes)
        ]
    for server in servers:
        server.start()
    pids = [ready.get(timeout=300) for _ in range(args.processes)]
    path = "/bare" if kind == "bare" else "/api/v1/faq/search"

    def phase(seconds: float) -> tuple[list[Any], float]:
        results = spawn.Queue()
        clients = [
            spawn.Process(
                target=load, args=(port, path, questions, seconds, args.connections, results)
            )
            for _ in range(args.clients)
        ]
        started = time.perf_counter()
        for client in clients:
            client.start()
        rows = [row for _ in clients for row in results.get(timeout=seconds + 120)]
        elapsed = time.perf_counter() - started
        for client in clients:
            client.join()
        return rows, elapsed

    # The warm-up is not timed, but what it asked is counted: the database check covers it.
    warm = phase(args.warm_up)[0] if args.warm_up > 0 else []
    rows, elapsed = phase(args.seconds)
    for server in servers:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGTERM)
    for server in servers:
        server.join(timeout=30)
    latencies = sorted(x for row in rows for x in row[5])
    done = sum(row[0] for row in rows)
    return {
        "kind": kind,
        "pids": pids,
        "requests": done,
        "answered": sum(row[1] for row in rows + warm),
        "unanswered": sum(row[2] for row in rows + warm),
        "suggested": sum(row[3] for row in rows + warm),
        "errors": sum(row[4] for row in rows + warm),
        "rps": done / args.seconds,
        "elapsed": elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
    }


def prepare_database(database_url: str, *, semantic: bool = False) -> None:
    from hotline import migrate
    from hotline.demo import seed_demo
    from hotline.factory import create_app

    migrate.upgrade(database_url)
    app = create_app(app_config(database_url))
    with app.extensions["hotline_db"].session() as session:
        seed_demo(session, app.config)
        session.commit()
    if semantic:
        from knowledge.embeddings import refresh_embeddings
        from knowledge.semantic import Embedder

        with app.extensions["hotline_db"].session() as session:
            report = refresh_embeddings(session, embed=Embedder(threads=os.cpu_count() or 1))
            session.commit()
        print(*report.lines())


def counters(database_url: str) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from core.db import Database
    from knowledge.models import Faq, KnowledgeGap

    database = Database(database_url, sqlite_immediate=False)
    try:
        with database.session() as session:
            hits = session.scalar(select(func.coalesce(func.sum(Faq.hit_count), 0)))
            suggested = session.scalar(select(func.coalesce(func.sum(Faq.suggest_count), 0)))
            gaps = session.scalar(select(func.coalesce(func.sum(KnowledgeGap.count), 0)))
            return int(hits or 0), int(suggested or 0), int(gaps or 0)
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn")
    parser.add_argument("--processes", type=int, default=4, help="gunicorn workers or waitresses")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="embed the FAQs first, so that unanswered questions get the semantic did-you-mean",
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=0.0,
        help="seconds of the same load, not timed, before each target's timed run",
    )
    parser.add_argument(
        "--search-cache",
        type=int,
        default=None,
        help="results kept per process for repeated questions (default: the app's; 0: none)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.database_url:
            args.database_url = f"sqlite:///{tmp}/bench.db"
        prepare_database(args.database_url, semantic=args.semantic)
        before = counters(args.database_url)
        with open(QUESTIONS, encoding="utf-8-sig", newline="") as handle:
            questions = [row["question"] for row in csv.DictReader(handle)]
        print(
            f"{args.server}: {args.processes} processes x {args.threads} threads, "
            f"{args.clients} client processes x {args.connections} keep-alive connections, "
            f"{args.seconds:.0f} s per target after {args.warm_up:.0f} s of warm-up, "
            f"{len(questions)} questions, "
            f"{os.cpu_count()} CPUs, {args.database_url.split(':')[0]}, "
            f"semantic did-you-mean {'on' if args.semantic else 'off (no vectors)'}, "
            f"result cache {'default' if args.search_cache is None else args.search_cache}"
        )
        bare = run_target("bare", args, questions)
        found = run_target("search", args, questions)
        after = counters(args.database_url)
    for result in (bare, found):
        print(
            f"{result['kind']:>6}: {result['rps']:8.1f} requests/s  "
            f"p50 {result['p50_ms']:.1f} ms  p95 {result['p95_ms']:.1f} ms  "
            f"({result['requests']} requests, {result['errors']} errors, "
            f"{len(set(result['pids']))} server processes)"
        )
    ratio = found["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(f"search / bare: {100 * ratio:.0f}%")
    hits, suggested, gaps = (a - b for a, b in zip(after, before, strict=True))
    expected = (found["answered"], found["suggested"], found["unanswered"])
    print(
        f"written by the processes' flushes: hits {hits} (answered {expected[0]}), "
        f"suggestions {suggested} (shown {expected[1]}), gap log {gaps} "
        f"(unanswered {expected[2]}): "
        + ("all counted" if (hits, suggested, gaps) == expected else "MISMATCH")
    )


if __name__ == "__main__":
    main()
