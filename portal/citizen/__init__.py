"""Citizen pages: home, submit, track, survey, FAQ."""

from flask import Blueprint

bp = Blueprint("citizen", __name__, template_folder="templates")

from portal.citizen import views  # noqa: E402,F401  (routes attach to bp)
