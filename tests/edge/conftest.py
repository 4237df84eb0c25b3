"""Helpers for the input-policy tests: what every table holds, to prove a refusal wrote nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.db import Base
from hotline import migrate
from hotline.demo import seed_demo
from knowledge.models import Faq
from knowledge.search import forget_indexes


@pytest.fixture
def demo(app: Flask, db) -> Iterator[dict[str, str]]:
    """The demo data `make run` starts with (departments, staff, starter FAQ, demo tickets)."""
    forget_indexes()
    seed_demo(db, app.config)
    db.commit()
    faq = db.scalars(select(Faq).where(Faq.active)).first()
    assert faq is not None
    db.commit()
    yield {"category": faq.category, "faq_id": str(faq.id)}
    forget_indexes()


@pytest.fixture
def row_counts(app: Flask) -> Callable[[], dict[str, int]]:
    """Rows per table, read on a fresh connection (so the test sees what requests committed)."""
    migrate.all_models()
    database = app.extensions["hotline_db"]

    def counts() -> dict[str, int]:
        with database.engine.connect() as conn:
            return {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables
            }

    return counts
