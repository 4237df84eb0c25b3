"""``flask --app app chat-figures``: the chat service figures for the dashboard."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask

from core import clock
from core.web import database


def register_cli(app: Flask) -> None:
    @app.cli.command("chat-figures")
    @click.option("--days", default=1, type=click.IntRange(1, 366), help="Period ending now.")
    def chat_figures_command(days: int) -> None:
        """Share of hand-offs picked up by staff and the wait until pick-up (average, p90)."""
        from bot.engine.metrics import (
            TARGET_AVERAGE_WAIT_SECONDS,
            TARGET_PICKUP_RATE,
            chat_figures,
        )

        until = clock.now()
        with database(app).session() as session:
            figures = chat_figures(session, since=until - dt.timedelta(days=days), until=until)
        rate = "-" if figures.pickup_rate is None else f"{figures.pickup_rate:.1%}"
        average = (
            "-" if figures.average_wait_seconds is None else f"{figures.average_wait_seconds:.1f}s"
        )
        p90 = "-" if figures.p90_wait_seconds is None else f"{figures.p90_wait_seconds:.1f}s"
        click.echo(
            f"hand-offs {figures.handed_off}, picked up {figures.picked_up}, "
            f"left/closed unanswered {figures.cancelled}, waiting {figures.waiting}"
        )
        click.echo(f"pick-up rate {rate} (target ≥ {TARGET_PICKUP_RATE:.0%})")
        click.echo(
            f"wait average {average}, p90 {p90} (target average ≤ {TARGET_AVERAGE_WAIT_SECONDS:.0f}s)"
        )
