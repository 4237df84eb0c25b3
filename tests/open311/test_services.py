"""Discovery, the service list and the service definitions, in JSON (valid by the official
schemas) and XML (well-formed, the same content)."""

from __future__ import annotations

from typing import Any

from directory.models import Category, Department
from tickets.models import Kind


def test_discovery_names_the_endpoint_and_its_formats(both: Any) -> None:
    status, body = both("discovery", root="discovery")
    assert status == 200
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://127.0.0.1:5000/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert "12345" in body["contact"]


def test_one_service_per_active_category_with_group_and_keywords(
    both: Any, validate: Any, db: Any, departments: dict[str, Department]
) -> None:
    retired = db.query(Category).filter_by(code="gas").one()
    retired.active = False
    db.commit()
    status, body = both("services", root="services")
    assert status == 200
    validate("services.json", body)
    active = db.query(Category).filter(Category.active).count()
    assert len(body) == active and active > 10
    codes = [service["service_code"] for service in body]
    assert "gas" not in codes and len(set(codes)) == len(codes)
    street = next(s for s in body if s["service_code"] == "city_management")
    assert street["service_name"] == "市容环卫与违法建设"
    assert street["group"] == departments["chengguan"].name
    assert street["metadata"] is True and street["type"] == "realtime"
    assert "Street order, sanitation and illegal building" in street["keywords"]
    assert departments["chengguan"].name_en in street["keywords"]


def test_services_in_english(client: Any, departments: Any) -> None:
    body = client.get("/open311/v2/services.json?lang=en").get_json()
    street = next(s for s in body if s["service_code"] == "city_management")
    assert street["service_name"] == "Street order, sanitation and illegal building"
    assert street["group"] == departments["chengguan"].name_en


def test_service_definition_offers_the_kinds(both: Any, validate: Any, departments: Any) -> None:
    status, body = both("services/housing", root="service_definition")
    assert status == 200
    validate("service-definition.json", body)
    assert body["service_code"] == "housing"
    attributes = {a["code"]: a for a in body["attributes"]}
    kind = attributes["kind"]
    assert kind["datatype"] == "singlevaluelist" and kind["required"] is True
    assert [v["key"] for v in kind["values"]] == [k.value for k in Kind]
    assert [v["name"] for v in kind["values"]] == ["咨询", "投诉", "建议", "表扬", "举报"]
    assert attributes["anonymous"]["required"] is False
    assert sorted(a["order"] for a in body["attributes"]) == [1, 2, 3]


def test_unknown_or_inactive_service_is_404_in_the_spec_form(
    both: Any, db: Any, departments: Any
) -> None:
    db.query(Category).filter_by(code="gas").one().active = False
    db.commit()
    for code in ("no-such-service", "gas"):
        status, body = both(f"services/{code}", "lang=en", root="errors")
        assert status == 404
        assert body == [{"code": 404, "description": f"service_code {code} was not found."}]
