"""Alembic, driven from code so that ``flask --app app db upgrade`` and the tests share it."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models have changes no migration covers."""
    command.check(alembic_config(database_url))


FEATURE_MODEL_MODULES = (
    "tickets.models",
    "delivery.models",
    "knowledge.models",
    "bot.engine.models",
    "portal.staff.models",
    "tickets.console_models",
)


def all_models() -> None:
    """Import every package's models so that ``Base.metadata`` is complete."""
    for name in FEATURE_MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a real import error inside an existing module
                raise
