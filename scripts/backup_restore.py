"""Back up and restore the hotline's PostgreSQL database, and prove a backup restores.

    .venv/bin/python scripts/backup_restore.py backup  --database-url URL --out FILE.dump
    .venv/bin/python scripts/backup_restore.py restore --file FILE.dump --into URL
    .venv/bin/python scripts/backup_restore.py check   --database-url URL

``backup`` is ``pg_dump --format=custom`` (compressed, restorable table by table, consistent: one
snapshot even while the app writes). ``restore`` creates the target database, which must not
exist yet, and runs ``pg_restore --no-owner --exit-on-error`` into it. ``check`` backs up, restores
into a fresh database beside the original, compares the row count of every table (tickets,
ticket events and the outbox among them), prints them, drops the copy, and exits 1 on any
difference. URLs are SQLAlchemy's (``postgresql+psycopg://…``) or libpq's (``postgresql://…``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

# The tables the README's promise names first; every other table is compared too.
KEY_TABLES = ("tickets", "ticket_events", "outbox_messages")


def _sqlalchemy(url: str) -> URL:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"not a PostgreSQL URL: {url}")
    return parsed.set(drivername="postgresql+psycopg")


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    """pg_dump / pg_restore of the server's major version when several are installed."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else name


def backup(url: str, out: Path) -> None:
    target = _sqlalchemy(url)
    subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out), _libpq(target)],
        check=True,
    )


def _admin(url: URL) -> object:
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_database(url: URL) -> None:
    engine = _admin(url)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        if conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
        ).scalar():
            raise SystemExit(f"database {url.database!r} exists: restore only into a new one")
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    engine.dispose()  # type: ignore[attr-defined]


def drop_database(url: URL) -> None:
    engine = _admin(url)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()  # type: ignore[attr-defined]


def restore(dump: Path, into: str) -> None:
    target = _sqlalchemy(into)
    create_database(target)
    subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            _libpq(target),
            str(dump),
        ],
        check=True,
    )


def counts(url: str) -> dict[str, int]:
    engine = create_engine(_sqlalchemy(url))
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            return {
                table: int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
                for table in tables
            }
    finally:
        engine.dispose()


def check(url: str) -> bool:
    """Back up ``url``, restore the backup into a fresh database, compare every table's rows."""
    source = _sqlalchemy(url)
    copy = source.set(database=f"{source.database}_restore_check")
    drop_database(copy)
    with tempfile.TemporaryDirectory(prefix="hotline-backup-") as folder:
        dump = Path(folder) / "hotline.dump"
        before = counts(url)
        backup(url, dump)
        size = dump.stat().st_size
        try:
            restore(dump, copy.render_as_string(hide_password=False))
            after = counts(copy.render_as_string(hide_password=False))
        finally:
            drop_database(copy)
    tables = [*[t for t in KEY_TABLES if t in before], *[t for t in before if t not in KEY_TABLES]]
    same = before == after
    print(f"backup of {source.database}: {size / 1024:.0f} KiB; restored into {copy.database}")
    print(f"{'table':32} {'original':>10} {'restored':>10}")
    for table in tables:
        mark = "" if before.get(table) == after.get(table) else "  DIFFERENT"
        print(f"{table:32} {before[table]:>10} {after.get(table, 0):>10}{mark}")
    for table in sorted(set(after) - set(before)):
        print(f"{table:32} {'—':>10} {after[table]:>10}  DIFFERENT")
    print("restore check:", "the same" if same else "DIFFERENT")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    default_url = os.environ.get("HOTLINE_DATABASE_URL")
    p = commands.add_parser("backup")
    p.add_argument("--database-url", default=default_url, required=default_url is None)
    p.add_argument("--out", type=Path, required=True)
    p = commands.add_parser("restore")
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--into", required=True)
    p = commands.add_parser("check")
    p.add_argument("--database-url", default=default_url, required=default_url is None)
    args = parser.parse_args()
    if args.command == "backup":
        backup(args.database_url, args.out)
    elif args.command == "restore":
        restore(args.file, args.into)
    else:
        sys.exit(0 if check(args.database_url) else 1)


if __name__ == "__main__":
    main()
