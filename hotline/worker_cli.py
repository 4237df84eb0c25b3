"""``flask --app app worker``, ``scheduler`` and ``run-job``: the background work as processes.

In production run as many ``worker`` processes as needed (on several machines: PostgreSQL's
SKIP LOCKED keeps them apart) and one or more ``scheduler`` processes (job locks keep them apart).
``make run`` runs both inside the web process instead (:mod:`hotline.background`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from typing import Any

import click

from delivery.render import RenderSettings
from delivery.scheduler import Scheduler, run_job
from delivery.worker import Worker, WorkerSettings
from hotline.jobs import default_jobs


def render_settings(config: Mapping[str, Any]) -> RenderSettings:
    return RenderSettings(
        secret_key=str(config["SECRET_KEY"]), public_base_url=str(config["PUBLIC_BASE_URL"])
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _handler(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def register_cli(app: Any) -> None:
    def _database() -> Any:
        return app.extensions["hotline_db"]

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Send what is due now, then exit.")
    @click.option("--threads", default=1, type=int, help="Worker loops in this process.")
    def worker(once: bool, threads: int) -> None:
        """Send outbox messages (status pushes, surveys, staff notices) until stopped."""
        config = dict(app.config)
        workers = [
            Worker(
                _database().session,
                render_settings(config),
                WorkerSettings.from_config(config),
            )
            for _ in range(max(threads, 1))
        ]
        if once:
            click.echo(f"{workers[0].drain()} messages handled")
            return
        stop = _stop_on_signals()
        loops = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
        for loop in loops:
            loop.start()
        click.echo(f"outbox worker running ({len(loops)} loop(s)); Ctrl+C stops it")
        while any(loop.is_alive() for loop in loops):
            stop.wait(1.0)
            if stop.is_set():
                break
        for loop in loops:
            loop.join(timeout=30)

    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="Run the jobs that are due now, then exit.")
    def scheduler(once: bool) -> None:
        """Run the periodic jobs (supervision, survey reminders and auto-close, outbox sweep)."""
        runner = Scheduler(_database().session, default_jobs(app.config))
        if once:
            for name, count in runner.run_due().items():
                click.echo(f"{name}: {count}")
            return
        stop = _stop_on_signals()
        click.echo("scheduler running; Ctrl+C stops it")
        runner.run(stop)

    @app.cli.command("run-job")
    @click.argument("name")
    def run_job_command(name: str) -> None:
        """Run one periodic job now (still under its lock): supervision, survey_callbacks,
        outbox_retries."""
        jobs = {job.name: job for job in default_jobs(app.config)}
        if name not in jobs:
            raise click.BadParameter(f"choose one of {', '.join(sorted(jobs))}", param_hint="NAME")
        count = run_job(_database().session, jobs[name], force=True)
        if count is None:
            click.echo(f"{name} is running elsewhere; not started")
        else:
            click.echo(f"{name}: {count}")
