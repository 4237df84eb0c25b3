"""The composition root of the 12345 hotline: ``create_app``, the CLI, the background jobs and
the demo data. Nothing else of ours imports it (``app.py`` and the command line do)."""
