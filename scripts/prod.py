"""The production shape on one machine, for load and fault tests: nginx on loopback in front of
two app server instances (gunicorn, several worker processes each), PostgreSQL, Redis for the
shared rate limits and tokens, and the outbox worker and the scheduler as their own processes.

    .venv/bin/python scripts/prod.py up [--database-url URL] [--seed] [--workers 2] [--port 8080]
    .venv/bin/python scripts/prod.py status
    .venv/bin/python scripts/prod.py kill app1|app2|worker|scheduler    # a crash (SIGKILL)
    .venv/bin/python scripts/prod.py stop app1|app2|worker|scheduler    # a graceful stop (SIGTERM)
    .venv/bin/python scripts/prod.py start app1|app2|worker|scheduler   # bring it back
    .venv/bin/python scripts/prod.py down

(``make prod-up`` / ``make prod-down``.) Everything runs from ``instance/prod/``
(``HOTLINE_PROD_RUN_DIR``; the app instances listen on 8001 and 8002, ``HOTLINE_PROD_APP_PORTS``): the rendered
nginx configuration, a pid file per process, their logs, and the secret key the instances share
(stateless app servers: a session or CSRF token signed by one is valid on the other). The app
instances trust exactly one proxy (``HOTLINE_TRUSTED_PROXIES=1``), nginx, for the client
address. Needs nginx (Debian's package) and a PostgreSQL server; Redis when it answers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUN = Path(os.environ.get("HOTLINE_PROD_RUN_DIR") or ROOT / "instance" / "prod")
STATE = RUN / "state.json"
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_prod"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
_PORTS = os.environ.get("HOTLINE_PROD_APP_PORTS", "8001,8002").split(",")
APP_PORTS = {"app1": int(_PORTS[0]), "app2": int(_PORTS[1])}


def _state() -> dict[str, Any]:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def _save(state: dict[str, Any]) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=2))


def _answers(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _redis_url(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    return DEFAULT_REDIS if _answers("127.0.0.1", 6379) else None


def _ensure_database(url: str) -> None:
    """Create the PostgreSQL database named by ``url`` when it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _env(state: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOTLINE_DATABASE_URL": state["database_url"],
            "HOTLINE_SECRET_KEY": state["secret_key"],
            "HOTLINE_TRUSTED_PROXIES": "1",
            "HOTLINE_RUN_WORKER": "false",
            "HOTLINE_PUBLIC_BASE_URL": f"http://127.0.0.1:{state['port']}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if state.get("redis_url"):
        env["HOTLINE_REDIS_URL"] = state["redis_url"]
    env.update(state.get("extra_env", {}))
    return env


def _command(name: str, state: dict[str, Any]) -> list[str]:
    if name in APP_PORTS:
        return [
            str(BIN / "gunicorn"),
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{APP_PORTS[name]}",
            "--workers",
            str(state["workers"]),
            "--name",
            f"hotline-{name}",
        ]
    if name == "worker":
        return [str(BIN / "flask"), "--app", "app", "worker", "--threads", "2"]
    if name == "scheduler":
        return [str(BIN / "flask"), "--app", "app", "scheduler"]
    raise SystemExit(f"unknown process {name!r}")


def start(name: str, state: dict[str, Any]) -> None:
    log = open(RUN / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen(
        _command(name, state),
        cwd=ROOT,
        env=_env(state),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a kill takes its gunicorn workers too
    )
    state.setdefault("pids", {})[name] = process.pid
    _save(state)
    if name in APP_PORTS:
        _wait_http(f"http://127.0.0.1:{APP_PORTS[name]}/healthz", name)


def _wait_http(url: str, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} within {seconds:.0f} s (see {RUN})")


def kill(name: str, state: dict[str, Any], sig: int = signal.SIGKILL) -> None:
    pid = state.get("pids", {}).pop(name, None)
    _save(state)
    if pid is None:
        return
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


def _nginx(state: dict[str, Any]) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")
    for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (RUN / folder).mkdir(parents=True, exist_ok=True)
    template = (ROOT / "deploy" / "nginx.conf.template").read_text()
    upstreams = "\n".join(
        # Three failures before an instance is left alone for 5 s: a single reset (a worker
        # recycled after max_requests closes its connections) must not take a whole instance,
        # or both, out of the rotation.
        f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=5s;"
        for port in APP_PORTS.values()
    )
    conf = template.format(
        run_dir=RUN,
        listen=f"127.0.0.1:{state['port']}",
        upstreams=upstreams,
        static_dir=ROOT / "portal" / "static",
        workers=state.get("nginx_workers", 2),
    )
    path = RUN / "nginx.conf"
    path.write_text(conf)
    subprocess.run([nginx, "-t", "-q", "-c", str(path), "-p", str(RUN)], check=True)
    subprocess.run([nginx, "-c", str(path), "-p", str(RUN)], check=True)
    state["nginx"] = nginx
    _save(state)


def up(args: argparse.Namespace) -> None:
    if _state().get("pids"):
        raise SystemExit(f"already up (see {STATE}); run `scripts/prod.py down` first")
    RUN.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "database_url": args.database_url,
        "redis_url": _redis_url(args.redis_url),
        "secret_key": secrets.token_hex(32),
        "workers": args.workers,
        "port": args.port,
        "pids": {},
        "extra_env": dict(item.split("=", 1) for item in args.env),
    }
    _save(state)
    _ensure_database(state["database_url"])
    env = _env(state)
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True)
    if args.seed:
        subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True)
    for name in (*APP_PORTS, "worker", "scheduler"):
        start(name, state)
    _nginx(state)
    _wait_http(f"http://127.0.0.1:{state['port']}/healthz", "nginx")
    print(
        f"up: nginx http://127.0.0.1:{state['port']} → {', '.join(map(str, APP_PORTS.values()))} "
        f"(gunicorn, {args.workers} workers each), worker, scheduler; "
        f"database {state['database_url']}; redis {state['redis_url'] or 'none'}"
    )


