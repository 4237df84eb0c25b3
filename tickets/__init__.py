"""Ticket domain: workflow, deadlines, supervision, access rules."""
