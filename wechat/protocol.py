"""WeChat's server protocol (消息接口) on wechatpy, without Flask: the settings, the signature and
clock checks, the screen every body passes before an XML parser sees it, decryption (compatible
and safe mode), the parsed message as :class:`Incoming`, and the passive reply. The webhook
(``wechat.inbound``), ``flask wechat simulate`` and ``scripts/bench_wechat.py`` share it; the
last two also use the sender's half (:func:`signed_request`, :func:`read_reply`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import UnknownMessage
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner, check_signature

MAX_BODY = 64 * 1024  # bytes; WeChat's own messages are a few hundred
MAX_CLOCK_SKEW = 300  # seconds between the signed timestamp and our clock
MAX_REPLY_BYTES = 2048  # WeChat's limit for a text message's content (UTF-8 bytes)
MAX_FIELD = 200  # an openid is 28 characters; ChannelIdentity.external_id holds 200
SUCCESS = "success"  # "received, no reply": WeChat neither shows anything nor retries


class Mode(StrEnum):
    PLAIN = "plain"  # 明文模式: plain XML, signature over token/timestamp/nonce only
    COMPATIBLE = "compatible"  # 兼容模式: plain fields and an encrypted copy; both accepted
    SAFE = "safe"  # 安全模式: only the encrypted envelope (msg_signature covers it)


class ConfigError(ValueError):
    """The WeChat settings cannot work (an AES key that is not 43 base64 characters...)."""


class ProtocolError(Exception):
    """A request refused before anything was processed: ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Settings:
    token: str
    app_id: str
    aes_key: str | None
    mode: Mode

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings | None:
        """The configured account, or None when the channel is off (no ``WECHAT_TOKEN``)."""
        token = str(config.get("WECHAT_TOKEN") or "").strip()
        if not token:
            return None
        aes_key = str(config.get("WECHAT_AES_KEY") or "").strip() or None
        raw_mode = str(config.get("WECHAT_MODE") or "").strip().lower()
        if raw_mode:
            try:
                mode = Mode(raw_mode)
            except ValueError:
                raise ConfigError(f"WECHAT_MODE {raw_mode!r}: plain, compatible or safe") from None
        else:
            mode = Mode.SAFE if aes_key else Mode.PLAIN
        app_id = str(config.get("WECHAT_APP_ID") or "").strip()
        if aes_key is not None:
            if len(aes_key) != 43:
                raise ConfigError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
            try:
                key = base64.b64decode(aes_key + "=", validate=True)
            except binascii.Error:
                raise ConfigError("WECHAT_AES_KEY is not base64") from None
            if len(key) != 32:
                raise ConfigError("WECHAT_AES_KEY must decode to 32 bytes")
            if not app_id:
                raise ConfigError("WECHAT_APP_ID is needed to decrypt messages")
        elif mode != Mode.PLAIN:
            raise ConfigError(f"{mode} mode needs WECHAT_AES_KEY")
        return cls(token=token, app_id=app_id, aes_key=aes_key, mode=mode)

    def crypto(self) -> WeChatCrypto | None:
        if self.aes_key is None:
            return None
        return WeChatCrypto(self.token, self.aes_key, self.app_id)


# -- the request: signature, clock, body --------------------------------------------------------


def check_timestamp(raw: str | None, now: dt.datetime) -> None:
    if raw is None or not re.fullmatch(r"[0-9]{1,12}", raw):
        raise ProtocolError(403, "bad timestamp")
    if abs(int(raw) - now.timestamp()) > MAX_CLOCK_SKEW:
        raise ProtocolError(403, "stale timestamp")


