"""``flask --app app cti ...``: switchboard keys, a simulated day of calls, the call figures.

- ``cti keys create NAME`` prints a new key's id and secret (shown this once), ``cti keys
  revoke KEY`` (its ``cti_…`` id or row id), ``cti keys list``.
- ``cti simulate`` posts a realistic day of calls (``calls.simulate``) to a running app, signed
  like a switchboard. Without ``--key-id``/``--secret`` it signs with the key of the
  "simulator" switchboard, created on first use, whose secret this process can re-derive
  because it shares the app's secret key.
- ``cti figures [--date]`` prints the day's figures per queue and hour.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any

import click
from flask import Flask
from sqlalchemy import select

from calls import figures as call_figures
from calls.keys import (
    create_key,
    list_keys,
    revoke_key_ref,
    secret_of,
    signed_headers,
)
from calls.models import CtiKey, CtiSystem
from calls.simulate import day_events, simulate_calls
from core import clock
from core.errors import DomainError
from core.web import database
from directory.access import SYSTEM

DEFAULT_URL = "http://127.0.0.1:5000"
EVENTS_PATH = "/api/v1/cti/events"
SIMULATOR = "simulator"


def events_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith(EVENTS_PATH) else url + EVENTS_PATH


def post_events(
    url: str, key_id: str, secret: str, events: list[dict[str, Any]], *, timeout: float = 30.0
) -> dict[str, Any]:
    """Post one signed batch; the app's JSON answer, or ClickException on a refusal."""
    body = json.dumps({"events": events}, ensure_ascii=False).encode("utf-8")
    headers = signed_headers(key_id, secret, body, now=clock.now())
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:500]
        raise click.ClickException(f"the app answered {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise click.ClickException(f"cannot reach {url}: {error}") from None


def _simulator_key(app: Flask) -> tuple[str, str]:
    """The simulator switchboard's active key (created when there is none) and its secret."""
    pepper = str(app.config["SECRET_KEY"])
    with database(app).session() as session:
        keys = session.scalars(
            select(CtiKey)
            .join(CtiKey.system)
            .where(CtiSystem.name == SIMULATOR, CtiKey.revoked_at.is_(None))
            .order_by(CtiKey.id.desc())
        ).all()
        for key in keys:
            secret = secret_of(key, pepper)
            if secret is not None:
                return key.key_id, secret
        new = create_key(session, SIMULATOR, pepper=pepper, actor=SYSTEM)
        session.commit()
        return new.key.key_id, new.secret


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def format_figures(day_figures: call_figures.DayFigures) -> list[str]:
    """The figures as a text table, then each figure's definition."""
    head = ["queue", "hour", *(f.name_zh for f in call_figures.FIGURES)]
    lines = ["\t".join(head)]

    def line(row: call_figures.FigureRow) -> str:
        hour = "all day" if row.hour is None else f"{row.hour:02d}:00"
        return "\t".join(
            [
                row.queue or "all queues",
                hour,
                str(row.offered),
                str(row.answered),
                str(row.abandoned),
                _rate(row.answer_rate),
                _seconds(row.avg_wait),
                "-" if row.p90_wait is None else str(row.p90_wait),
                _seconds(row.avg_handling),
            ]
        )

    for queue_row in day_figures.by_queue:
        lines.extend(line(r) for r in day_figures.by_queue_hour if r.queue == queue_row.queue)
        lines.append(line(queue_row))
    if day_figures.total is not None:
        lines.append(line(day_figures.total))
    lines.append("")
    for figure in call_figures.FIGURES:
        lines.append(f"{figure.name_zh} ({figure.name_en}): {figure.definition_zh}")
        lines.append(f"    {figure.definition_en}")
    return lines


def register_cli(app: Flask) -> None:
    @app.cli.group("cti")
    def cti_group() -> None:
        """The switchboard (CTI): keys, a simulated day of calls, the call figures."""

    @cti_group.group("keys")
    def keys_group() -> None:
        """Switchboard keys (each switchboard signs its events with one)."""

    @keys_group.command("create")
    @click.argument("name")
    def keys_create(name: str) -> None:
        """Create a key for the switchboard NAME (new or existing) and print its secret once."""
        with database(app).session() as session:
            try:
                new = create_key(session, name, pepper=str(app.config["SECRET_KEY"]), actor=SYSTEM)
            except DomainError as error:
                raise click.ClickException(_describe(error)) from None
            session.commit()
            click.echo(f"switchboard: {new.key.system.name}")
            click.echo(f"key id:      {new.key.key_id}")
            click.echo(f"secret:      {new.secret}")
            click.echo("The secret is shown only now; the hotline keeps no copy of it.")

    @keys_group.command("revoke")
    @click.argument("key")
    def keys_revoke(key: str) -> None:
        """Revoke KEY (its cti_… id or its number in `cti keys list`)."""
        with database(app).session() as session:
            try:
                revoked = revoke_key_ref(session, key, actor=SYSTEM)
            except DomainError as error:
                raise click.ClickException(_describe(error)) from None
            session.commit()
            click.echo(f"revoked {revoked.key_id} ({revoked.system.name})")

    @keys_group.command("list")
    def keys_list() -> None:
        """Every switchboard key: number, id, switchboard, created, last used, state."""
        with database(app).session() as session:
            for key in list_keys(session):
                state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                click.echo(
                    f"{key.id}\t{key.key_id}\t{key.system.name}\t"
                    f"created {key.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t{state}"
                )

    @cti_group.command("simulate")
    @click.option("--url", default=DEFAULT_URL, show_default=True, help="The running app.")
    @click.option("--key-id", help="Sign with this key (default: the simulator's own).")
    @click.option("--secret", help="The secret of --key-id.")
    @click.option(
        "--calls", "count", default=2000, show_default=True, type=click.IntRange(1, 200_000)
    )
    @click.option("--date", "day", help="The local day to simulate, YYYY-MM-DD (default: today).")
    @click.option("--seed", type=int, help="Random seed (default: from the date).")
    @click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 500))
    def simulate(
        url: str,
        key_id: str | None,
        secret: str | None,
        count: int,
        day: str | None,
        seed: int | None,
        batch: int,
    ) -> None:
        """Post a realistic day of calls (two queues, peaks, waits, abandoned calls) to the
        running app, signed like a switchboard, then print what it accepted."""
        if bool(key_id) != bool(secret):
            raise click.ClickException("give both --key-id and --secret, or neither")
        local_day = _parse_day(day, app)
        if key_id is None or secret is None:
            key_id, secret = _simulator_key(app)
        calls = simulate_calls(
            local_day, calls=count, timezone=str(app.config["TIMEZONE"]), seed=seed
        )
        events = day_events(calls)
        target = events_url(url)
        accepted = duplicates = 0
        for start in range(0, len(events), batch):
            answer = post_events(target, key_id, secret, events[start : start + batch])
            accepted += int(answer.get("accepted", 0))
            duplicates += int(answer.get("duplicates", 0))
        abandoned = sum(1 for c in calls if c.abandoned_at is not None)
        click.echo(
            f"{len(calls)} calls on {local_day} ({abandoned} abandoned): {len(events)} events "
            f"posted to {target}, {accepted} accepted, {duplicates} duplicates"
        )

    @cti_group.command("figures")
    @click.option("--date", "day", help="The local day, YYYY-MM-DD (default: today).")
    def figures(day: str | None) -> None:
        """The day's call figures per queue and hour (人工接通率, waits, handling time)."""
        local_day = _parse_day(day, app)
        with database(app).session() as session:
            result = call_figures.day_figures(session, local_day)
        click.echo(f"call figures for {local_day} (by the local time calls were offered)")
        for text in format_figures(result):
            click.echo(text)


def _parse_day(raw: str | None, app: Flask) -> dt.date:
    if not raw:
        return clock.today(str(app.config["TIMEZONE"]))
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None


def _describe(error: DomainError) -> str:
    fields = getattr(error, "fields", None)
    if fields:
        return "; ".join(f"{name}: {message}" for name, message in fields.items())
    return str(error)
