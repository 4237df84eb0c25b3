"""The whole test command: lint, type check, import contract, migrations, then the suite on
SQLite and again on a throw-away PostgreSQL database when a server answers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def run(title: str, *args: str, env: dict[str, str] | None = None) -> None:
    print(f"\n=== {title}", flush=True)
    result = subprocess.run(args, cwd=ROOT, env=env)
    if result.returncode != 0:
        print(f"=== FAILED: {title}", flush=True)
        sys.exit(result.returncode)


def postgres_admin_url() -> str | None:
    """A PostgreSQL server to create the throw-away database on, or None with the reason printed."""
    url = os.environ.get("HOTLINE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=3):
            return url
    except Exception as error:  # any failure means: no PostgreSQL run, said loudly below
        print(
            f"\n=== SKIPPED: the PostgreSQL run — no server answered at {url}: {error}", flush=True
        )
        return None


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one run, dropped afterwards; yields its URL."""
    import psycopg

    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_postgres(admin_url: str, pytest_args: list[str]) -> None:
    with throwaway_postgres(admin_url) as url:
        env = dict(os.environ, HOTLINE_TEST_DATABASE_URL=url)
        run(f"tests on PostgreSQL (database {url.rsplit('/', 1)[1]})", *pytest_args, env=env)


def main() -> None:
    extra = sys.argv[1:]
    run("ruff check", str(BIN / "ruff"), "check", ".")
    run("ruff format --check", str(BIN / "ruff"), "format", "--check", ".")
    run(
        "mypy (domain packages)",
        str(BIN / "mypy"),
        "core",
        "directory",
        "tickets",
        "calls",
        "analysis",
        "delivery",
        "hotline",
    )
    run("import contracts (forbidden imports, one-way layers)", str(BIN / "lint-imports"))
    run("no import cycle", str(BIN / "python"), "scripts/import_cycles.py")
    pytest = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    env = {k: v for k, v in os.environ.items() if k != "HOTLINE_TEST_DATABASE_URL"}
    run("tests on SQLite", *pytest, env=env)
    admin = postgres_admin_url()
    if admin:
        # The browser tests drive the same pages; once (on SQLite) is enough for them.
        with_postgres(admin, [*pytest, "-m", "not browser"])
        if os.environ.get("CI") == "true" and Path("/usr/sbin/nginx").exists():
            faults(admin)


def faults(admin_url: str) -> None:
    """The fault script on the production shape, short (CI has the time): an app server killed,
    PostgreSQL restarted (as root), the WeChat API down while the outbox fills, the worker
    killed mid-batch; nothing may be lost or duplicated."""
    args = ["--submissions", "80", "--outage", "5", "--wechat-citizens", "8"]
    if os.geteuid() != 0:
        args.append("--skip-postgres-restart")
    with throwaway_postgres(admin_url) as url:
        run(
            "faults on the production shape (scripts/faults.py)",
            str(BIN / "python"),
            "scripts/faults.py",
            *args,
            "--database-url",
            url,
        )


if __name__ == "__main__":
    main()
