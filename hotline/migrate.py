"""Alembic, driven from code so that ``flask --app app db upgrade`` and the tests share it."""

from __future__ import annotations

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


def all_models() -> None:
    """Every package's models, so that ``Base.metadata`` is complete (the imports do it; a
    missing module is an error, never a silently smaller schema)."""
    import analysis.models  # noqa: F401
    import bot.engine.models  # noqa: F401
    import calls.models  # noqa: F401
    import delivery.models  # noqa: F401
    import directory.api_keys  # noqa: F401
    import directory.models  # noqa: F401
    import knowledge.models  # noqa: F401
    import open311.models  # noqa: F401
    import tickets.console_models  # noqa: F401
    import tickets.models  # noqa: F401
