"""The citizen's web chat page (/chat); its JSON endpoints live in portal/api/chat.py."""

from portal.webchat import views  # noqa: F401  (routes attach to bp)
from portal.webchat.blueprint import bp

__all__ = ["bp"]