def check_plain_signature(settings: Settings, args: Mapping[str, str]) -> None:
    signature, timestamp, nonce = args.get("signature"), args.get("timestamp"), args.get("nonce")
    if not signature or not timestamp or not nonce:
        raise ProtocolError(403, "missing signature")
    try:
        check_signature(settings.token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise ProtocolError(403, "bad signature") from None


def is_encrypted(args: Mapping[str, str]) -> bool:
    return (args.get("encrypt_type") or "").lower() == "aes"


def check_request(settings: Settings, args: Mapping[str, str], now: dt.datetime) -> None:
    """Signature and clock of a POST, before its body is read. An encrypted message is
    signed by ``msg_signature`` over its ``Encrypt`` too (checked on decryption); a plain one
    only by ``signature``, which safe mode does not accept alone."""
    if is_encrypted(args):
        if not args.get("msg_signature") or not args.get("nonce"):
            raise ProtocolError(403, "missing msg_signature")
    elif settings.mode == Mode.SAFE:
        raise ProtocolError(403, "plain message in safe mode")
    else:
        check_plain_signature(settings, args)
    check_timestamp(args.get("timestamp"), now)


_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_DECLARATION = re.compile(r"<!(?!--)")  # after CDATA sections: DOCTYPE, ENTITY, ELEMENT...


def screen_xml(raw: bytes | str) -> str:
    """The body as text if it may be given to an XML parser: UTF-8, not empty, and no markup
    declaration at all (no DTD, hence no entity: billion laughs and external entities never
    reach the parser). CDATA sections are text, so a citizen may still type ``<!``."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(400, "not UTF-8") from None
    else:
        text = raw
    if not text.strip():
        raise ProtocolError(400, "empty body")
    if _DECLARATION.search(_CDATA.sub("", text)):
        raise ProtocolError(400, "markup declarations are refused")
    return text


def _xml_dict(text: str) -> dict[str, Any]:
    try:
        parsed = xmltodict.parse(text, disable_entities=True)
    except Exception:  # expat errors, entities: whatever the parser refuses is malformed
        raise ProtocolError(400, "malformed XML") from None
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise ProtocolError(400, "no <xml> root")
    return root


def open_body(settings: Settings, text: str, args: Mapping[str, str]) -> tuple[str, bool]:
    """The message XML and whether it came encrypted (the reply goes back the same way)."""
    if not is_encrypted(args):
        return text, False
    crypto = settings.crypto()
    if crypto is None:
        raise ProtocolError(400, "encrypted message but no AES key configured")
    encrypt = _xml_dict(text).get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise ProtocolError(400, "no Encrypt element")
    try:
        plain = crypto.decrypt_message(
            {"Encrypt": encrypt}, args["msg_signature"], args["timestamp"], args["nonce"]
        )
    except InvalidSignatureException:
        raise ProtocolError(403, "bad msg_signature") from None
    except InvalidAppIdException:
        raise ProtocolError(403, "message for another app id") from None
    except Exception:  # bad base64, padding, length: not a message of ours
        raise ProtocolError(400, "cannot decrypt") from None
    return screen_xml(plain), True


# -- the message ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """What the adapter needs of one message or event, every field checked to be text."""

    kind: str  # text, image, voice, video, shortvideo, location, link, event, unknown...
    event: str | None  # lower case: subscribe, subscribe_scan, unsubscribe, click, view...
    sender: str  # FromUserName: the citizen's openid
    account: str  # ToUserName: the official account's original id
    create_time: str
    msg_id: str | None
    content: str | None = None
    media_id: str | None = None
    recognition: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    label: str | None = None
    key: str | None = None  # EventKey of a menu click; the scene of a QR code

    @property
    def message_id(self) -> str:
        """The id a resend repeats: MsgId, or (events have none) sender + CreateTime."""
        return self.msg_id or f"{self.sender}:{self.create_time}"


def _text(value: Any, *, limit: int | None = None) -> str | None:
    """A field's text; anything else (a nested element, repeated elements) counts as absent."""
    if not isinstance(value, str):
        return None
    return value[:limit] if limit else value


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def parse(xml: str) -> Incoming:
    """Parse a screened message with wechatpy; a message without sender, account or time,
    or that is not XML, is malformed (400)."""
    try:
        message = parse_message(xml)
    except Exception:
        raise ProtocolError(400, "malformed message") from None
    if message is None:
        raise ProtocolError(400, "empty message")
    data: dict[str, Any] = message._data  # the parsed fields, before wechatpy's converters
    sender = _text(data.get("FromUserName"))
    account = _text(data.get("ToUserName"))
    create_time = _text(data.get("CreateTime"))
    if not sender or not account or not create_time or len(sender) > MAX_FIELD:
        raise ProtocolError(400, "message without sender, account or time")
    if len(account) > MAX_FIELD or not re.fullmatch(r"[0-9]{1,12}", create_time):
        raise ProtocolError(400, "bad account or time")
    raw_type = (_text(data.get("MsgType")) or "").strip().lower()
    msg_id = _text(data.get("MsgId"))
    if msg_id is not None and not re.fullmatch(r"[0-9]{1,30}", msg_id):
        msg_id = None
    if isinstance(message, UnknownMessage):
        kind = "event" if raw_type == "event" else "unknown"
        event = None
        if kind == "event":
            event = (_text(data.get("Event")) or "").strip().lower() or None
    else:
        kind = message.type
        event = getattr(message, "event", None) if kind == "event" else None
    is_location = kind == "location"
    return Incoming(
        kind=kind,
        event=event,
        sender=sender,
        account=account,
        create_time=create_time,
        msg_id=msg_id,
        content=_text(data.get("Content")),
        media_id=_text(data.get("MediaId"), limit=MAX_FIELD),
        recognition=_text(data.get("Recognition")),
        latitude=_float(data.get("Location_X" if is_location else "Latitude")),
        longitude=_float(data.get("Location_Y" if is_location else "Longitude")),
        label=_text(data.get("Label"), limit=300),
        key=_text(data.get("EventKey"), limit=MAX_FIELD),
    )


# -- the passive reply ---------------------------------------------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _cdata(text: str) -> str:
    """Text that stays inside wechatpy's ``<![CDATA[...]]>`` (a "]]>" would end it early)."""
    return _XML_INVALID.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def clip(text: str, limit: int = MAX_REPLY_BYTES) -> str:
    """At most ``limit`` UTF-8 bytes, cut at a character and marked with an ellipsis."""
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[: limit - len("…".encode())].decode("utf-8", errors="ignore")
    return cut.rstrip() + "…"


def passive_reply(
    settings: Settings,
    incoming: Incoming,
    text: str,
    *,
    encrypted: bool,
    nonce: str,
    now: dt.datetime,
) -> str:
    """A text reply from the account to the citizen, encrypted if the message was."""
    timestamp = int(now.timestamp())
    reply = TextReply(
        source=_cdata(incoming.account),
        target=_cdata(incoming.sender),
        content=_cdata(clip(text)),
        time=timestamp,
    )
    xml: str = reply.render()
    if not encrypted:
        return xml
    crypto = settings.crypto()
    assert crypto is not None  # open_body refused an encrypted message without a key
    return str(crypto.encrypt_message(xml, nonce, str(timestamp)))


# -- the sender's side: what WeChat's server does (simulate, benchmark, tests) -----------------


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def text_message(
    sender: str, content: str, *, account: str, now: dt.datetime, msg_id: str | None = None
) -> str:
    """The XML WeChat posts for a citizen's text message."""
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{_cdata(account)}]]></ToUserName>"
        f"<FromUserName><![CDATA[{_cdata(sender)}]]></FromUserName>"
        f"<CreateTime>{int(now.timestamp())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{_cdata(content)}]]></Content>"
        f"<MsgId>{msg_id or secrets.randbelow(10**18)}</MsgId>"
        "</xml>"
    )


