from __future__ import annotations

import re
from pathlib import Path

from directory.models import ChannelIdentity
from tests.portal.citizen.helpers import PDF_BYTES, form, png_bytes, upload
from tickets import attachments
from tickets.access import visible_contact
from tickets.models import Attachment, Ticket


def _tickets(db) -> list[Ticket]:
    db.rollback()  # a fresh snapshot: the request committed on its own connection
    return db.query(Ticket).all()


def test_form_renders_in_chinese_with_kinds_and_categories(client, departments) -> None:
    page = client.get("/submit").get_data(as_text=True)
    assert "提交诉求" in page
    for label in ("咨询", "投诉", "建议", "表扬", "举报"):
        assert label in page
    assert "30个工作日" in page  # a report's deadline is shown next to it
    assert re.search(r'name="form_token" value="[0-9a-f]{32}"', page)


def test_submit_creates_one_ticket_and_shows_number_and_code(client, db, departments) -> None:
    response = client.post("/submit", data=form(category="social_security"))
    assert response.status_code == 303
    [ticket] = _tickets(db)
    assert response.headers["Location"].endswith(f"/submitted/{ticket.number}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ticket.number in page and ticket.query_code in page
    assert ticket.channel == "web" and ticket.contact_phone == "13912345678"
    identity = db.query(ChannelIdentity).filter_by(citizen_id=ticket.citizen_id).one()
    assert (identity.channel, identity.external_id) == ("web", "phone:13912345678")


def test_double_submit_makes_one_ticket(client, db, departments) -> None:
    first = client.post("/submit", data=form())
    second = client.post("/submit", data=form())
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_tickets(db)) == 1
    # a new form (new token) is a new ticket
    client.post("/submit", data=form(form_token="f" * 32))
    assert len(_tickets(db)) == 2


def test_validation_messages_in_chinese_next_to_fields_and_input_kept(
    client, db, departments
) -> None:
    response = client.post(
        "/submit", data=form(kind="", description="", phone="12345", title="保留的标题")
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="kind-error"' in page and "请选择诉求类型" in page
    assert 'id="description-error"' in page
    assert 'id="phone-error"' in page and "11位" in page
    assert 'value="保留的标题"' in page and 'value="12345"' in page
    assert _tickets(db) == []


def test_validation_in_english(client, departments) -> None:
    client.get("/lang/en")
    page = client.post("/submit", data=form(phone="")).get_data(as_text=True)
    assert "Enter a mobile number so that we can reach you." in page


def test_unknown_category_is_a_field_error(client, db, departments) -> None:
    response = client.post("/submit", data=form(category="nope"))
    assert response.status_code == 422
    assert 'id="category-error"' in response.get_data(as_text=True)
    assert _tickets(db) == []


def test_anonymous_only_for_reports(client, db, departments) -> None:
    response = client.post("/submit", data=form(anonymous="1"))
    assert response.status_code == 422
    assert 'id="anonymous-error"' in response.get_data(as_text=True)


def test_anonymous_report_identity_is_for_the_hotline_only(client, db, departments, staff) -> None:
    response = client.post("/submit", data=form(kind="report", anonymous="1"))
    assert response.status_code == 303
    [ticket] = _tickets(db)
    assert ticket.anonymous and ticket.contact_phone == "13912345678"
    assert visible_contact(staff["dept"], ticket) == (None, None)
    assert visible_contact(staff["operator"], ticket) == ("李四", "13912345678")
    # and the citizen's own pages do not show it either
    page = client.get(f"/track/{ticket.number}").get_data(as_text=True)
    assert "13912345678" not in page and "李四" not in page


def test_anonymous_report_without_phone(client, db, departments) -> None:
    response = client.post(
        "/submit", data=form(kind="report", anonymous="1", phone="", contact_name="")
    )
    assert response.status_code == 303
    [ticket] = _tickets(db)
    assert ticket.contact_phone is None and ticket.citizen_id is not None
    identity = db.query(ChannelIdentity).filter_by(citizen_id=ticket.citizen_id).one()
    assert identity.external_id.startswith("session:")


def test_upload_images_and_pdf(client, db, departments, app) -> None:
    data = form()
    data["attachments"] = [upload(png_bytes(), "photo.png"), upload(PDF_BYTES, "doc.pdf")]
    response = client.post("/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    [ticket] = _tickets(db)
    rows = db.query(Attachment).filter_by(ticket_id=ticket.id).all()
    assert sorted(r.content_type for r in rows) == ["application/pdf", "image/png"]
    for row in rows:
        assert (Path(app.config["UPLOAD_DIR"]) / row.storage_key).exists()


def test_upload_wrong_type_too_big_too_many(client, db, departments, monkeypatch) -> None:
    # The 10 MB boundary itself is tested in tests/tickets/test_attachments.py; a smaller limit
    # keeps the request small here.
    monkeypatch.setattr(attachments, "MAX_BYTES", 4096)
    data = form()
    data["attachments"] = [upload(b"#!/bin/sh\necho hi\n", "photo.png")]
    response = client.post("/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "photo.png 不是图片或PDF文件" in response.get_data(as_text=True)

    data = form()
    data["attachments"] = [upload(png_bytes(extra=5000), "big.png")]
    response = client.post("/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "big.png 超过10MB" in response.get_data(as_text=True)

    data = form()
    data["attachments"] = [upload(png_bytes(width=i + 1), f"{i}.png") for i in range(6)]
    response = client.post("/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "最多上传5个文件" in response.get_data(as_text=True)
    assert _tickets(db) == []


def test_good_files_are_kept_when_another_field_is_wrong(client, db, departments) -> None:
    data = form(description="")
    data["attachments"] = [upload(png_bytes(), "photo.png")]
    response = client.post("/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    kept = re.search(r'name="kept_files" value="([^"]+)"', page).group(1)
    assert "photo.png" in page
    response = client.post("/submit", data=form(kept_files=kept))
    assert response.status_code == 303
    [ticket] = _tickets(db)
    assert [a.filename for a in ticket.attachments] == ["photo.png"]
    # a forged list is ignored
    client.post("/submit", data=form(kept_files="forged", form_token="e" * 32))
    assert len(_tickets(db)[-1].attachments) == 0


def test_csrf_is_enforced_when_enabled(make_app, departments) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post("/submit", data=form()).status_code == 400
    page = client.get("/submit").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/submit", data=form(csrf_token=token)).status_code == 303
    # the JSON API is exempt: it carries no cookie session


def test_security_headers_and_escaping(client, db, departments) -> None:
    response = client.post("/submit", data=form(title="<script>alert(1)</script>", description=""))
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
