"""The JSON API's OpenAPI document (``/api/v1/openapi.json``): valid, complete, and held to by the
app under schemathesis (generated requests from the document, and mutated ones that break it)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from portal.api.openapi import DOCUMENT

pytestmark = pytest.mark.slow


def test_the_document_is_valid_openapi_and_served(client: Any) -> None:
    validate(DOCUMENT)
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == DOCUMENT


def test_the_document_names_exactly_the_api_routes(app: Flask) -> None:
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method.lower()))
    documented = {(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops}
    assert documented == served


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_api_keeps_its_document(app: Flask, db: Session, departments: Any, mode: str) -> None:
    """Every operation, with requests generated from the document (positive) and requests that
    break it (negative): never a 5xx; every status, content type and JSON body as documented."""
    app.config["RATELIMIT_ENABLED"] = False
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    tried = 0
    for found in api.get_all_operations():
        operation = found.ok()
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

        @given(case=strategy)
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal tried
            tried += 1
            case.call_and_validate(checks=checks)

        run()
    assert tried >= 8 * 5  # every operation was tried
