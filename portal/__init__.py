"""The web adapter: citizen pages, the staff console and the JSON API (one Blueprint each)."""
