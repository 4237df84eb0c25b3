"""Personal data never reaches a log: mainland mobile numbers in any log record are masked
(``138****8000``), whoever logged them, by a log record factory installed once per process."""

from __future__ import annotations

import logging
import re
from typing import Any

# 11 digits starting 13–19, not inside a longer number (ticket numbers are 12 digits).
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_installed = False


def mask_mobiles(text: str) -> str:
    return MOBILE.sub(r"\1****\2", text)


def install() -> None:
    """Wrap the log record factory so that every record's message is masked (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to logging's own error handling
            return record
        masked = mask_mobiles(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
