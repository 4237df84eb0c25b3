"""Open311 fixtures: an API key, the official JSON Schemas, and the XML form read back into the
JSON form's values so that both can be compared."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy.orm import Session

from directory.access import SYSTEM
from directory.api_keys import create_api_key

SCHEMAS = Path(__file__).parent / "schemas"
BASE = "/open311/v2"
# The element of each item of a list, by the list's element name (the spec's XML).
LISTS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
VALID_FORM = {
    "service_code": "city_management",
    "lat": "22.2711",
    "long": "113.5767",
    "address_string": "香洲区吉大路1号",
    "description": "路灯坏了一个星期，晚上很黑。",
    "first_name": "小明",
    "last_name": "李",
    "phone": "13912345678",
    "email": "li@example.org",
    "attribute[kind]": "complaint",
    "media_url": "https://photos.example.org/lamp.jpg",
}


def _registry() -> Registry:
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT4))
        for path in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def validate() -> Callable[[str, Any], None]:
    """``validate("services.json", body)``: raises unless ``body`` is valid by the schema."""
    registry = _registry()

    def check(name: str, body: Any) -> None:
        schema = json.loads((SCHEMAS / name).read_text())
        Draft4Validator(schema, registry=registry).validate(body)

    return check


def xml_value(element: ElementTree.Element) -> Any:
    """The JSON form's value of an XML element (lists by the spec's plural names)."""
    if element.tag in LISTS:
        assert all(child.tag == LISTS[element.tag] for child in element)
        return [xml_value(child) for child in element]
    if len(element):
        return {child.tag: xml_value(child) for child in element}
    return element.text or ""


def as_xml_text(value: Any) -> Any:
    """A JSON value as the XML form writes it: None empty, booleans lower case, all text."""
    if isinstance(value, dict):
        return {name: as_xml_text(item) for name, item in value.items()}
    if isinstance(value, list):
        return [as_xml_text(item) for item in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture
def both(client: Any) -> Callable[..., tuple[Any, Any]]:
    """``both("services")`` → (status, JSON body), after checking that the XML form of the same
    request is well-formed, declared UTF-8, and holds the same content."""

    def get(path: str, query: str = "", root: str | None = None) -> tuple[int, Any]:
        suffix = f"?{query}" if query else ""
        as_json = client.get(f"{BASE}/{path}.json{suffix}")
        as_xml = client.get(f"{BASE}/{path}.xml{suffix}")
        assert as_json.content_type == "application/json; charset=utf-8"
        assert as_xml.content_type == "text/xml; charset=utf-8"
        assert as_json.status_code == as_xml.status_code
        text = as_xml.get_data(as_text=True)
        assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        tree = ElementTree.fromstring(as_xml.get_data())
        body = as_json.get_json()
        if root is not None:
            assert tree.tag == root
        assert xml_value(tree) == as_xml_text(body)
        return as_json.status_code, body

    return get


@pytest.fixture
def api_key(db: Session) -> Iterator[str]:
    new = create_api_key(db, "test app", actor=SYSTEM)
    db.commit()
    yield new.key


@pytest.fixture
def post(client: Any, api_key: str) -> Callable[..., Any]:
    """``post(fmt="json", key=..., headers=..., **fields)``: POST requests with the valid form
    (fields override it; a value of None drops the field)."""

    def send(fmt: str = "json", key: str | None = "", headers: Any = None, **fields: Any) -> Any:
        form = {**VALID_FORM, **fields}
        form = {name: value for name, value in form.items() if value is not None}
        if key is not None:
            form["api_key"] = key or api_key
        return client.post(f"{BASE}/requests.{fmt}", data=form, headers=headers or {})

    return send
