"""The routing suggestion learned from past dispatches (tickets.routing, ``routing suggest``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from directory.models import Department
from tickets import queries, routing
from tickets.access import SYSTEM
from tickets.history import import_history
from tickets.models import RoutingModelRecord, Ticket

# A hand-made history: four departments, six past tickets each, in the words citizens use.
PAST = {
    "chengguan": [
        ("垃圾无人清运", "小区门口垃圾桶满了好几天没人清运，臭气熏天"),
        ("占道经营", "路边小贩占道经营摆摊，行人无法通行"),
        ("违章搭建", "楼顶有人违章搭建铁皮房"),
        ("垃圾乱倒", "有人在绿化带里乱倒建筑垃圾"),
        ("夜市摊贩", "夜市摊贩占用人行道，垃圾满地"),
        ("违建举报", "邻居在院子里违建，城管请来查处"),
    ],
    "jiaojing": [
        ("乱停车", "小区门口车辆乱停乱放堵住消防通道"),
        ("红绿灯故障", "路口红绿灯坏了，交通很乱"),
        ("违章停车", "人行道上长期违章停车"),
        ("驾驶证", "驾驶证到期了怎么换证"),
        ("电动车闯红灯", "很多电动车闯红灯，很危险"),
        ("交通拥堵", "上下班高峰路口交通拥堵严重需要交警疏导"),
    ],
    "shengtai": [
        ("工厂排污", "工厂往河里排放污水，河水发黑"),
        ("废气污染", "化工厂晚上偷排废气，气味刺鼻"),
        ("噪音污染", "工厂机器噪音很大，影响休息"),
        ("河道污染", "河道里漂着油污，鱼都死了"),
        ("烟囱冒黑烟", "附近工厂烟囱冒黑烟，空气污染"),
        ("偷排污水", "养殖场偷排污水到水库"),
    ],
    "shichang": [
        ("食品过期", "超市卖过期食品，要求退货赔偿"),
        ("商家欺诈", "买的手机是翻新机，商家拒绝退款"),
        ("价格欺诈", "商店标价和结账价格不一样"),
        ("餐馆卫生", "餐馆后厨卫生很差，吃了拉肚子"),
        ("预付卡跑路", "健身房办了预付卡后老板跑路了"),
        ("假冒商品", "网店卖假冒名牌商品"),
    ],
}

PROBES = [
    ("chengguan", "楼下垃圾桶满了，没人清运"),
    ("chengguan", "有人占道摆摊经营"),
    ("jiaojing", "车辆乱停堵住了消防通道"),
    ("jiaojing", "路口的红绿灯不亮了"),
    ("shengtai", "工厂排放污水到河里"),
    ("shengtai", "化工厂排废气很臭"),
    ("shichang", "超市卖过期食品"),
    ("shichang", "商家卖假货不退款"),
]


def _history_csv(past: dict[str, list[tuple[str, str]]] = PAST) -> str:
    lines = ["title,description,category,department,created_at,external_id"]
    n = 0
    for dept, items in past.items():
        for title, description in items:
            n += 1
            day = clock.today("Asia/Shanghai") - dt.timedelta(days=60 - n)  # the past, in order
            lines.append(f"{title},{description},,{dept},{day.isoformat()} 10:00,H-{n}")
    return "\n".join(lines) + "\n"


def _train(db: Session) -> RoutingModelRecord:
    assert import_history(db, _history_csv(), actor=SYSTEM).ok
    record = routing.train_model(db)
    db.commit()
    assert record is not None
    return record


def test_a_model_trained_on_past_dispatches_ranks_the_right_department_first(
    db: Session, departments: dict[str, Department]
) -> None:
    record = _train(db)
    assert (record.examples, record.departments) == (24, 4)
    for expected, text in PROBES:
        ranked = routing.suggest(db, None, text)
        assert ranked[0].code == expected, (text, ranked)
        assert len(ranked) == 3 and ranked[0].score > ranked[1].score >= ranked[2].score
        # The reason: similar past tickets of that department, by number.
        past = set(
            db.scalars(
                select(Ticket.number).where(Ticket.department_id == departments[expected].id)
            )
        )
        assert ranked[0].similar and set(ranked[0].similar) <= past
        assert len(ranked[0].similar) <= 3


def test_the_category_weighs_in_but_does_not_overrule_clear_words(
    db: Session, departments: dict[str, Department]
) -> None:
    _train(db)
    # Ambiguous words: the chosen category's department comes first.
    vague = routing.suggest(db, None, "我要反映一个问题", category_code="traffic")
    assert vague[0].code == "jiaojing"
    # Words the history knows well still come first under a category that does not fit.
    clear = routing.suggest(db, None, "工厂往河里排放污水，河水发黑", category_code="traffic")
    assert clear[0].code == "shengtai"
    assert "jiaojing" in [r.code for r in clear]


def test_without_a_model_the_category_department_is_the_suggestion(
    db: Session, departments: dict[str, Department]
) -> None:
    assert routing.current_model(db) is None
    ranked = routing.suggest(db, "垃圾", "小区垃圾没人清运", category_code="traffic")
    assert [(r.code, r.score, r.similar) for r in ranked] == [("jiaojing", 1.0, [])]
    assert routing.suggest(db, "垃圾", "小区垃圾没人清运") == []
    # One department of history is nothing to tell apart: still no model.
    assert import_history(db, _history_csv({"chengguan": PAST["chengguan"]}), actor=SYSTEM).ok
    assert routing.train_if_changed(db) == 0
    assert routing.current_model(db) is None


def test_the_job_retrains_as_tickets_close(
    db: Session, departments: dict[str, Department], make_ticket: Callable[..., Ticket]
) -> None:
    assert routing.train_if_changed(db) == 0  # nothing closed yet
    assert import_history(db, _history_csv(), actor=SYSTEM).ok
    assert routing.train_if_changed(db) == 24
    db.commit()
    first = routing.current_model(db)
    assert first is not None and first.examples == 24
    assert routing.train_if_changed(db) == 0  # nothing new
    assert routing.current_model(db) is first  # loaded once
    # Open tickets teach nothing; a ticket that closes does.
    make_ticket("handling")
    assert routing.train_if_changed(db) == 0
    closed = make_ticket("closed")
    db.rollback()
    assert routing.train_if_changed(db) == 25
    db.commit()
    second = routing.current_model(db)
    assert second is not None and second is not first and second.examples == 25
    assert closed.number in second.exemplar_numbers
    # Old models are pruned.
    for _ in range(routing.MODELS_KEPT + 1):
        routing.train_model(db)
    db.commit()
    kept = db.scalar(select(func.count()).select_from(RoutingModelRecord))
    assert kept == routing.MODELS_KEPT


def test_the_console_suggestion_names_similar_past_tickets(
    db: Session, departments: dict[str, Department]
) -> None:
    _train(db)
    probe = Ticket(title="占道经营", description="路边有人占道摆摊经营", address=None)
    suggestions = queries.dispatch_suggestions(db, probe, similar=[], faq_hits=[])
    assert suggestions[0].department_id == departments["chengguan"].id
    assert queries.REASON_MODEL in suggestions[0].reasons
    assert 1 <= len(suggestions[0].similar_numbers) <= 3


def test_the_suggest_command_prints_one_ranking_per_line(
    runner: Any, db: Session, departments: dict[str, Department]
) -> None:
    _train(db)
    lines = [
        {"title": "过期食品", "description": "超市卖过期食品"},
        {"title": "", "description": "路口红绿灯坏了"},
        {"title": "反映问题", "description": "我要反映一个问题", "category": "traffic"},
    ]
    result = runner.invoke(
        args=["routing", "suggest"],
        input="\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n",
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 3
    for item in out:
        assert list(item) == ["departments"]
        assert item["departments"] and all(set(d) == {"code", "score"} for d in item["departments"])
        scores = [d["score"] for d in item["departments"]]
        assert scores == sorted(scores, reverse=True)
        assert all(
            isinstance(d["code"], str) and 0.0 <= d["score"] <= 1.0 for d in item["departments"]
        )
    assert [item["departments"][0]["code"] for item in out] == ["shichang", "jiaojing", "jiaojing"]
    bad = runner.invoke(args=["routing", "suggest"], input="not json\n")
    assert bad.exit_code != 0 and "not JSON" in bad.output


def test_the_fast_path_answers_as_scikit_learn_does(
    db: Session, departments: dict[str, Department]
) -> None:
    """The model answers without sklearn's per-call overhead; the numbers must be the same, also
    after a round trip through the stored bytes."""
    import numpy as np

    _train(db)
    model = routing.current_model(db)
    assert model is not None
    again = routing.RoutingModel.from_bytes(model.to_bytes())
    for _, text in PROBES + [("", "完全陌生的句子 xyz"), ("", "")]:
        expected = model.features.transform([routing.normalize(text)]).toarray()
        for m in (model, again):
            assert np.allclose(m.vectorize(text).toarray(), expected, atol=1e-6)
            ours = list(m.probabilities(m.vectorize(text)).values())
            theirs = model.classifier.predict_proba(
                model.features.transform([routing.normalize(text)])
            )[0]
            assert np.allclose(ours, theirs, atol=1e-5)
