"""The citizen's web chat page (/chat); its JSON endpoints live in portal/api/chat.py."""

from flask import Blueprint

bp = Blueprint("webchat", __name__, template_folder="templates")

from portal.webchat import views  # noqa: E402,F401  (routes attach to bp)
