"""Short signed survey codes for SMS: ``/s/<code>`` opens a ticket's web survey.

An SMS template may not carry a URL in a parameter (Tencent refuses it:
``InvalidParameterValue.ProhibitedUseUrlInTemplateParameter``), so the registered template holds
the fixed address (``https://…/s/{3}``) and the message carries only the code: the survey id in
base 36 followed by a 10-character MAC (HMAC-SHA256 with the app's secret key over the survey id
and the ticket number, base 32, 50 bits). No table is needed and a code cannot be forged or
pointed at another survey. A code lasts as long as the survey link it stands for
(:data:`VALID_DAYS` from the survey's ``sent_at``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re

SALT = b"hotline.sms-survey-code.v1"
MAC_LENGTH = 10
VALID_DAYS = 30  # as tickets.survey_links.read_survey_token
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
CODE_RE = re.compile(r"^[0-9a-z]{11,17}$")  # 1-7 base-36 digits (ids up to 2**31), then the MAC
MAX_SURVEY_ID = 2**31 - 1


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _ALPHABET[rest] + digits
        if number == 0:
            return digits


def _mac(secret_key: str, survey_id: int, ticket_number: str) -> str:
    message = f"{survey_id}:{ticket_number}".encode()
    key = hmac.new(secret_key.encode("utf-8"), SALT, hashlib.sha256).digest()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_LENGTH]


def make_survey_code(secret_key: str, survey_id: int, ticket_number: str) -> str:
    return _base36(int(survey_id)) + _mac(secret_key, int(survey_id), ticket_number)


def survey_id_of(code: str) -> int | None:
    """The survey a well-formed code names (not yet verified), or None."""
    code = code.strip().lower()
    if not CODE_RE.match(code):
        return None
    survey_id = int(code[:-MAC_LENGTH], 36)
    return survey_id if 0 < survey_id <= MAX_SURVEY_ID else None


def code_matches(secret_key: str, code: str, survey_id: int, ticket_number: str) -> bool:
    expected = make_survey_code(secret_key, survey_id, ticket_number)
    return hmac.compare_digest(expected, code.strip().lower())


def expired(sent_at: dt.datetime, now: dt.datetime) -> bool:
    return now > sent_at + dt.timedelta(days=VALID_DAYS)
