"""Ticket intake: kind → description → location → contact phone → summary and confirmation.

The draft lives in the conversation's ``data`` so that any process can continue it. 取消 cancels
at every step (handled by the dialog before the step runs).
"""

from __future__ import annotations

from typing import Any

from bot.engine import intents
from bot.engine.turn import Turn
from bot.engine.types import Choice, Location
from core.errors import DomainError, ValidationError
from core.i18n import N_
from directory.models import Citizen
from tickets.access import CitizenActor
from tickets.models import KIND_LABELS, Kind
from tickets.workflow import (
    MAX_ADDRESS,
    MAX_DESCRIPTION,
    TicketDraft,
    is_valid_mobile,
    normalize_phone,
    submit_ticket,
)

MIN_DESCRIPTION = 5  # (choice) fewer characters rarely describe a request a department can act on

STEP_FOR_FIELD = {
    "kind": "wizard_kind",
    "description": "wizard_description",
    "title": "wizard_description",
    "address": "wizard_location",
    "location": "wizard_location",
    "phone": "wizard_phone",
    "anonymous": "wizard_phone",
}


def _draft(turn: Turn) -> dict[str, Any]:
    return dict(turn.data.get("draft") or {})


def _go(turn: Turn, state: str, draft: dict[str, Any]) -> None:
    turn.set_state(state, draft=draft)


def _kind_label(turn: Turn, kind: str) -> str:
    return turn.t(KIND_LABELS[Kind(kind)])


def start(turn: Turn, kind: Kind | None = None) -> None:
    draft: dict[str, Any] = {"key": f"{turn.conversation.id}:{turn.message.message_id}"}
    if kind is None:
        _go(turn, "wizard_kind", draft)
        ask_kind(turn)
        return
    draft["kind"] = kind.value
    _go(turn, "wizard_description", draft)
    ask_description(turn, draft)


def ask_kind(turn: Turn) -> None:
    labels = [(str(i), _kind_label(turn, k.value)) for i, k in enumerate(intents.KIND_ORDER, 1)]
    lines = [turn.t(N_("What kind of request is it? Reply with a number:"))]
    lines += [f"{n} {label}" for n, label in labels]
    lines.append(turn.t(N_("(Send 取消 to stop at any time.)")))
    turn.say_text("\n".join(lines), *(Choice(n, f"{n} {label}") for n, label in labels))


def ask_description(turn: Turn, draft: dict[str, Any]) -> None:
    turn.say(
        N_("%(kind)s: please describe your request: what happened, when and where."),
        kind=_kind_label(turn, draft["kind"]),
    )


def ask_location(turn: Turn) -> None:
    turn.say(
        N_(
            "Where is it? Type the address, or share your location. "
            "Send \u201c跳过\u201d if there is no particular place."
        ),
        turn.choice("跳过", N_("Skip")),
    )


def ask_phone(turn: Turn, draft: dict[str, Any]) -> None:
    if draft.get("kind") == Kind.REPORT.value:
        turn.say(
            N_(
                "Your mobile number, so that the department can reach you. A report may be "
                "anonymous: send \u201c匿名\u201d and we will not ask for your contact."
            ),
            turn.choice("匿名", N_("Anonymous")),
        )
        return
    turn.say(N_("Your mobile number, so that the department can reach you (11 digits)."))


def ask_confirmation(turn: Turn, draft: dict[str, Any]) -> None:
    if draft.get("anonymous"):
        contact = turn.t(N_("anonymous"))
    else:
        phone = str(draft.get("phone") or "")
        contact = phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone
    turn.say(
        N_(
            "Please check your request:\nKind: %(kind)s\nDescription: %(description)s\n"
            "Place: %(place)s\nContact: %(contact)s\nSend \u201c确认\u201d to submit it or "
            "\u201c取消\u201d to cancel."
        ),
        turn.choice("确认", N_("Submit")),
        turn.choice("取消", N_("Cancel")),
        kind=_kind_label(turn, draft["kind"]),
        description=draft["description"],
        place=draft.get("address") or turn.t(N_("not given")),
        contact=contact,
    )


def step(turn: Turn) -> None:
    """Run the step the conversation is at with the citizen's message."""
    state = turn.conversation.state
    draft = _draft(turn)
    if intents.is_help(turn.text):
        turn.say(
            N_("You are submitting a ticket. Answer the question below, or send 取消 to stop.")
        )
        _reask(turn, state, draft)
        return
    handler = {
        "wizard_kind": _on_kind,
        "wizard_description": _on_description,
        "wizard_location": _on_location,
        "wizard_phone": _on_phone,
        "wizard_confirm": _on_confirm,
    }[state]
    handler(turn, draft)


def _reask(turn: Turn, state: str, draft: dict[str, Any]) -> None:
    if state == "wizard_kind":
        ask_kind(turn)
    elif state == "wizard_description":
        ask_description(turn, draft)
    elif state == "wizard_location":
        ask_location(turn)
    elif state == "wizard_phone":
        ask_phone(turn, draft)
    else:
        ask_confirmation(turn, draft)


