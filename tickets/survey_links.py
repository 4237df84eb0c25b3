"""Signed links to a ticket's callback survey (回访).

The link is sent with the callback message; whoever holds it may answer that one survey, once.
The token is signed with the app's secret key (itsdangerous) and carries the ticket number and the
survey id, so no table is needed and a link cannot be forged or pointed at another ticket. The
timestamp comes from :mod:`core.clock`, so tests can move time.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from core import clock
from core.errors import DomainError
from core.i18n import N_

SALT = "hotline.survey-link.v1"


class SurveyLinkError(DomainError):
    http_status = 400


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT, signer=_ClockSigner)


def make_survey_token(secret_key: str, ticket_number: str, survey_id: int) -> str:
    return _serializer(secret_key).dumps([ticket_number, int(survey_id)])


def read_survey_token(secret_key: str, token: str, *, max_age_days: int = 30) -> tuple[str, int]:
    """The (ticket number, survey id) a token was made for; a bad or old token is refused."""
    try:
        payload: Any = _serializer(secret_key).loads(token, max_age=max_age_days * 24 * 3600)
    except SignatureExpired as error:
        raise SurveyLinkError(
            N_("This survey link has expired. Please call the hotline to give your feedback.")
        ) from error
    except BadSignature as error:
        raise SurveyLinkError(N_("This survey link is not valid.")) from error
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], str)
        or not isinstance(payload[1], int)
    ):
        raise SurveyLinkError(N_("This survey link is not valid."))
    return payload[0], payload[1]
