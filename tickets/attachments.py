"""Files a citizen attaches to a request: images and PDF only, at most 5 files of 10 MB each.

The type is sniffed from the content (``filetype`` reads the magic bytes), never trusted from the
file name or the browser's content type. Files are stored under the configured upload folder with
their sha256 as the name, so the same file uploaded twice is stored once and a name chosen by a
citizen never reaches the file system.

Two steps, so that bad input changes nothing: :func:`store_uploads` checks every file and writes
the good ones before the ticket exists (raising ``ValidationError`` if any is refused);
:func:`attach_files` records them on the ticket in the request's transaction.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import ValidationError
from core.i18n import N_
from tickets.access import Actor, require
from tickets.models import Attachment, Ticket

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
FIELD = "attachments"


class UploadRejected(ValidationError):
    """A refused file: ``fields`` holds the message id, ``field_params`` its parameters."""

    def __init__(self, message: str, **params: str) -> None:
        super().__init__({FIELD: message})
        self.field_params = {FIELD: params}


@dataclass(frozen=True)
class Upload:
    """One file as the adapter received it."""

    filename: str
    stream: IO[bytes]


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str


def _safe_name(raw: str) -> str:
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-255:] or "file"


def _store_one(upload: Upload, folder: Path) -> StoredFile:
    """Copy to a temporary file while hashing; refuse too big or wrong type; then rename."""
    name = _safe_name(upload.filename)
    digest = hashlib.sha256()
    size = 0
    head = b""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := upload.stream.read(CHUNK):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise UploadRejected(N_("%(name)s is larger than 10 MB."), name=name)
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRejected(N_("%(name)s is empty."), name=name)
        kind = filetype.guess(head)
        content_type = kind.mime if kind else None
        if content_type not in ALLOWED_TYPES:
            raise UploadRejected(N_("%(name)s is not an image or a PDF file."), name=name)
        sha = digest.hexdigest()
        key = f"{sha[:2]}/{sha}.{ALLOWED_TYPES[content_type]}"
        target = folder / key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        return StoredFile(name, content_type, size, sha, key)
    finally:
        temp.unlink(missing_ok=True)


def store_uploads(
    uploads: Sequence[Upload], *, upload_dir: str | Path, already: int = 0
) -> list[StoredFile]:
    """Check and store files; ``already`` counts files kept from an earlier try of the form."""
    uploads = [u for u in uploads if u.filename]
    if len(uploads) + already > MAX_FILES:
        raise UploadRejected(N_("Attach at most 5 files."))
    return [_store_one(upload, Path(upload_dir)) for upload in uploads]


def attach_files(
    session: Session, ticket: Ticket, files: Sequence[StoredFile], *, actor: Actor
) -> list[Attachment]:
    """Record stored files on a new ticket. A retried submission adds no second copy."""
    require(actor, "submit")
    present = set(
        session.scalars(select(Attachment.sha256).where(Attachment.ticket_id == ticket.id))
    )
    if len(present | {f.sha256 for f in files}) > MAX_FILES:
        raise UploadRejected(N_("Attach at most 5 files."))
    now = clock.now()
    added = []
    for stored in files:
        if stored.sha256 in present:
            continue
        present.add(stored.sha256)
        attachment = Attachment(
            ticket_id=ticket.id,
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
            created_at=now,
        )
        session.add(attachment)
        added.append(attachment)
    session.flush()
    return added
