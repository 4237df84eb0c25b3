"""POST requests: the spec's form (``application/x-www-form-urlencoded``) read into the ticket
domain's :class:`~tickets.workflow.TicketDraft`, and the fingerprint that makes a repeated POST
the same request.

Fields: ``service_code`` (a category), ``lat`` & ``long`` or ``address_string`` (``address_id``
alone is refused: the hotline has no address register), ``description``, ``first_name`` /
``last_name`` (the contact name), ``phone``, ``media_url``, and ``attribute[kind]`` (required),
``attribute[title]``, ``attribute[anonymous]``. ``email``, ``device_id`` and ``account_id`` are
accepted and not kept. Refusals are :class:`~core.errors.ValidationError` keyed by the spec's
parameter names.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from core.errors import ValidationError
from core.i18n import N_
from open311.mapping import ANONYMOUS, ATTRIBUTES, BOOLEAN_KEYS, KIND, TITLE
from tickets.models import Kind
from tickets.workflow import TicketDraft

_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]{1,40})\](\[\])?")
_COORDINATE = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,15})?")
_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_MEDIA_URL = 2000
# What a ticket field is called in the spec's form, for the per-parameter errors.
FIELD_NAMES = {
    "kind": f"attribute[{KIND}]",
    "title": f"attribute[{TITLE}]",
    "anonymous": f"attribute[{ANONYMOUS}]",
    "address": "address_string",
    "location": "lat/long",
    "contact_name": "first_name/last_name",
    "category": "service_code",
}


@dataclass(frozen=True)
class Filing:
    service_code: str
    draft: TicketDraft
    media_url: str | None
    fingerprint: str


def fingerprint(form: MultiDict[str, str]) -> str:
    """SHA-256 of every field but ``api_key``, in a canonical order."""
    items = sorted((name, value) for name, value in form.items(multi=True) if name != "api_key")
    canonical = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _coordinate(raw: str) -> float | None:
    text = raw.strip()
    if not _COORDINATE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _attributes(form: MultiDict[str, str], errors: dict[str, str]) -> dict[str, str]:
    values: dict[str, list[str]] = {}
    for name, value in form.items(multi=True):
        match = _ATTRIBUTE.fullmatch(name)
        if name.startswith("attribute") and match is None:
            errors[name[:60]] = N_("Write attributes as attribute[code]=value.")
            continue
        if match is None:
            continue
        code = match.group(1)
        if code not in ATTRIBUTES:
            errors[f"attribute[{code}]"] = N_("This service has no such attribute.")
            continue
        values.setdefault(code, []).append(value.strip())
    single: dict[str, str] = {}
    for code, given in values.items():
        if len(given) > 1:
            errors[f"attribute[{code}]"] = N_("This attribute takes one value.")
        else:
            single[code] = given[0]
    return single


def _contact_name(first: str, last: str) -> str | None:
    first, last = first.strip(), last.strip()
    if not first and not last:
        return None
    if _CJK.search(first + last):
        return last + first  # 姓 then 名
    return " ".join(part for part in (first, last) if part)


def _media_url(raw: str, errors: dict[str, str]) -> str | None:
    text = raw.strip()
    if not text:
        return None
    parts = urlsplit(text) if len(text) <= MAX_MEDIA_URL else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or re.search(r"\s", text)
    ):
        errors["media_url"] = N_(
            "media_url must be an http or https address of at most 2,000 characters."
        )
        return None
    return text


def read_filing(form: MultiDict[str, str]) -> Filing:
    """The form as a draft, or :class:`ValidationError` naming every wrong parameter."""
    errors: dict[str, str] = {}
    service_code = form.get("service_code", "").strip()
    if not service_code:
        errors["service_code"] = N_("service_code is required.")
    attributes = _attributes(form, errors)
    kind = attributes.get(KIND, "")
    if not kind or kind not in {k.value for k in Kind}:
        errors[f"attribute[{KIND}]"] = N_("Choose the kind of request.")
    anonymous = attributes.get(ANONYMOUS, "false") or "false"
    if anonymous not in BOOLEAN_KEYS:
        errors[f"attribute[{ANONYMOUS}]"] = N_("Answer true or false.")
    lat_raw, long_raw = form.get("lat", ""), form.get("long", "")
    latitude = longitude = None
    if lat_raw.strip() or long_raw.strip():
        latitude, longitude = _coordinate(lat_raw), _coordinate(long_raw)
        if latitude is None or longitude is None:
            errors["lat/long"] = N_("Send both lat and long as decimal degrees (WGS84).")
    address = form.get("address_string", "").strip()
    if latitude is None and longitude is None and not address and "lat/long" not in errors:
        if form.get("address_id", "").strip():
            errors["address_id"] = N_(
                "address_id is not supported here; send lat and long or address_string."
            )
        else:
            errors["lat/long"] = N_("Send the location: lat and long, or address_string.")
    first, last = form.get("first_name", ""), form.get("last_name", "")
    media_url = _media_url(form.get("media_url", ""), errors)
    draft = TicketDraft(
        kind=kind,
        description=form.get("description", ""),
        title=attributes.get(TITLE) or None,
        address=address or None,
        contact_name=_contact_name(first, last),
        phone=form.get("phone", "").strip() or None,
        anonymous=anonymous == "true",
        category_code=service_code or None,
        latitude=latitude,
        longitude=longitude,
    )
    try:
        draft.validated()
    except ValidationError as error:
        for name, message in error.fields.items():
            errors.setdefault(FIELD_NAMES.get(name, name), message)
    if errors:
        raise ValidationError(errors)
    return Filing(service_code, draft, media_url, fingerprint(form))


def error_descriptions(error: ValidationError, translate: Any) -> list[str]:
    """One spec error description per parameter: ``name: message``."""
    return [f"{name}: {translate(message)}" for name, message in sorted(error.fields.items())]
