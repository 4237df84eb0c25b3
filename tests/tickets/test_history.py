"""Ticket history import (tickets.history and ``flask --app app tickets import-history``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import PermissionDenied
from directory.models import Department, StaffUser
from tickets import queries
from tickets.access import SYSTEM
from tickets.history import import_history
from tickets.models import CloseReason, Stage, Ticket, TicketEvent

HEADER = "title,description,category,department,created_at,kind,address,reply,external_id\n"
GOOD = (
    HEADER
    + "路灯不亮,小区门口路灯坏了一周,,chengguan,2024-05-01 09:30,投诉,香洲区吉大路1号,已修复,A-1\n"
    + "社保转移,社保关系怎么从外地转过来,社会保险,人力资源和社会保障局,2024-05-02,consultation,,,A-2\n"
    + "噪音扰民,工地夜间施工噪音很大,environment,市生态环境局,2024-05-03T22:10,,,,\n"
)


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Ticket)) or 0)


def test_a_good_file_is_imported_as_closed_history(
    db: Session, departments: dict[str, Department]
) -> None:
    report = import_history(db, GOOD, actor=SYSTEM)
    db.commit()
    assert report.ok and len(report.created) == 3 and report.skipped == 0
    tickets = {t.title: t for t in db.scalars(select(Ticket))}
    lamp = tickets["路灯不亮"]
    assert lamp.stage == Stage.CLOSED and lamp.close_reason == CloseReason.HISTORY
    assert lamp.channel == "history" and lamp.kind == "complaint"
    assert lamp.department_id == departments["chengguan"].id
    assert lamp.reply == "已修复" and lamp.address == "香洲区吉大路1号"
    # Local 09:30 on 1 May 2024 in Shanghai is 01:30 UTC; the number carries the local date.
    assert lamp.created_at.isoformat() == "2024-05-01T01:30:00+00:00"
    assert lamp.number.startswith("240501")
    social = tickets["社保转移"]
    assert social.department_id == departments["rensha"].id  # without 市
    assert social.category is not None and social.category.code == "social_security"  # by name
    assert social.kind == "consultation"
    noise = tickets["噪音扰民"]
    assert noise.department_id == departments["shengtai"].id  # the full name
    assert noise.idempotency_key is None
    events = list(db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == lamp.id)))
    assert [(e.action, e.public, e.actor_type) for e in events] == [
        ("imported_history", False, "system")
    ]
    # Searchable like any ticket, and told apart in the figures by its close reason.
    page = queries.list_all_tickets(db, filters=queries.TicketFilters(keyword="路灯"))
    assert [t.number for t in page.items] == [lamp.number]
    history = db.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.close_reason == CloseReason.HISTORY.value)
    )
    assert history == 3


def test_importing_again_skips_rows_with_an_external_id(
    db: Session, departments: dict[str, Department]
) -> None:
    import_history(db, GOOD, actor=SYSTEM)
    db.commit()
    again = import_history(db, GOOD, actor=SYSTEM)
    db.commit()
    # are known; the row without an external_id cannot be recognised: imported twice.
    assert again.skipped == 2 and len(again.created) == 1
    assert _count(db) == 4


def test_every_bad_line_is_reported_and_nothing_is_written(
    db: Session, departments: dict[str, Department]
) -> None:
    text = (
        HEADER
        + "好的一行,描述,,chengguan,2024-05-01,,,,B-1\n"
        + ",没有标题,,chengguan,2024-05-01,,,,B-2\n"
        + "部门不对,描述,,火星局,2024-05-01,,,,B-3\n"
        + "日期不对,描述,,chengguan,去年五月,,,,B-4\n"
        + "未来,描述,,chengguan,2099-01-01,,,,B-5\n"
        + "类别与类型,描述,no_such_category,chengguan,2024-05-01,抱怨,,,B-1\n"
    )
    report = import_history(db, text, actor=SYSTEM)
    assert not report.ok and report.created == []
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "title"),
        (4, "department"),
        (5, "created_at"),
        (6, "created_at"),
        (7, "category"),
        (7, "kind"),
        (7, "external_id"),
    ]
    assert "火星局" in report.errors[1].reason and "line 2" in report.errors[-1].reason
    db.commit()
    assert _count(db) == 0


def test_a_missing_or_unknown_column_is_reported(
    db: Session, departments: dict[str, Department]
) -> None:
    report = import_history(db, "title,description,department,created_at,colour\n", actor=SYSTEM)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (1, "category", "missing column"),
        (1, "colour", "unknown column"),
    ]


def test_only_an_admin_or_the_system_imports(db: Session, staff: dict[str, StaffUser]) -> None:
    with pytest.raises(PermissionDenied):
        import_history(db, GOOD, actor=staff["operator"])
    assert import_history(db, GOOD, actor=staff["admin"]).ok


def test_the_command_imports_or_lists_the_errors(
    runner: Any, db: Session, departments: dict[str, Department], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "标题,描述,,火星局,2024-05-01,,,,\n" + GOOD.split("\n", 1)[1])
    result = runner.invoke(args=["tickets", "import-history", str(bad)])
    assert result.exit_code == 1
    assert "line 2, department: unknown department '火星局'" in result.output
    assert "nothing imported" in result.output
    assert _count(db) == 0
    good = tmp_path / "good.csv"
    good.write_text("\ufeff" + GOOD, encoding="utf-8")
    result = runner.invoke(args=["tickets", "import-history", str(good)])
    assert result.exit_code == 0, result.output
    assert "3 tickets imported, 0 already imported" in result.output
    db.rollback()  # end the read transaction of the first count
    assert _count(db) == 3
