"""``flask --app app open311 keys create NAME [--rate-limit "60 per minute"]``, ``keys list``,
``keys revoke ID``: the API keys other systems and apps post Open311 requests with."""

from __future__ import annotations

import click
from flask import Flask

from core.errors import DomainError
from core.web import database
from directory.access import SYSTEM
from directory.api_keys import create_api_key, list_api_keys, revoke_api_key_ref


def _describe(error: DomainError) -> str:
    fields = getattr(error, "fields", None)
    if fields:
        return "; ".join(f"{name}: {message}" for name, message in fields.items())
    return str(error)


def register_cli(app: Flask) -> None:
    @app.cli.group("open311")
    def open311_group() -> None:
        """Open311 GeoReport v2 (/open311/v2/): API keys."""

    @open311_group.group("keys")
    def keys_group() -> None:
        """API keys (POST requests needs one; each has its own rate limit)."""

    @keys_group.command("create")
    @click.argument("name")
    @click.option("--rate-limit", default="", help='e.g. "120 per minute" (default: configured).')
    def keys_create(name: str, rate_limit: str) -> None:
        """Create a key for the system or app NAME and print it once."""
        with database(app).session() as session:
            try:
                new = create_api_key(session, name, rate_limit=rate_limit, actor=SYSTEM)
            except DomainError as error:
                raise click.ClickException(_describe(error)) from None
            session.commit()
            click.echo(f"key {new.row.id} for {new.row.name}: {new.key}")
            click.echo("The key is shown only now; the hotline keeps only its hash.")

    @keys_group.command("list")
    def keys_list() -> None:
        """Every key: number, prefix, name, rate limit, created, last used, state."""
        default = app.config.get("OPEN311_RATELIMIT_KEY")
        with database(app).session() as session:
            for key in list_api_keys(session):
                state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                click.echo(
                    f"{key.id}\t{key.prefix}…\t{key.name}\t{key.rate_limit or default}\t"
                    f"created {key.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t{state}"
                )

    @keys_group.command("revoke")
    @click.argument("key")
    def keys_revoke(key: str) -> None:
        """Revoke KEY (its number in `open311 keys list`, or its prefix)."""
        with database(app).session() as session:
            try:
                revoked = revoke_api_key_ref(session, key, actor=SYSTEM)
            except DomainError as error:
                raise click.ClickException(_describe(error)) from None
            session.commit()
            click.echo(f"revoked key {revoked.id} ({revoked.name})")
