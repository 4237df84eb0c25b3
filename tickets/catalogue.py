"""The dispatch catalogue (派单目录): for each category, the department that leads (主办) and the
departments that may co-handle (协办).

Versioned: each change inserts the category's next version, with who changed it, when and why;
nothing is updated or deleted, so the catalogue as it stood on any day can be read back. The
newest version is in force, and it is also written to the category's usual department
(``Category.department_id``), which the console's suggestion, the routing model's category
weight (``tickets.routing``) and Open311's service group already read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.errors import ValidationError
from core.i18n import N_
from directory.models import Category, Department
from tickets.access import Actor, StaffUser, require
from tickets.models import DispatchCatalogueEntry

MAX_NOTE = 500
MAX_CO_HANDLERS = 10


@dataclass(frozen=True)
class CatalogueLine:
    category: Category
    lead: Department | None
    co_handlers: list[Department]
    version: int  # 0: no recorded version yet (the seed's usual department)


def set_catalogue_entry(
    session: Session,
    category: Category,
    lead: Department,
    co_handlers: Sequence[Department] = (),
    *,
    actor: Actor,
    note: str | None = None,
) -> DispatchCatalogueEntry:
    """Record the category's next version and put it in force (flushes)."""
    require(actor, "manage_dispatch_catalogue")
    errors: dict[str, str] = {}
    if not lead.active:
        errors["lead"] = N_("Choose an active department.")
    co_ids: list[int] = []
    for dept in co_handlers:
        if dept.id == lead.id:
            errors["co_handlers"] = N_("The lead department cannot also co-handle.")
        elif not dept.active:
            errors["co_handlers"] = N_("Choose an active department.")
        elif dept.id not in co_ids:
            co_ids.append(dept.id)
    if len(co_ids) > MAX_CO_HANDLERS:
        errors["co_handlers"] = N_("At most 10 co-handling departments.")
    cleaned = (note or "").strip() or None
    if cleaned and len(cleaned) > MAX_NOTE:
        errors["note"] = N_("At most 500 characters.")
    if errors:
        raise ValidationError(errors)
    current = session.scalar(
        select(func.max(DispatchCatalogueEntry.version)).where(
            DispatchCatalogueEntry.category_id == category.id
        )
    )
    entry = DispatchCatalogueEntry(
        category_id=category.id,
        version=(current or 0) + 1,
        lead_department_id=lead.id,
        co_handler_ids=co_ids,
        note=cleaned,
        changed_by_id=actor.id if isinstance(actor, StaffUser) else None,
        changed_at=clock.now(),
    )
    session.add(entry)
    category.department_id = lead.id
    session.flush()
    return entry


def _newest_versions(session: Session) -> dict[int, DispatchCatalogueEntry]:
    newest = (
        select(
            DispatchCatalogueEntry.category_id,
            func.max(DispatchCatalogueEntry.version).label("version"),
        )
        .group_by(DispatchCatalogueEntry.category_id)
        .subquery()
    )
    rows = session.scalars(
        select(DispatchCatalogueEntry).join(
            newest,
            (newest.c.category_id == DispatchCatalogueEntry.category_id)
            & (newest.c.version == DispatchCatalogueEntry.version),
        )
    )
    return {row.category_id: row for row in rows}


def current_catalogue(session: Session) -> list[CatalogueLine]:
    """Every active category with its lead and co-handlers in force."""
    departments = {d.id: d for d in session.scalars(select(Department))}
    entries = _newest_versions(session)
    lines = []
    for category in session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.id)
    ):
        entry = entries.get(category.id)
        if entry is None:
            lead = departments.get(category.department_id) if category.department_id else None
            lines.append(CatalogueLine(category, lead, [], 0))
        else:
            lines.append(
                CatalogueLine(
                    category,
                    departments[entry.lead_department_id],
                    [departments[i] for i in entry.co_handler_ids if i in departments],
                    entry.version,
                )
            )
    return lines


def catalogue_history(session: Session, category: Category) -> list[DispatchCatalogueEntry]:
    """The category's recorded versions, newest first."""
    return list(
        session.scalars(
            select(DispatchCatalogueEntry)
            .where(DispatchCatalogueEntry.category_id == category.id)
            .order_by(DispatchCatalogueEntry.version.desc())
        )
    )


def may_co_handle(session: Session, category: Category | None, department: Department) -> bool:
    """Whether the catalogue in force lists the department as a co-handler of the category."""
    if category is None:
        return False
    entry = _newest_versions(session).get(category.id)
    return entry is not None and department.id in entry.co_handler_ids


def catalogue_changes(session: Session, *, limit: int = 200) -> list[DispatchCatalogueEntry]:
    """Every category's recorded versions, newest change first (the catalogue's history)."""
    return list(
        session.scalars(
            select(DispatchCatalogueEntry)
            .order_by(DispatchCatalogueEntry.changed_at.desc(), DispatchCatalogueEntry.id.desc())
            .limit(limit)
        )
    )
