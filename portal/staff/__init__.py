"""The staff console under /staff: one gate for the whole area (portal/staff/auth.py)."""

from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")

from portal.staff import auth, chat, inbox, outbox, views  # noqa: E402,F401  (routes attach to bp)
