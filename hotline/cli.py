"""Operations commands: ``flask --app app db upgrade``, ``flask --app app seed-demo``, …"""

from __future__ import annotations

import click
from flask import Flask

from bot import cli as bot_cli
from bot.telegram import cli as telegram_cli
from core.web import database
from hotline import cti_cli, dispatch_cli, migrate, worker_cli
from knowledge import cli as knowledge_cli
from open311 import cli as open311_cli
from wechat import cli as wechat_cli


def register_cli(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Create or migrate the database named by HOTLINE_DATABASE_URL."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def upgrade(revision: str) -> None:
        """Apply migrations up to REVISION (default: the newest). Safe to run twice."""
        migrate.upgrade(app.config["DATABASE_URL"], revision)
        click.echo(f"database at {revision}: {database(app).engine.url.render_as_string()}")

    @db_group.command("check")
    def check() -> None:
        """Fail if the models have changes that no migration covers."""
        migrate.check(app.config["DATABASE_URL"])
        click.echo("no changes")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Departments, demo staff, starter knowledge and demo tickets. Safe to run twice."""
        from hotline.demo import seed_demo as run_seed

        with database(app).session() as session:
            report = run_seed(session, app.config)
            session.commit()
        for line in report:
            click.echo(line)

    @app.cli.command("refresh-supervision")
    @click.option("--full", is_flag=True, help="Sweep every open ticket, not only near due dates.")
    def refresh(full: bool) -> None:
        """Recompute 监察状态 (red/yellow cards) of open tickets."""
        from tickets.supervision import refresh_supervision

        with database(app).session() as session:
            changed = refresh_supervision(session, full=full)
            session.commit()
        click.echo(f"{changed} tickets changed status")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    @click.option("--threads", default=8, type=int)
    def serve(host: str, port: int, threads: int) -> None:
        """Serve the app with waitress (a production WSGI server that needs no compiler)."""
        from waitress import serve as waitress_serve

        waitress_serve(app, host=host, port=port, threads=threads)

    knowledge_cli.register_cli(app)
    if not app.config.get("TESTING"):
        # Every app process (flask serve, each gunicorn worker) writes its searches' FAQ hits and
        # gap log in batches from a thread (knowledge.usage); tests flush explicitly.
        from knowledge.usage import flush_in_background

        db = database(app)
        flush_in_background(
            db.engine, db.session, float(app.config.get("KNOWLEDGE_USAGE_FLUSH_SECONDS", 5))
        )
    worker_cli.register_cli(app)
    bot_cli.register_cli(app)
    wechat_cli.register_cli(app)
    telegram_cli.register_cli(app)
    cti_cli.register_cli(app)
    open311_cli.register_cli(app)
    dispatch_cli.register_cli(app)
