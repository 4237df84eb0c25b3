"""A published Open311 client (``georeport`` from PyPI) against the app served on loopback: it
lists the services, reads a service definition and requests, in JSON and in XML.

``georeport`` 0.3.1 has no method to post; the request is posted the way the client would talk
to the server (the same ``requests`` library, the client's root address and api_key, the spec's
form encoding), and the client then reads it back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from georeport import GeoReport
from werkzeug.serving import make_server

from tests.open311.conftest import VALID_FORM


@pytest.fixture
def live_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_the_georeport_client_lists_reads_and_finds_a_posted_request(
    live_server: str, api_key: str, departments: Any, make_ticket: Any, output_format: str
) -> None:
    closed = make_ticket("closed")
    client = GeoReport(live_server, api_key=api_key, output_format=output_format)
    services = client.get_service_list()
    codes = [service["service_code"] for service in services]
    assert "city_management" in codes and "housing" in codes
    definition = client.get_service_definition("city_management")
    assert definition["service_code"] == "city_management"

    posted = requests.post(
        f"{client.root_address}/requests.{output_format}",
        data={**VALID_FORM, "api_key": client.api_key},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text

    listed = client.get_service_requests(status="open")
    if isinstance(listed, dict):  # one request in XML reads as a mapping (xmltodict)
        listed = [listed]
    (mine,) = listed
    number = mine["service_request_id"]
    assert mine["status"] == "open" and mine["service_code"] == "city_management"
    one = client.get_service_request(number)
    assert one["service_request_id"] == number
    assert one["description"] == VALID_FORM["description"]
    every = client.get_service_requests(service_request_id=f"{number},{closed.number}")
    assert {r["service_request_id"] for r in every} == {number, closed.number}
    done = client.get_service_request(closed.number)
    assert done["status"] == "closed" and done["status_notes"] == "已处理完毕。"
