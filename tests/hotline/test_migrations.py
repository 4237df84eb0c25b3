"""Migrations build the whole schema on an empty database and cover every model."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from hotline import migrate


@pytest.fixture
def empty_database_url(tmp_path, dialect, database_url):
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"hl_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield database_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_an_empty_database_and_autogenerate_finds_nothing(empty_database_url) -> None:
    migrate.upgrade(empty_database_url)
    migrate.upgrade(empty_database_url)  # twice is harmless
    migrate.check(empty_database_url)  # raises if a model change has no migration
    engine = create_engine(empty_database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"tickets", "ticket_events", "departments", "staff_users", "outbox_messages"} <= tables


def test_downgrade_to_base_and_up_again(empty_database_url) -> None:
    migrate.upgrade(empty_database_url)
    command.downgrade(migrate.alembic_config(empty_database_url), "base")
    migrate.upgrade(empty_database_url)
