"""The input policy every adapter applies at its edge, written once.

- Text never carries NUL or a lone surrogate (PostgreSQL refuses NUL in text and JSON; a lone
  surrogate cannot be encoded as UTF-8). Such input is refused whole with a translated 400:
  nothing is stored, and SQLite and PostgreSQL give the same answer.
- Integers from paths, query strings and cursors fit the database's integer column (32 bits on
  PostgreSQL); a value out of range is refused (400) or, for an id in a path, does not exist
  (404).
- Enumerated parameters are checked against their allowed values.

The web adapters call :func:`check_text` from one ``before_request`` hook (see
``core.web.screen_request``); message channels (WeChat, Telegram, switchboards) call
:func:`check_text` on what they receive. Flask-free, so the domain and the channels may use it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from core.errors import DomainError
from core.i18n import N_

# The largest id any table holds: ids are INTEGER, 32 bits on PostgreSQL. SQLite's integers are
# wider, but both databases must give the same answer for the same input.
MAX_INT = 2**31 - 1
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


class BadInput(DomainError):
    """Input refused at the edge; nothing was read further or written."""

    http_status = 400


TOO_DEEP = N_("The JSON in the request is nested too deeply.")
BAD_TEXT = N_(
    "The text contains characters that cannot be accepted (such as an invisible NUL "
    "character). Please remove them and try again."
)


def has_bad_text(value: str) -> bool:
    return _BAD_CHARACTERS.search(value) is not None


def _texts(value: Any) -> Iterable[str]:
    """Every string inside ``value``: itself, list items, mapping keys and values, nested."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def check_text(*values: Any) -> None:
    """Raise :class:`BadInput` if any string in ``values`` (nested anywhere) holds NUL or a
    lone surrogate."""
    for text in _texts(list(values)):
        if has_bad_text(text):
            raise BadInput(BAD_TEXT)


def parse_int(
    raw: Any,
    *,
    default: int,
    minimum: int = 0,
    maximum: int = MAX_INT,
    name: str = "number",
) -> int:
    """A whole number from a query string or form; ``default`` when absent or empty.

    Anything else that is not a whole number within [minimum, maximum] is a 400 naming the
    parameter. ``int()`` accepts "٣" and " 3 "; only ASCII digits with an optional minus count.
    """
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    if not re.fullmatch(r"-?[0-9]{1,30}", text) or not minimum <= int(text) <= maximum:
        raise BadInput(
            N_("%(name)s must be a whole number from %(min)s to %(max)s."),
            name=name,
            min=minimum,
            max=maximum,
        )
    return int(text)


def optional_id(raw: Any) -> int | None:
    """An id picked in a form or carried in a link (a department, a page marker): ASCII digits
    that fit the database, else None, which the caller treats as "not chosen"."""
    text = "" if raw is None or isinstance(raw, bool) else str(raw).strip()
    if re.fullmatch(r"[0-9]{1,30}", text) and int(text) <= MAX_INT:
        return int(text)
    return None


def in_range(value: int) -> bool:
    """Whether an integer fits the database (for ids decoded from cursors and tokens)."""
    return -MAX_INT - 1 <= value <= MAX_INT


def parse_choice(raw: Any, allowed: Collection[str], *, default: str, name: str) -> str:
    """One of ``allowed``; ``default`` when absent or empty; anything else is a 400."""
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str) or raw not in allowed:
        raise BadInput(
            N_("%(name)s must be one of: %(allowed)s."),
            name=name,
            allowed=", ".join(sorted(allowed)),
        )
    return raw
