"""The periodic jobs the scheduler runs, wired here in the composition root from the domains'
functions (names are what ``flask --app app run-job`` takes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from delivery.outbox import dead_letter_stuck_messages
from delivery.scheduler import Job
from delivery.worker import WorkerSettings
from knowledge.embeddings import refresh_embeddings
from knowledge.refit import refit_after_large_edit
from knowledge.usage import flush_pending_usage
from tickets.access import SYSTEM
from tickets.calendar import local_today
from tickets.callbacks import close_unanswered_surveys, send_survey_reminders
from tickets.media import fetch_pending_media
from tickets.notify import notify_supervision_changes
from tickets.quality import sample_week, week_start_of
from tickets.routing import train_if_changed
from tickets.supervision import refresh_supervision


def refresh_supervision_job(session: Session) -> int:
    """监察状态 refresh (set-based), then one notice per change to yellow or red."""

    refresh_supervision(session)
    return notify_supervision_changes(session)


def survey_callbacks_job(session: Session) -> int:
    """Close surveys unanswered for 3 working days, remind those unanswered for 1."""

    return close_unanswered_surveys(session) + send_survey_reminders(session)


def quality_sample_job(session: Session) -> int:
    """工单质检: once a week is over, draw its sample of each department's closed tickets
    (safe to run again: departments already sampled for that week are skipped)."""

    last_week = week_start_of(local_today(session)) - dt.timedelta(days=7)
    return len(sample_week(session, last_week, actor=SYSTEM))


def knowledge_refit_job(session: Session) -> int:
    """The answer thresholds refitted on the knowledge base after a large edit (an import refits
    at once; ``knowledge.refit``), and the FAQs added or edited since embedded for the semantic
    did-you-mean (``knowledge.semantic``; nothing to do without the model)."""

    refitted = refit_after_large_edit(session, actor=SYSTEM)
    return refitted + refresh_embeddings(session).embedded


def default_jobs(config: Mapping[str, Any]) -> list[Job]:
    settings = WorkerSettings.from_config(config)

    def outbox_retries_job(session: Session) -> int:
        """Retries themselves are due rows the worker picks up; this turns messages whose every
        attempt died with the worker into visible dead letters."""
        return dead_letter_stuck_messages(session, max_attempts=settings.max_attempts)

    upload_dir = str(config.get("UPLOAD_DIR") or "instance/uploads")
    media_batch = int(config.get("MEDIA_BATCH_SIZE", 10))

    def ticket_media_job(session: Session) -> int:
        """Pictures sent by reference (a WeChat MediaId): fetch a batch through the channel's
        fetcher into the ticket's attachments, outside any request (``tickets.media``)."""
        return fetch_pending_media(session, upload_dir=upload_dir, batch_size=media_batch)

    return [
        Job(
            "supervision",
            float(config.get("SUPERVISION_INTERVAL_SECONDS", 600)),
            refresh_supervision_job,
        ),
        Job(
            "survey_callbacks",
            float(config.get("SURVEY_INTERVAL_SECONDS", 600)),
            survey_callbacks_job,
        ),
        Job(
            "quality_sample",
            float(config.get("QUALITY_SAMPLE_INTERVAL_SECONDS", 3600)),
            quality_sample_job,
        ),
        Job(
            "outbox_retries",
            float(config.get("OUTBOX_SWEEP_INTERVAL_SECONDS", 60)),
            outbox_retries_job,
        ),
        Job(
            "ticket_media",
            float(config.get("MEDIA_INTERVAL_SECONDS", 30)),
            ticket_media_job,
        ),
        # The routing suggestion's model, retrained when tickets closed since the last one
        # (tickets.routing: stored in the database, every process loads the newest).
        Job(
            "routing_model",
            float(config.get("ROUTING_TRAIN_INTERVAL_SECONDS", 1800)),
            train_if_changed,
            lease_seconds=3600.0,  # a large history takes minutes to learn
        ),
        # The FAQ hit counts and gap-log sightings searches in this process kept in memory
        # (knowledge.usage); each web process also flushes its own with a flusher thread.
        Job(
            "knowledge_usage",
            float(config.get("KNOWLEDGE_USAGE_FLUSH_SECONDS", 5)),
            flush_pending_usage,
        ),
        Job(
            "knowledge_refit",
            float(config.get("KNOWLEDGE_REFIT_INTERVAL_SECONDS", 3600)),
            knowledge_refit_job,
        ),
    ]