def down(_args: argparse.Namespace) -> None:
    state = _state()
    if state.get("nginx") and (RUN / "nginx.pid").exists():
        subprocess.run(
            [state["nginx"], "-c", str(RUN / "nginx.conf"), "-p", str(RUN), "-s", "quit"],
            check=False,
        )
    for name in list(state.get("pids", {})):
        kill(name, state, signal.SIGTERM)
    state["pids"] = {}
    state.pop("nginx", None)
    _save(state)
    print("down")


def status(_args: argparse.Namespace) -> None:
    state = _state()
    for name, pid in state.get("pids", {}).items():
        try:
            os.killpg(pid, 0)
            alive = "running"
        except ProcessLookupError:
            alive = "gone"
        print(f"{name:10} pid {pid:<8} {alive}")
    if state.get("port"):
        print(
            f"nginx      port {state['port']:<7} {'answers' if _answers('127.0.0.1', state['port']) else 'down'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p_up = commands.add_parser("up")
    p_up.add_argument(
        "--database-url", default=os.environ.get("HOTLINE_PROD_DATABASE_URL", DEFAULT_DATABASE)
    )
    p_up.add_argument("--redis-url")
    p_up.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    p_up.add_argument("--port", type=int, default=8080, help="nginx on 127.0.0.1")
    p_up.add_argument("--seed", action="store_true", help="demo data (flask seed-demo)")
    p_up.add_argument("--env", action="append", default=[], help="NAME=VALUE for every process")
    p_up.set_defaults(run=up)
    commands.add_parser("down").set_defaults(run=down)
    commands.add_parser("status").set_defaults(run=status)
    verbs: dict[str, Any] = {
        "kill": kill,  # SIGKILL: a crash
        "stop": lambda name, state: kill(name, state, signal.SIGTERM),  # a graceful stop
        "start": start,
    }
    for verb, action in verbs.items():
        p = commands.add_parser(verb)
        p.add_argument("name", choices=[*APP_PORTS, "worker", "scheduler"])
        p.set_defaults(run=lambda a, action=action: action(a.name, _state()))
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
