"""Quick replies on a channel without buttons: the engine's choices become numbered lines, and a
digit the citizen sends back becomes the choice's value (what a button would have sent).

Only the last reply of a turn that carries choices is numbered (the others are answers already
given). A choice the reply's text already lists under its number (the engine numbers its ticket
kinds, its did-you-mean suggestions and its "1 Submit a ticket / 2 Talk to a person" offer) is
not listed twice; its number still maps to its value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.engine import Choice, Reply

_DIGITS = re.compile(r"[0-9]{1,2}")
_TRIM = " \t\r\n.。、)）"


def _active(replies: Sequence[Reply]) -> int | None:
    """The index of the last reply with choices."""
    for index in range(len(replies) - 1, -1, -1):
        if replies[index].choices:
            return index
    return None


def active_choices(replies: Sequence[Reply]) -> tuple[Choice, ...]:
    index = _active(replies)
    return () if index is None else replies[index].choices


def _listed(text: str, number: int, choice: Choice) -> bool:
    """Whether ``text`` already has a line "<number> <label>" (or "<number>. ...")."""
    for line in text.splitlines():
        line = line.strip()
        if re.match(rf"{number}(?![0-9])", line) and choice.label in line:
            return True
    return False


def render(replies: Sequence[Reply]) -> str:
    """One text for a turn's replies: blank lines between them, the active choices numbered."""
    active = _active(replies)
    parts = []
    for index, reply in enumerate(replies):
        text = reply.text
        if index == active:
            lines = [
                f"{n}. {choice.label}"
                for n, choice in enumerate(reply.choices, start=1)
                if not _listed(reply.text, n, choice)
            ]
            if lines:
                text = "\n".join([text, *lines])
        parts.append(text)
    return "\n\n".join(part for part in parts if part)


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip(_TRIM)


def numbered(text: str) -> bool:
    """Whether ``text`` is a number, which could answer the numbered choices of a reply (the
    only texts for which the previous replies need to be read)."""
    return _DIGITS.fullmatch(_key(text)) is not None


def answer(text: str, previous: Sequence[Reply]) -> str:
    """The citizen's text, or the value of the choice whose number they sent."""
    key = _key(text)
    choices = active_choices(previous)
    if not choices or not _DIGITS.fullmatch(key):
        return text
    number = int(key)
    if 1 <= number <= len(choices):
        return choices[number - 1].value
    return text
