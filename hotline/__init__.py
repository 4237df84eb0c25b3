"""Shared infrastructure of the 12345 hotline: configuration, database, clock, i18n, errors."""
