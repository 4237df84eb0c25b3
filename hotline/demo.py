"""The demo data ``make run`` starts with: the ticket domain's reference data, demo staff and
tickets, and the knowledge base's starter FAQs. Composed here, above both domains, so that neither
imports the other for it. Every step is safe to run twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from knowledge.seed import seed_starter_knowledge
from tickets.seed import seed_demo_staff, seed_demo_tickets, seed_reference_data


def seed_demo(session: Session, config: Mapping[str, Any]) -> list[str]:
    lines = seed_reference_data(session)
    lines += seed_demo_staff(session)
    lines += seed_starter_knowledge(session)
    lines += seed_demo_tickets(session, str(config.get("TIMEZONE", "Asia/Shanghai")))
    return lines
