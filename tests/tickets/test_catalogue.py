"""The dispatch catalogue (派单目录): versioned lead and co-handling departments per category."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import PermissionDenied, ValidationError
from directory.models import Category, Department, StaffUser
from tickets import catalogue, routing
from tickets.models import DispatchCatalogueEntry


def _category(db: Session, code: str) -> Category:
    found = db.scalar(select(Category).where(Category.code == code))
    assert found is not None
    return found


def test_each_change_is_a_new_version_and_the_newest_is_in_force(
    db: Session, departments: dict[str, Department], staff: dict[str, StaffUser]
) -> None:
    housing = _category(db, "housing")
    before = {line.category.code: line for line in catalogue.current_catalogue(db)}
    assert before["housing"].version == 0 and before["housing"].lead == departments["zhujian"]
    first = catalogue.set_catalogue_entry(
        db,
        housing,
        departments["zhujian"],
        [departments["chengguan"], departments["chengguan"]],
        actor=staff["admin"],
        note="物业与违建分工",
    )
    with clock.frozen(clock.now() + dt.timedelta(hours=1)):
        second = catalogue.set_catalogue_entry(
            db, housing, departments["chengguan"], [departments["zhujian"]], actor=staff["admin"]
        )
    db.commit()
    assert (first.version, second.version) == (1, 2)
    assert first.co_handler_ids == [departments["chengguan"].id]  # repeated once
    line = {ln.category.code: ln for ln in catalogue.current_catalogue(db)}["housing"]
    assert (line.lead, line.co_handlers, line.version) == (
        departments["chengguan"],
        [departments["zhujian"]],
        2,
    )
    history = catalogue.catalogue_history(db, housing)
    assert [(e.version, e.changed_by_id, e.note) for e in history] == [
        (2, staff["admin"].id, None),
        (1, staff["admin"].id, "物业与违建分工"),
    ]
    assert history[0].changed_at > history[1].changed_at
    # The lead in force is the category's usual department: the suggestion follows it.
    assert housing.department_id == departments["chengguan"].id
    assert routing.category_department(db, "housing") == "chengguan"
    assert catalogue.may_co_handle(db, housing, departments["zhujian"])
    assert not catalogue.may_co_handle(db, housing, departments["shengtai"])
    assert not catalogue.may_co_handle(db, _category(db, "traffic"), departments["zhujian"])


def test_bad_entries_are_refused_and_change_nothing(
    db: Session, departments: dict[str, Department], staff: dict[str, StaffUser]
) -> None:
    housing = _category(db, "housing")
    with pytest.raises(ValidationError) as lead_twice:
        catalogue.set_catalogue_entry(
            db, housing, departments["zhujian"], [departments["zhujian"]], actor=staff["admin"]
        )
    assert set(lead_twice.value.fields) == {"co_handlers"}
    departments["shengtai"].active = False
    with pytest.raises(ValidationError) as inactive:
        catalogue.set_catalogue_entry(db, housing, departments["shengtai"], actor=staff["admin"])
    assert set(inactive.value.fields) == {"lead"}
    with pytest.raises(ValidationError):
        catalogue.set_catalogue_entry(
            db, housing, departments["zhujian"], actor=staff["admin"], note="长" * 501
        )
    for role in ("operator", "reviewer", "supervisor", "dept"):
        with pytest.raises(PermissionDenied):
            catalogue.set_catalogue_entry(db, housing, departments["zhujian"], actor=staff[role])
    db.rollback()
    assert db.scalars(select(DispatchCatalogueEntry)).all() == []
    assert _category(db, "housing").department_id == departments["zhujian"].id


def test_the_catalogue_commands(
    runner: Any, db: Session, departments: dict[str, Department]
) -> None:
    result = runner.invoke(
        args=["tickets", "catalogue", "set", "housing", "zhujian", "--co", "chengguan"]
    )
    assert result.exit_code == 0, result.output
    assert "housing: version 1" in result.output
    shown = runner.invoke(args=["tickets", "catalogue", "show"])
    assert "housing\tlead=zhujian\tco=chengguan\tv1" in shown.output
    assert "traffic\tlead=jiaojing\tco=-\tv0" in shown.output
    bad = runner.invoke(args=["tickets", "catalogue", "set", "housing", "nowhere"])
    assert bad.exit_code != 0 and "no department nowhere" in bad.output
    same = runner.invoke(
        args=["tickets", "catalogue", "set", "housing", "zhujian", "--co", "zhujian"]
    )
    assert same.exit_code != 0
    db.rollback()  # a fresh read after the commands' commits
    entries = db.scalars(select(DispatchCatalogueEntry)).all()
    assert [(e.version, e.changed_by_id) for e in entries] == [(1, None)]  # by the system
