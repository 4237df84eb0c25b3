"""The worker and the scheduler inside the web process, for ``make run`` (one machine).

``create_app`` calls :func:`start_in_process` when ``RUN_WORKER`` is true. Both run as daemon
threads with their own database sessions and stop at interpreter exit. In production run
``flask --app app worker`` and ``flask --app app scheduler`` as their own processes instead.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from delivery.scheduler import Scheduler
from delivery.worker import Worker, WorkerSettings
from hotline.jobs import default_jobs
from hotline.worker_cli import render_settings

log = logging.getLogger(__name__)

_started: dict[int, tuple[threading.Event, list[threading.Thread]]] = {}


def start_in_process(app: Any) -> threading.Event:
    """Start one worker loop and one scheduler for ``app``; return the event that stops them."""
    if id(app) in _started:
        return _started[id(app)][0]
    database = app.extensions["hotline_db"]
    config = dict(app.config)
    stop = threading.Event()
    worker = Worker(database.session, render_settings(config), WorkerSettings.from_config(config))
    scheduler = Scheduler(database.session, default_jobs(config))
    threads = [
        threading.Thread(target=worker.run, args=(stop,), name="outbox-worker", daemon=True),
        threading.Thread(target=scheduler.run, args=(stop,), name="scheduler", daemon=True),
    ]
    for thread in threads:
        thread.start()
    _started[id(app)] = (stop, threads)

    def _stop() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    atexit.register(_stop)
    log.info("worker and scheduler running in-process")
    return stop


def stop_in_process(app: Any) -> None:
    entry = _started.pop(id(app), None)
    if entry is None:
        return
    stop, threads = entry
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
