"""Every figure of the analysis screens with its one-line definition, Chinese and English, as data:
the same text is the hover on the screen (``title``) and the docs (``docs/analysis.md`` lists
them; a test checks the docs carry every definition). The call figures are the switchboard's own
(``calls.figures.FIGURES``), not written twice."""

from __future__ import annotations

from calls.figures import FIGURES as CALL_FIGURES
from calls.figures import Figure

__all__ = ["DEFINITIONS", "Figure", "definition"]

_OWN: tuple[Figure, ...] = (
    # -- volumes
    Figure(
        "received",
        "受理量",
        "Tickets received",
        "范围内（本地日期）登记的工单数，按登记时间计；选了部门时只计当前在该部门的工单。",
        "Tickets registered on the local dates of the range, by when they were registered; "
        "with a department chosen, only the tickets now at that department.",
        "tickets",
    ),
    Figure(
        "previous",
        "上期",
        "Previous period",
        "紧挨在所选范围之前、天数相同的一段时间内的同一数字。",
        "The same figure for the period of the same length right before the range.",
        "tickets",
    ),
    Figure(
        "change",
        "环比",
        "Change",
        "(本期 − 上期) ÷ 上期 × 100%；上期为 0 时为空。",
        "(this period − previous period) ÷ previous period × 100%; empty when the previous "
        "period is 0.",
        "percent",
    ),
    # -- departments
    Figure(
        "dept_received",
        "收到工单",
        "Received",
        "范围内分派或转派到该部门的次数（同一工单再次分派到该部门另计一次）。",
        "Times a ticket was dispatched or transferred to the department in the range (a ticket "
        "dispatched to it again counts again).",
        "tickets",
    ),
    Figure(
        "review_on_time",
        "审核按时率",
        "Review on time",
        "范围内该部门完成审核（受理或退回操作员）的次数中，在审核期限当天结束前完成的比例。",
        "Of the department's reviews finished in the range (accepted or returned to the "
        "operator), the share finished before the end of the review due date.",
        "percent",
    ),
    Figure(
        "handling_on_time",
        "办理按时率",
        "Handling on time",
        "范围内该部门提交的办理结果中，在总办理期限当天结束前提交的比例（按工单当前期限）。",
        "Of the replies the department gave in the range, the share given before the end of "
        "the total due date (the ticket's current deadline).",
        "percent",
    ),
    Figure(
        "warning",
        "预警",
        "Warning",
        "当前（不受日期范围影响）处于预警的未办结工单数。",
        "Open tickets in warning now (not affected by the date range).",
        "tickets",
    ),
    Figure(
        "yellow",
        "黄牌",
        "Yellow card",
        "当前（不受日期范围影响）处于黄牌的未办结工单数。",
        "Open tickets with a yellow card now (not affected by the date range).",
        "tickets",
    ),
    Figure(
        "red",
        "红牌",
        "Red card",
        "当前（不受日期范围影响）处于红牌的未办结工单数。",
        "Open tickets with a red card now (not affected by the date range).",
        "tickets",
    ),
    Figure(
        "avg_reply_workdays",
        "平均答复工作日",
        "Average working days to reply",
        "范围内提交的办理结果，从分派日（不计当天）到答复日的工作日数的平均值。",
        "Over the replies given in the range, the mean number of working days from the "
        "dispatch date (not counted) to the reply date.",
        "days",
    ),
    Figure(
        "returns",
        "退回",
        "Returns",
        "范围内该部门退回操作员审核的次数。",
        "Times the department returned a ticket to the operator in the range.",
        "tickets",
    ),
    Figure(
        "rereview_failures",
        "复核不通过",
        "Re-review failures",
        "范围内复核不通过（转其他部门或退回原部门）的次数，计在作出该答复的部门。",
        "Re-reviews failed in the range (transferred or returned to the department), counted "
        "for the department whose reply failed.",
        "tickets",
    ),
    Figure(
        "urges",
        "催办",
        "Urges",
        "范围内市民对该部门名下工单的催办次数。",
        "Times citizens urged a ticket of the department in the range.",
        "tickets",
    ),
    # -- citizens
    Figure(
        "satisfaction",
        "满意率",
        "Satisfaction",
        "范围内作答的回访中“满意”与“基本满意”的比例；无人作答时为空（未回应的回访不计）。",
        "Of the callback surveys answered in the range, the share 满意 or 基本满意; empty when "
        "none was answered (unanswered surveys do not count).",
        "percent",
    ),
    Figure(
        "callback_rate",
        "回访率",
        "Callback rate",
        "范围内经部门办理后办结的工单中，回访成功（市民作答或电话回访记录）的比例。",
        "Of the tickets closed in the range after a department handled them, the share whose "
        "callback reached the citizen (survey answered or phone callback recorded).",
        "percent",
    ),
    Figure(
        "survey_response_rate",
        "回访应答率",
        "Survey response rate",
        "范围内发出的回访中，已由市民作答或电话记录的比例（仍在等待的也计入分母）。",
        "Of the callback surveys sent in the range, the share answered by the citizen or "
        "recorded by phone (surveys still waiting count in the denominator).",
        "percent",
    ),
    Figure(
        "reopened",
        "重新打开",
        "Reopened",
        "范围内督办员因不满意重新打开的工单次数。",
        "Times a supervisor reopened a closed ticket in the range.",
        "tickets",
    ),
    # -- self-service
    Figure(
        "conversations",
        "咨询会话",
        "Conversations",
        "范围内市民发过消息的对话数（网页、微信、Telegram）。",
        "Conversations in which the citizen wrote in the range (web chat, WeChat, Telegram).",
        "conversations",
    ),
    Figure(
        "self_service_share",
        "自助解决率",
        "Self-service share",
        "上述对话中，范围内既未转人工、该市民也未登记工单的比例（由知识库自助解答）。",
        "Of those conversations, the share with no hand-off to staff and no ticket from the "
        "citizen in the range (answered by the knowledge base).",
        "percent",
    ),
    Figure(
        "gap_count",
        "未解答次数",
        "Times asked",
        "知识库未能直接解答的问题在缺口日志中的累计次数（只列范围内最后一次出现且仍未处理的）。",
        "How often the gap log has seen a question the knowledge base could not answer "
        "(cumulative; only open questions last seen in the range).",
        "questions",
    ),
    # -- chats handed off to staff (bot.engine.metrics)
    Figure(
        "chat_handed_off",
        "转人工会话",
        "Chats handed off",
        "范围内进入人工队列的对话数。",
        "Chats that joined a staff queue in the range.",
        "chats",
    ),
    Figure(
        "chat_pickup_rate",
        "人工接通率（对话）",
        "Chat answer rate",
        "已接起的转人工对话 ÷（转人工对话 − 仍在排队的）× 100%。",
        "Picked-up chats ÷ (chats handed off − chats still waiting) × 100%.",
        "percent",
    ),
    Figure(
        "chat_avg_wait",
        "平均排队时长（对话）",
        "Chat average wait",
        "已接起的对话从转人工到接起的平均秒数。",
        "Mean seconds from hand-off to pick-up over picked-up chats.",
        "seconds",
    ),
    Figure(
        "chat_p90_wait",
        "90%排队时长（对话）",
        "Chat 90th-percentile wait",
        "已接起的对话中至少 90% 的排队时长不超过的秒数（最近秩法）。",
        "The wait, in seconds, that at least 90% of picked-up chats did not exceed (nearest rank).",
        "seconds",
    ),
    # -- the quarterly assessment's own measures
    Figure(
        "inspection_rate",
        "工单质检率",
        "Ticket inspection rate",
        "季度内各周（周一在季度内）已评分的质检工单 ÷ 这些周办结的工单 × 100%（与工单质检页相同）。",
        "Inspections scored ÷ tickets closed, over the weeks starting in the quarter × 100% (as on "
        "the quality inspection screen).",
        "percent",
    ),
    Figure(
        "inspection_score",
        "质检平均得分",
        "Average inspection score",
        "上述各周已评分质检的平均分（0–100）。",
        "The mean score (0–100) of the inspections scored in those weeks.",
        "points",
    ),
    Figure(
        "first_contact_rate",
        "来电一次解决率",
        "First-contact resolution",
        "范围内登记的电话工单中，在通话中直接办结的比例。",
        "Of the phone tickets registered in the range, the share resolved on the call itself.",
        "percent",
    ),
    Figure(
        "target",
        "目标",
        "Target",
        "服务评价方案的目标：人工接通率 ≥ 85%，平均排队时间 ≤ 25 秒。",
        "The service assessment's targets: answer rate ≥ 85%, average queue time ≤ 25 s.",
        "",
    ),
)

# The switchboard's call figures keep their keys, prefixed so they cannot clash with ours.
DEFINITIONS: dict[str, Figure] = {
    **{figure.key: figure for figure in _OWN},
    **{f"call_{figure.key}": figure for figure in CALL_FIGURES},
}


def definition(key: str, locale: str) -> str:
    """The one-line definition in the locale (``zh…`` Chinese, anything else English)."""
    figure = DEFINITIONS[key]
    return figure.definition_zh if locale.startswith("zh") else figure.definition_en


def name(key: str, locale: str) -> str:
    figure = DEFINITIONS[key]
    return figure.name_zh if locale.startswith("zh") else figure.name_en