def _on_kind(turn: Turn, draft: dict[str, Any]) -> None:
    kind = intents.kind_choice(turn.text)
    if kind is None:
        turn.say(N_("Please reply with a number from 1 to 5."))
        ask_kind(turn)
        return
    draft["kind"] = kind.value
    _go(turn, "wizard_description", draft)
    ask_description(turn, draft)


def _on_description(turn: Turn, draft: dict[str, Any]) -> None:
    text = turn.text.strip()
    if turn.message.image:
        # A new list, never the stored one changed in place: the JSON column would see no
        # change and keep only the first picture.
        draft["images"] = [*draft.get("images", []), turn.message.image]
        if not text:
            turn.say(N_("The picture is attached. Now please describe the request in words."))
            _go(turn, "wizard_description", draft)
            return
    if len(text) < MIN_DESCRIPTION:
        turn.say(N_("Please describe the request in a few more words (at least 5 characters)."))
        return
    if len(text) > MAX_DESCRIPTION:
        turn.say(N_("The description can be at most 4,000 characters. Please shorten it."))
        return
    draft["description"] = text
    kept = turn.kept_location()
    if kept is not None:  # shared before the intake began: the place of this ticket
        _set_location(turn, draft, kept)
        turn.set_state("wizard_phone", draft=draft, kept_location=None)
        turn.say(N_("The place you shared is used: %(address)s."), address=draft["address"])
        ask_phone(turn, draft)
        return
    _go(turn, "wizard_location", draft)
    ask_location(turn)


def _set_location(turn: Turn, draft: dict[str, Any], location: Location) -> None:
    draft["latitude"], draft["longitude"] = location.latitude, location.longitude
    draft["address"] = (location.label or "").strip()[:MAX_ADDRESS] or turn.t(
        N_("Shared location (%(lat).5f, %(lon).5f)"),
        lat=location.latitude,
        lon=location.longitude,
    )


def _on_location(turn: Turn, draft: dict[str, Any]) -> None:
    location = turn.message.location
    if location is not None:
        _set_location(turn, draft, location)
        turn.set_state("wizard_location", draft=draft, kept_location=None)
    elif intents.is_skip(turn.text):
        draft["address"] = None
    else:
        address = turn.text.strip()
        if not address:
            ask_location(turn)
            return
        if len(address) > MAX_ADDRESS:
            turn.say(N_("The address can be at most 300 characters. Please shorten it."))
            return
        draft["address"] = address
    _go(turn, "wizard_phone", draft)
    ask_phone(turn, draft)


def _on_phone(turn: Turn, draft: dict[str, Any]) -> None:
    if draft.get("kind") == Kind.REPORT.value and intents.is_anonymous(turn.text):
        draft["anonymous"], draft["phone"] = True, None
    else:
        phone = normalize_phone(intents.normalize(turn.text))
        if not is_valid_mobile(phone):
            turn.say(
                N_(
                    "\u201c%(text)s\u201d is not a mainland mobile number. Please enter 11 digits, "
                    "e.g. 13800138000."
                ),
                text=turn.text.strip()[:30],
            )
            return
        draft["anonymous"], draft["phone"] = False, phone
    _go(turn, "wizard_confirm", draft)
    ask_confirmation(turn, draft)


def _on_confirm(turn: Turn, draft: dict[str, Any]) -> None:
    if intents.is_no(turn.text):
        turn.set_state("idle")
        turn.say(N_("Cancelled. Nothing was submitted."))
        return
    if not intents.is_yes(turn.text):
        turn.say(N_("Please send \u201c确认\u201d to submit or \u201c取消\u201d to cancel."))
        return
    conversation = turn.conversation
    citizen = (
        turn.session.get(Citizen, conversation.citizen_id) if conversation.citizen_id else None
    )
    ticket_draft = TicketDraft(
        kind=draft["kind"],
        description=draft["description"],
        address=draft.get("address"),
        phone=draft.get("phone"),
        anonymous=bool(draft.get("anonymous")),
        latitude=draft.get("latitude"),
        longitude=draft.get("longitude"),
        extra={"images": draft.get("images", [])},
    )
    try:
        ticket = submit_ticket(
            turn.session,
            ticket_draft,
            actor=CitizenActor(conversation.citizen_id, conversation.channel),
            channel=conversation.channel,
            citizen=citizen,
            idempotency_key=f"chat:{draft['key']}",
        )
    except ValidationError as error:
        field, message = next(iter(error.fields.items()))
        turn.say_text(turn.t(message))
        state = STEP_FOR_FIELD.get(field)
        if state is None:
            turn.set_state("idle")
            return
        _go(turn, state, draft)
        _reask(turn, state, draft)
        return
    except DomainError as error:
        turn.set_state("idle")
        turn.say_text(turn.t(error.message, **error.params))
        return
    if draft.get("phone") and citizen is not None and not citizen.phone:
        citizen.phone = draft["phone"]
    turn.set_state("idle")
    turn.say(
        N_(
            "Your ticket has been submitted.\nTicket number: %(number)s\nQuery code: %(code)s\n"
            "Keep the query code. Send \u201c查询 %(number)s\u201d to follow its progress."
        ),
        turn.choice(f"查询 {ticket.number}", N_("Check progress")),
        number=ticket.number,
        code=ticket.query_code,
    )
