"""The ``citizen`` blueprint, apart from the package so that its route modules import it without
importing the package that imports them."""

from flask import Blueprint

bp = Blueprint("citizen", __name__, template_folder="templates")
