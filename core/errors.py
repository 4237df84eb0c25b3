"""Domain errors carry a translatable message; adapters render them as a 4xx page, JSON or a chat reply."""

from __future__ import annotations

from typing import Any

from core.i18n import N_, translate


class DomainError(Exception):
    """A request the domain refuses. Nothing was changed. ``http_status`` guides web adapters."""

    http_status = 400

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def translated(self, locale: str | None = None) -> str:
        return translate(self.message, locale, **self.params)

    def __str__(self) -> str:
        return self.translated("en")


class NotFound(DomainError):
    http_status = 404


class PermissionDenied(DomainError):
    http_status = 403


class Conflict(DomainError):
    http_status = 409


class ValidationError(DomainError):
    """Bad input; ``fields`` maps a field name to its (translatable) message."""

    http_status = 422

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(N_("Please correct the marked fields."))
        self.fields = fields
