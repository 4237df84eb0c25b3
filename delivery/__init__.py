"""Delivery: the outbox every message to a citizen or to staff goes through, and its worker."""
