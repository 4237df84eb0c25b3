from __future__ import annotations

import io
from pathlib import Path

import pytest

from core.errors import ValidationError
from tests.portal.citizen.helpers import PDF_BYTES, png_bytes
from tickets import attachments
from tickets.access import CitizenActor
from tickets.attachments import MAX_BYTES, Upload, attach_files, store_uploads
from tickets.models import Attachment


def _up(data: bytes, name: str) -> Upload:
    return Upload(name, io.BytesIO(data))


def test_images_and_pdf_are_stored_by_hash(tmp_path: Path) -> None:
    stored = store_uploads(
        [_up(png_bytes(), "photo.png"), _up(PDF_BYTES, "letter.pdf")], upload_dir=tmp_path
    )
    assert [s.content_type for s in stored] == ["image/png", "application/pdf"]
    for item in stored:
        path = tmp_path / item.storage_key
        assert path.read_bytes()[:4] in (b"\x89PNG", b"%PDF")
        assert item.sha256 in item.storage_key
    # no temporary files are left behind
    assert not [p for p in tmp_path.rglob(".upload-*")]


def test_type_comes_from_content_not_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        store_uploads([_up(b"MZ\x90\x00 not an image at all", "photo.jpg")], upload_dir=tmp_path)
    assert info.value.fields == {"attachments": "%(name)s is not an image or a PDF file."}
    assert info.value.field_params == {"attachments": {"name": "photo.jpg"}}
    # a real PDF with a misleading name is accepted and typed as PDF
    [stored] = store_uploads([_up(PDF_BYTES, "photo.jpg")], upload_dir=tmp_path)
    assert stored.content_type == "application/pdf"
    assert stored.storage_key.endswith(".pdf")


def test_too_big_and_too_many_and_empty(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        store_uploads([_up(png_bytes(extra=MAX_BYTES), "big.png")], upload_dir=tmp_path)
    assert "10 MB" in info.value.fields["attachments"]
    assert not list(tmp_path.rglob("*.png"))
    with pytest.raises(ValidationError) as info:
        store_uploads([_up(png_bytes(), f"{i}.png") for i in range(6)], upload_dir=tmp_path)
    assert info.value.fields["attachments"] == "Attach at most 5 files."
    with pytest.raises(ValidationError):
        store_uploads([_up(png_bytes(), "a.png")], upload_dir=tmp_path, already=5)
    with pytest.raises(ValidationError):
        store_uploads([_up(b"", "empty.png")], upload_dir=tmp_path)


def test_exactly_ten_megabytes_is_allowed(tmp_path: Path) -> None:
    data = png_bytes()
    [stored] = store_uploads(
        [_up(data + b"\x00" * (MAX_BYTES - len(data)), "x.png")], upload_dir=tmp_path
    )
    assert stored.size == MAX_BYTES


def test_names_cannot_escape_the_folder(tmp_path: Path) -> None:
    [stored] = store_uploads([_up(png_bytes(), "../../etc/passwd.png")], upload_dir=tmp_path)
    assert stored.filename == "passwd.png"
    assert (tmp_path / stored.storage_key).resolve().is_relative_to(tmp_path.resolve())


def test_attach_is_idempotent(db, make_ticket, tmp_path: Path) -> None:
    ticket = make_ticket()
    files = store_uploads([_up(png_bytes(), "a.png"), _up(PDF_BYTES, "b.pdf")], upload_dir=tmp_path)
    actor = CitizenActor(ticket.citizen_id, "web")
    assert len(attach_files(db, ticket, files, actor=actor)) == 2
    assert attach_files(db, ticket, files, actor=actor) == []
    assert db.query(Attachment).filter_by(ticket_id=ticket.id).count() == 2
    assert attachments.MAX_FILES == 5
