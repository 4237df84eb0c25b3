"""The two formats of GeoReport v2: JSON and XML, written from the same values.

The XML is the spec's: schemaless, no namespace, a UTF-8 declaration; a list is an element per
item inside its plural (``<services><service>…``), ``None`` an empty element, booleans
``true``/``false``. The JSON is the same tree by the Spark convention (the plural is the array).
Characters XML 1.0 cannot carry (controls other than tab and newlines) become U+FFFD, so the
XML is well-formed whatever a ticket's text holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from flask import Response

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

# The element of each item of a list, by the list's element name.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, child in value.items():
            _fill(ElementTree.SubElement(element, name), child)
    elif isinstance(value, list | tuple):
        item = ITEM_NAMES[element.tag]
        for child in value:
            _fill(ElementTree.SubElement(element, item), child)
    else:
        element.text = xml_text(value)


def to_xml(root: str, value: Any) -> str:
    element = ElementTree.Element(root)
    _fill(element, value)
    return XML_DECLARATION + ElementTree.tostring(element, encoding="unicode")


def render(
    fmt: str, root: str, value: Sequence[Any] | Mapping[str, Any], status: int = 200
) -> Response:
    """``value`` as JSON, or as XML under the element ``root``."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False, allow_nan=False)
        return Response(body, status=status, content_type=JSON_TYPE)
    return Response(to_xml(root, value), status=status, content_type=XML_TYPE)


def render_errors(fmt: str, status: int, *descriptions: str) -> Response:
    """The spec's error form: ``[{"code", "description"}]`` / ``<errors><error>…``."""
    errors = [{"code": status, "description": text} for text in descriptions]
    return render(fmt, "errors", errors, status)
