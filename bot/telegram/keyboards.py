"""Inline keyboards as Bot API JSON (no aiogram here: the outbox sender uses them too).

- The engine's choices (did-you-mean, ticket kind, confirmation, skip, the menu) become buttons
  whose callback data is ``c:<value>``: pressing one sends the choice's value to the engine, as
  if the citizen had typed it.
- The survey pushed by the outbox gets rating buttons ``r:<satisfaction>`` (满意, 基本满意,
  不满意), which the survey router turns into the engine's words for the rating.

Telegram allows 1–64 bytes of callback data; a choice whose value is longer gets no button (its
reply still says what to type).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.engine import Choice
from core.i18n import translate
from tickets.models import SATISFACTION_LABELS, Satisfaction

CHOICE = "c:"
RATING = "r:"
MAX_CALLBACK_DATA = 64
SHORT_LABEL = 8  # labels up to this many characters share a row, three at most
# The rating buttons, in the order the survey asks, and the engine's word for each
# (bot.engine.intents.SATISFACTION_WORDS).
RATINGS: dict[Satisfaction, str] = {
    Satisfaction.SATISFIED: "满意",
    Satisfaction.BASICALLY: "基本满意",
    Satisfaction.UNSATISFIED: "不满意",
}


def _fits(data: str) -> bool:
    return 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA


def _rows(buttons: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    if all(len(button["text"]) <= SHORT_LABEL for button in buttons):
        return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return [[button] for button in buttons]


def choice_markup(choices: Sequence[Choice]) -> dict[str, Any] | None:
    """The reply's choices as an inline keyboard (None: no buttons)."""
    buttons = [
        {"text": choice.label[:64] or choice.value, "callback_data": CHOICE + choice.value}
        for choice in choices
        if _fits(CHOICE + choice.value)
    ]
    return {"inline_keyboard": _rows(buttons)} if buttons else None


def rating_markup(locale: str | None) -> dict[str, Any]:
    buttons = [
        {"text": translate(SATISFACTION_LABELS[rating], locale), "callback_data": RATING + rating}
        for rating in RATINGS
    ]
    return {"inline_keyboard": [buttons]}


def choice_value(data: str | None) -> str | None:
    """The engine text of a choice button's callback data (None: not a choice button)."""
    if not data or not data.startswith(CHOICE):
        return None
    return data[len(CHOICE) :] or None


def rating_word(data: str | None) -> str | None:
    """The engine's word for a rating button's callback data (None: not a known rating)."""
    if not data or not data.startswith(RATING):
        return None
    try:
        return RATINGS[Satisfaction(data[len(RATING) :])]
    except ValueError:
        return None
