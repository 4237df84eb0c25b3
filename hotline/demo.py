"""The demo data ``make run`` starts with: the ticket domain's reference data, demo staff and
tickets, and the knowledge base's starter FAQs. Composed here, above both domains, so that neither
imports the other for it. Every step is safe to run twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.models import StaffUser
from knowledge.seed import seed_starter_knowledge
from tickets.seed import seed_demo_staff, seed_demo_tickets, seed_reference_data


def seed_demo(session: Session, config: Mapping[str, Any]) -> list[str]:
    lines = seed_reference_data(session)
    lines += seed_demo_staff(session)
    lines += seed_starter_knowledge(session)
    lines += seed_demo_tickets(session, str(config.get("TIMEZONE", "Asia/Shanghai")))
    lines += seed_demo_agent_codes(session)
    return lines


# The demo operator answers the switchboard as agent 8001, one of the agents of the 综合 queue
# that ``flask cti simulate`` uses: a simulated call answered by 8001 pops their 来电登记 screen.
DEMO_AGENT_CODES = {"operator": "8001"}


def seed_demo_agent_codes(session: Session) -> list[str]:
    lines = []
    for username, code in DEMO_AGENT_CODES.items():
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        taken = session.scalar(select(StaffUser.id).where(StaffUser.agent_code == code))
        if user is not None and user.agent_code is None and taken is None:
            user.agent_code = code
            lines.append(f"switchboard agent {code} is {username}")
    session.flush()
    return lines
