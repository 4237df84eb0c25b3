"""The citizen's web chat page; the conversation itself goes through /api/v1/chat (portal/api/chat.py)."""

from __future__ import annotations

from flask import render_template

from portal.webchat.blueprint import bp


@bp.get("/")
def page() -> str:
    return render_template("webchat/chat.html")
