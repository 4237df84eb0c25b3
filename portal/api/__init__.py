"""The JSON API under /api/v1. Each feature keeps its routes in its own module."""

from portal.api import chat, cti, faq, openapi, tickets  # noqa: F401  (routes attach to bp)
from portal.api.blueprint import bp

__all__ = ["bp"]
