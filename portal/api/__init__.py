"""The JSON API under /api/v1. Each feature keeps its routes in its own module."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from portal.api import chat, faq, tickets  # noqa: E402,F401  (routes attach to bp)