def signed_request(
    settings: Settings,
    xml: str,
    *,
    now: dt.datetime,
    encrypt: bool | None = None,
    openid: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], str]:
    """The query string and body WeChat would post for ``xml``: encrypted in compatible and
    safe mode unless ``encrypt`` says otherwise."""
    timestamp = str(int(now.timestamp()))
    nonce = nonce or str(secrets.randbelow(10**10))
    query = {"signature": sign(settings.token, timestamp, nonce), "timestamp": timestamp}
    query["nonce"] = nonce
    if openid:
        query["openid"] = openid
    if encrypt is None:
        encrypt = settings.mode != Mode.PLAIN
    if not encrypt:
        return query, xml
    crypto = settings.crypto()
    if crypto is None:
        raise ConfigError("encrypting needs WECHAT_AES_KEY")
    envelope = _xml_dict(str(crypto.encrypt_message(xml, nonce, timestamp)))
    body = (
        "<xml>"
        f"<ToUserName><![CDATA[{settings.app_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt>"
        "</xml>"
    )
    query.update(encrypt_type="aes", msg_signature=str(envelope["MsgSignature"]))
    return query, body


def read_reply(settings: Settings, body: str) -> str | None:
    """The text of a passive reply (decrypted and its signature checked if encrypted);
    None for "success" or an empty answer."""
    if body.strip() in ("", SUCCESS):
        return None
    root = _xml_dict(screen_xml(body))
    if "Encrypt" in root:
        crypto = settings.crypto()
        if crypto is None:
            raise ConfigError("an encrypted reply needs WECHAT_AES_KEY")
        signature = str(root.get("MsgSignature"))
        plain = crypto.decrypt_message(
            {"Encrypt": root["Encrypt"]}, signature, str(root["TimeStamp"]), str(root["Nonce"])
        )
        root = _xml_dict(screen_xml(plain))
    content = root.get("Content")
    return content if isinstance(content, str) else ""
