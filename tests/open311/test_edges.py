"""The edges of /open311/v2/: unknown resources and methods, the jurisdiction, text that XML
cannot carry, the channel's registration."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from delivery.channels import registered_channels
from tests.open311.conftest import BASE


def test_unknown_resources_and_methods_answer_in_the_spec_form(client: Any) -> None:
    for path, fmt in (("nothing.json", "json"), ("services.csv", "xml"), ("", "xml")):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404
        assert response.content_type.startswith("application/json" if fmt == "json" else "text/xml")
    wrong = client.delete(f"{BASE}/requests.json")
    assert wrong.status_code == 405
    assert wrong.get_json()[0]["code"] == 405
    put = client.put(f"{BASE}/services.xml")
    assert put.status_code == 405 and ElementTree.fromstring(put.get_data()).tag == "errors"


def test_a_jurisdiction_other_than_the_one_served_is_404(app: Any, client: Any) -> None:
    assert client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere.gov").status_code == 200
    app.config["OPEN311_JURISDICTION_ID"] = "zhuhai.gov.cn"
    assert client.get(f"{BASE}/services.json?jurisdiction_id=zhuhai.gov.cn").status_code == 200
    assert client.get(f"{BASE}/services.json").status_code == 200  # optional
    other = client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere.gov&lang=en")
    assert other.status_code == 404
    assert other.get_json() == [
        {"code": 404, "description": "jurisdiction_id elsewhere.gov was not found."}
    ]


def test_text_xml_cannot_carry_is_replaced_and_the_xml_stays_well_formed(
    make_ticket: Any, client: Any
) -> None:
    ticket = make_ticket("submitted", description="灯坏了\x1b[31m\x0b <b>&amp;</b> ]]>")
    response = client.get(f"{BASE}/requests/{ticket.number}.xml")
    tree = ElementTree.fromstring(response.get_data())
    assert tree.find("request/description").text == "灯坏了\ufffd[31m\ufffd <b>&amp;</b> ]]>"
    as_json = client.get(f"{BASE}/requests/{ticket.number}.json").get_json()
    assert as_json[0]["description"] == "灯坏了\x1b[31m\x0b <b>&amp;</b> ]]>"


def test_bad_text_in_the_query_is_refused_in_the_spec_form(client: Any) -> None:
    response = client.get(f"{BASE}/requests.json?status=%00")
    assert response.status_code == 400
    assert response.get_json()[0]["code"] == 400


def test_the_channel_is_registered_and_cannot_push(app: Any) -> None:
    assert "open311" in registered_channels()
    assert registered_channels()["open311"].can_push is False
