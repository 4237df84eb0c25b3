from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from tickets.survey_links import SurveyLinkError, make_survey_token, read_survey_token


def test_round_trip_and_tampering() -> None:
    token = make_survey_token("secret", "261123000001", 7)
    assert read_survey_token("secret", token) == ("261123000001", 7)
    with pytest.raises(SurveyLinkError):
        read_survey_token("other-secret", token)
    with pytest.raises(SurveyLinkError):
        read_survey_token("secret", token[:-2] + "xx")
    with pytest.raises(SurveyLinkError):
        read_survey_token("secret", "garbage")


def test_expiry() -> None:
    start = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
    with clock.frozen(start):
        token = make_survey_token("secret", "261123000001", 7)
    with clock.frozen(start + dt.timedelta(days=29)):
        assert read_survey_token("secret", token)[1] == 7
    with clock.frozen(start + dt.timedelta(days=31)), pytest.raises(SurveyLinkError) as info:
        read_survey_token("secret", token)
    assert "expired" in str(info.value)
