from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from directory.models import Department
from knowledge import operations
from knowledge.models import Faq
from knowledge.search import forget_indexes
from knowledge.usage import flush_pending_usage, forget_pending_usage, stop_background_flushers
from tickets.access import SYSTEM


@pytest.fixture(autouse=True)
def _fresh_index() -> Iterator[None]:
    # Every test starts from empty tables; the process-wide index must not outlive them.
    forget_indexes()
    forget_pending_usage()
    yield
    stop_background_flushers()
    forget_indexes()
    forget_pending_usage()


def flush(db: Session) -> int:
    """Write the searches' pending counts and gap log (what the flusher thread does), commit."""
    count = flush_pending_usage(db)
    db.commit()
    return count


@pytest.fixture
def faqs(db: Session, departments: dict[str, Department]) -> dict[str, Faq]:
    made = {
        "licence": operations.create_faq(
            db,
            question="驾驶证到期了怎么换证？",
            answer="可通过交管12123 App申请期满换证。",
            category="交通违法与驾驶证",
            department="市公安局交通警察支队",
            alternatives=["驾照过期怎么换新的", "驾驶证有效期满换证需要体检吗"],
            keywords=["驾驶证", "换证", "到期"],
            actor=SYSTEM,
        ),
        "fund": operations.create_faq(
            db,
            question="公积金怎么提取？",
            answer="购房、租房、退休等情形可申请提取住房公积金。",
            category="住房公积金",
            department="gongjijin",
            alternatives=["住房公积金提取条件有哪些", "什么情况下可以取公积金"],
            keywords=["公积金", "提取"],
            actor=SYSTEM,
        ),
        "passport": operations.create_faq(
            db,
            question="普通护照怎么办理？",
            answer="携带身份证到出入境接待大厅申请。",
            category="出入境证件",
            department="出入境",
            alternatives=["第一次办护照需要什么", "出国要办护照去哪里"],
            keywords=["护照"],
            actor=SYSTEM,
        ),
    }
    operations.add_synonym(db, "驾照", "驾驶证", actor=SYSTEM)
    db.commit()
    return made
