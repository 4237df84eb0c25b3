"""What a line of citizen text means. Commands match the whole message (after trimming
punctuation), never a substring, so that a description such as "人工草坪被破坏" stays a description.
Chinese first; English words are aliases."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tickets.models import Kind, Satisfaction

HELP_WORDS = {
    "你好",
    "您好",
    "在吗",
    "在么",
    "hi",
    "hello",
    "帮助",
    "菜单",
    "help",
    "menu",
    "开始",
    "start",
    "/start",
    "/help",
    "?",
}
HUMAN_WORDS = {"人工", "转人工", "人工客服", "人工服务", "客服", "human", "agent", "/human"}
CANCEL_WORDS = {"取消", "算了", "退出", "cancel", "/cancel"}
MY_TICKETS_WORDS = {
    "我的工单",
    "我的诉求",
    "工单查询",
    "查询",
    "查询工单",
    "my tickets",
    "/tickets",
}
NEW_TICKET_WORDS = {
    "提交工单",
    "工单",
    "我要提交工单",
    "提交诉求",
    "我要反映",
    "反映问题",
    "new ticket",
    "ticket",
    "/ticket",
}
YES_WORDS = {"是", "是的", "解决了", "已解决", "好", "好的", "有用", "确认", "对", "yes", "y", "ok"}
NO_WORDS = {"否", "不是", "没有", "没解决", "未解决", "不对", "没用", "no", "n"}
SKIP_WORDS = {"跳过", "无", "没有", "不用", "不需要", "skip", "none"}
ANONYMOUS_WORDS = {"匿名", "anonymous"}

KIND_WORDS: dict[str, Kind] = {
    "咨询": Kind.CONSULTATION,
    "consultation": Kind.CONSULTATION,
    "投诉": Kind.COMPLAINT,
    "complaint": Kind.COMPLAINT,
    "建议": Kind.SUGGESTION,
    "suggestion": Kind.SUGGESTION,
    "表扬": Kind.PRAISE,
    "praise": Kind.PRAISE,
    "举报": Kind.REPORT,
    "report": Kind.REPORT,
}
KIND_ORDER = (Kind.CONSULTATION, Kind.COMPLAINT, Kind.SUGGESTION, Kind.PRAISE, Kind.REPORT)
KIND_CHINESE = {kind: word for word, kind in KIND_WORDS.items() if not word.isascii()}

SATISFACTION_WORDS: dict[str, Satisfaction] = {
    "1": Satisfaction.SATISFIED,
    "满意": Satisfaction.SATISFIED,
    "非常满意": Satisfaction.SATISFIED,
    "satisfied": Satisfaction.SATISFIED,
    "2": Satisfaction.BASICALLY,
    "基本满意": Satisfaction.BASICALLY,
    "basically satisfied": Satisfaction.BASICALLY,
    "3": Satisfaction.UNSATISFIED,
    "不满意": Satisfaction.UNSATISFIED,
    "unsatisfied": Satisfaction.UNSATISFIED,
}

_TRIM = " \t\r\n。.!！?？,，~～、;；:：\"'“”‘’"
_STATUS_RE = re.compile(
    r"^(?:查询|查|进度|status|query)\s*[:：]?\s*([0-9A-Za-z\-]{4,30})(?:\s+([A-Za-z0-9]{4,12}))?$"
)
_NUMBER_RE = re.compile(r"^\d{1,2}$")
_NEW_TICKET_RE = re.compile(r"^(?:我要|我想|想)?(?:提交|反映|进行)?(咨询|投诉|建议|表扬|举报)$")


def normalize(text: str | None) -> str:
    """Full-width digits and letters to ASCII, surrounding punctuation and spaces removed."""
    folded = unicodedata.normalize("NFKC", text or "")
    return folded.strip(_TRIM).strip()


def command_key(text: str) -> str:
    return normalize(text).lower()


def is_help(text: str) -> bool:
    return command_key(text) in HELP_WORDS


def is_human(text: str) -> bool:
    return command_key(text) in HUMAN_WORDS


def is_cancel(text: str) -> bool:
    return command_key(text) in CANCEL_WORDS


def is_my_tickets(text: str) -> bool:
    return command_key(text) in MY_TICKETS_WORDS


def is_yes(text: str) -> bool:
    return command_key(text) in YES_WORDS


def is_no(text: str) -> bool:
    return command_key(text) in NO_WORDS


def is_skip(text: str) -> bool:
    return command_key(text) in SKIP_WORDS


def is_anonymous(text: str) -> bool:
    return command_key(text) in ANONYMOUS_WORDS


@dataclass(frozen=True)
class StatusQuery:
    number: str
    query_code: str | None


def status_query(text: str) -> StatusQuery | None:
    match = _STATUS_RE.match(normalize(text))
    if not match:
        return None
    return StatusQuery(match.group(1), match.group(2).upper() if match.group(2) else None)


def new_ticket(text: str) -> tuple[bool, Kind | None]:
    """("提交工单" → (True, None)); ("我要投诉" → (True, complaint)); anything else (False, None)."""
    key = command_key(text)
    if key in NEW_TICKET_WORDS:
        return True, None
    match = _NEW_TICKET_RE.match(key)
    if match:
        return True, KIND_WORDS[match.group(1)]
    return False, None


def kind_choice(text: str) -> Kind | None:
    key = command_key(text)
    if key.isdigit() and 1 <= int(key) <= len(KIND_ORDER):
        return KIND_ORDER[int(key) - 1]
    if key in KIND_WORDS:
        return KIND_WORDS[key]
    match = _NEW_TICKET_RE.match(key)
    return KIND_WORDS[match.group(1)] if match else None


def number_choice(text: str, count: int) -> int | None:
    """A 1-based pick from a numbered list of ``count`` entries, as a 0-based index."""
    key = command_key(text)
    if _NUMBER_RE.match(key) and 1 <= int(key) <= count:
        return int(key) - 1
    return None


def satisfaction(text: str) -> Satisfaction | None:
    return SATISFACTION_WORDS.get(command_key(text))
