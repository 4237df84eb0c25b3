"""Citizen pages: home, submit, track, survey, FAQ."""

from portal.citizen import views  # noqa: F401  (routes attach to bp)
from portal.citizen.blueprint import bp

__all__ = ["bp"]
