"""The JSON API's contract: an OpenAPI 3.0 document served at ``GET /api/v1/openapi.json``.

Written by hand next to the routes it describes; ``tests/edge/test_openapi.py`` checks that it is
a valid OpenAPI document, that it names exactly the routes ``/api/v1`` serves, and runs
schemathesis against the app with it (every documented status, content type and body shape, and
never a 5xx). Open311 (``/open311/v2``) has its own standard and the WeChat, Telegram and SMS
callbacks are their providers' protocols; they are not part of this document.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from knowledge.search import SEARCH_CHANNELS
from portal.api.blueprint import bp
from tickets.models import Kind

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "Unreadable input (a parameter, NUL characters, malformed JSON)",
        401: "Not signed or the chat has expired",
        404: "Unknown",
        409: "A replayed request",
        413: "Too large",
        415: "Not JSON",
        422: "Invalid fields (named in `fields`)",
        429: "Rate limited",
    }
    return {str(code): _json(ERROR, words[code]) for code in codes}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}

HIT = {
    "type": "object",
    "required": ["id", "question", "answer", "score"],
    "properties": {
        "id": {"type": "integer"},
        "question": STRING,
        "answer": STRING,
        "category": NULLABLE_STRING,
        "department": NULLABLE_STRING,
        "score": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "The word matcher's calibrated probability that this FAQ is the one "
            "asked about; for a did-you-mean the semantic model added, its cosine similarity.",
        },
    },
}

CHAT_STATE = {
    "type": "object",
    "required": ["mode", "messages"],
    "properties": {
        "mode": STRING,
        "queue": NULLABLE_STRING,
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "sender", "text", "choices", "at"],
                "properties": {
                    "id": {"type": "integer"},
                    "sender": {"type": "string", "enum": ["citizen", "bot", "staff"]},
                    "text": STRING,
                    "choices": {"type": "array", "items": {"type": "object"}},
                    "staff_name": NULLABLE_STRING,
                    "at": STRING,
                },
            },
        },
    },
}

CTI_EVENT = {
    "type": "object",
    "required": ["type", "call_id", "at"],
    "properties": {
        "type": {"type": "string", "enum": ["offered", "answered", "ended", "abandoned"]},
        "call_id": STRING,
        "at": {"type": "string", "format": "date-time"},
        "caller": STRING,
        "queue": STRING,
        "agent": STRING,
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "12345 citizen-service hotline API",
        "version": "1",
        "description": (
            "Tickets, FAQ search, the web chat and switchboard (CTI) events. Errors are JSON "
            '`{"error": ..., "fields": {...}}` with translated messages (Accept-Language: '
            "zh-CN by default, en)."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/tickets": {
            "post": {
                "summary": "Submit a ticket (an Idempotency-Key makes a retry return the first)",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 150},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["kind", "description"],
                                "properties": {
                                    "kind": {"type": "string", "enum": [k.value for k in Kind]},
                                    "title": STRING,
                                    "description": STRING,
                                    "address": STRING,
                                    "contact_name": STRING,
                                    "phone": STRING,
                                    "category": STRING,
                                    "anonymous": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "required": ["number", "query_code", "status", "track_url"],
                            "properties": {
                                "number": STRING,
                                "query_code": STRING,
                                "status": STRING,
                                "track_url": STRING,
                            },
                        },
                        "The ticket (the first one, for a retried Idempotency-Key)",
                    ),
                    **_errors(400, 413, 422, 429),
                },
            }
        },
        "/tickets/{number}": {
            "get": {
                "summary": "A ticket's public state, with its query code or the contact phone",
                "parameters": [
                    {"name": "number", "in": "path", "required": True, "schema": STRING},
                    {"name": "code", "in": "query", "required": False, "schema": STRING},
                    {"name": "phone", "in": "query", "required": False, "schema": STRING},
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["number", "kind", "status", "timeline"],
                            "properties": {
                                "number": STRING,
                                "kind": STRING,
                                "title": STRING,
                                "status": STRING,
                                "status_text": STRING,
                                "department": NULLABLE_STRING,
                                "due_date": NULLABLE_STRING,
                                "created_at": STRING,
                                "closed_at": NULLABLE_STRING,
                                "reply": NULLABLE_STRING,
                                "timeline": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "The ticket",
                    ),
                    **_errors(400, 404, 429),
                },
            }
        },
        "/faq/search": {
            "get": {
                "summary": "Answer a question from the knowledge base",
                "parameters": [
                    {"name": "q", "in": "query", "required": False, "schema": STRING},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 10},
                    },
                    {
                        "name": "channel",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(SEARCH_CHANNELS)},
                    },
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["query", "answered", "best", "suggestions"],
                            "properties": {
                                "query": STRING,
                                "answered": {"type": "boolean"},
                                "best": {"allOf": [HIT], "nullable": True},
                                "suggestions": {"type": "array", "items": HIT},
                            },
                        },
                        "The answer, or did-you-mean suggestions, or nothing",
                    ),
                    **_errors(400, 429),
                },
            }
        },
        "/chat/start": {
            "post": {
                "summary": "Start (or resume) the web chat; sets the chat cookie",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": _json(CHAT_STATE, "The conversation"),
                    **_errors(400, 415, 429),
                },
            }
        },
        "/chat/send": {
            "post": {
                "summary": "Send a message in the web chat (needs the chat cookie)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text", "client_id"],
                                "properties": {
                                    "text": {"type": "string", "maxLength": 2000},
                                    "client_id": {"type": "string", "maxLength": 100},
                                    "after": {"type": "integer", "minimum": 0},
                                    "location": {"type": "object"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(CHAT_STATE, "The conversation after the message"),
                    **_errors(400, 401, 415, 429),
                },
            }
        },
        "/chat/poll": {
            "get": {
                "summary": "Messages after a message id (needs the chat cookie)",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0},
                    }
                ],
                "responses": {
                    "200": _json(CHAT_STATE, "The conversation's newer messages"),
                    **_errors(400, 401, 429),
                },
            }
        },
        "/cti/events": {
            "post": {
                "summary": "Switchboard call events, signed with the system's key",
                "parameters": [
                    {"name": name, "in": "header", "required": False, "schema": STRING}
                    for name in (
                        "X-CTI-Key-Id",
                        "X-CTI-Timestamp",
                        "X-CTI-Nonce",
                        "X-CTI-Signature",
                    )
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    CTI_EVENT,
                                    {
                                        "type": "object",
                                        "required": ["events"],
                                        "properties": {
                                            "events": {
                                                "type": "array",
                                                "items": CTI_EVENT,
                                                "maxItems": 500,
                                            }
                                        },
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["accepted", "duplicates", "results"],
                            "properties": {
                                "batch": {"type": "boolean"},
                                "accepted": {"type": "integer"},
                                "duplicates": {"type": "integer"},
                                "results": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "What became of each event",
                    ),
                    **_errors(400, 401, 409, 413, 422),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document")},
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": STRING,
                    "fields": {"type": "object", "additionalProperties": STRING},
                },
            }
        }
    },
}


@bp.get("/openapi.json")
def openapi_document() -> Any:
    return jsonify(DOCUMENT)
