"""Entry point for ``flask --app app``: Flask finds and calls the factory."""

from hotline.factory import create_app

__all__ = ["create_app"]
