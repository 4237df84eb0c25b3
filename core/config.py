"""Configuration: defaults, then ``HOTLINE_*`` environment variables, then explicit overrides.

Secrets (the secret key, channel tokens) come only from the environment or from the overrides a
test passes; nothing secret has a usable default in production.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

PREFIX = "HOTLINE_"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///instance/core.db",
    "SECRET_KEY": None,  # required outside debug/testing; see create_app
    "TIMEZONE": "Asia/Shanghai",
    "DEFAULT_LOCALE": "zh_CN",
    "LOCALES": ["zh_CN", "en"],
    "REDIS_URL": None,
    "RATELIMIT_ENABLED": True,
    "UPLOAD_DIR": "instance/uploads",
    "HOTLINE_NAME": "12345市民服务热线",
    "HOTLINE_NAME_EN": "12345 Citizen Service Hotline",
    "HOTLINE_PHONE": "12345",
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",  # for links in messages (survey, tracking)
    "WECHAT_ACCOUNT_NAME": "12345市民服务热线",
    # The WeChat official account (公众号). No token: the /wechat endpoint is off (404).
    "WECHAT_TOKEN": None,  # 令牌 (Token) of the server configuration
    "WECHAT_APP_ID": None,  # AppID
    "WECHAT_APP_SECRET": None,  # AppSecret (the outbound client's access token)
    "WECHAT_AES_KEY": None,  # EncodingAESKey (43 characters) for compatible and safe mode
    # "plain" (明文), "compatible" (兼容) or "safe" (安全); empty: safe with an AES key, else plain
    "WECHAT_MODE": "",
    "WECHAT_API_BASE": "https://api.weixin.qq.com",
    # An answer that takes longer goes out as a customer-service message (WeChat waits 5 s).
    "WECHAT_PASSIVE_REPLY_SECONDS": 4.0,
    # SMS to callers (sms/). No provider: SMS only logs (delivery.senders.logging_sms_sender).
    "SMS_PROVIDER": "",  # "tencent": Tencent Cloud SMS, API 3.0 SendSms
    "SMS_SECRET_ID": None,  # API key SecretId (访问管理 → API 密钥)
    "SMS_SECRET_KEY": None,  # its SecretKey
    "SMS_APP_ID": None,  # the SMS application's SdkAppId, e.g. 1400006666
    "SMS_SIGN_NAME": None,  # the approved signature (签名), e.g. 珠海12345
    "SMS_TEMPLATES": None,  # JSON {outbox template: approved template id}
    "SMS_API_BASE": "https://sms.tencentcloudapi.com",
    "SMS_REGION": "ap-guangzhou",
    "SMS_TIMEOUT_SECONDS": 10.0,
    "SMS_REPLY_TOKEN": None,  # secret in the reply callback URL; unset: /sms/replies is off (404)
    "SMS_REPLY_ALLOWED_IPS": [],  # networks the reply callback may come from; empty: any
    # The Telegram bot. No token: no sender, no webhook (404), the telegram commands refuse.
    "TELEGRAM_TOKEN": None,  # the token @BotFather gave
    "TELEGRAM_API_BASE": "https://api.telegram.org",  # another Bot API server (tests: a fake)
    "TELEGRAM_WEBHOOK_SECRET": None,  # X-Telegram-Bot-Api-Secret-Token; unset: no webhook (404)
    "TELEGRAM_WEBHOOK_URL": "",  # empty: PUBLIC_BASE_URL + /telegram/webhook
    "TELEGRAM_THREADS": 4,  # threads the bot's engine work runs in (off the event loop)
    "RUN_WORKER": False,  # make run sets it: worker and scheduler in-process
    # FAQ hit counts and the gap log are kept in each process and written this often
    # (knowledge.usage: by `flask serve`'s flusher thread and the scheduler's knowledge_usage job).
    "KNOWLEDGE_USAGE_FLUSH_SECONDS": 5.0,
    # How often the scheduler checks whether the knowledge base changed enough to refit its
    # answer thresholds (knowledge.refit: 10% of the FAQs added, removed or edited).
    "KNOWLEDGE_REFIT_INTERVAL_SECONDS": 3600.0,
    # The optional semantic model's did-you-mean (knowledge.semantic): "auto" uses it where it is
    # installed and the FAQs are embedded; "off" never.
    "KNOWLEDGE_SEMANTIC": "auto",
    # Recent search results kept per process for repeated questions (knowledge.matcher); 0: none.
    "KNOWLEDGE_SEARCH_CACHE": 2048,
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto it believes (nginx: 1).
    # 0: the client address is the connection's, whatever a header claims.
    "TRUSTED_PROXIES": 0,
    "SESSION_LIFETIME_MINUTES": 480,
    # Platforms an operator may hand a call to (转110 …): code → name, English name, number.
    # HOTLINE_TRANSFER_PARTNERS takes the same as JSON.
    "TRANSFER_PARTNERS": {
        "110": {"name": "110 报警服务台", "name_en": "Police (110)", "phone": "110"},
        "119": {"name": "119 消防救援", "name_en": "Fire and rescue (119)", "phone": "119"},
        "120": {"name": "120 急救中心", "name_en": "Ambulance (120)", "phone": "120"},
        "122": {"name": "122 交通事故报警", "name_en": "Traffic accidents (122)", "phone": "122"},
        "12315": {
            "name": "12315 市场监管投诉举报",
            "name_en": "Market regulation (12315)",
            "phone": "12315",
        },
    },
    # Open311 GeoReport v2 (open311/): requests per API key (a key's own limit overrides it),
    # requests per IP without a key; the jurisdiction_id served (empty: any is accepted).
    "OPEN311_RATELIMIT_KEY": "60 per minute",
    "OPEN311_RATELIMIT_READ": "120 per minute",
    "OPEN311_JURISDICTION_ID": "",
    "TESTING": False,
    "DEBUG": False,
    "SQL_ECHO": False,
}


def _coerce(raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list | dict):
        return json.loads(raw) if raw.strip().startswith(("[", "{")) else raw.split(",")
    return raw


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the effective configuration (keys without the prefix)."""
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key, value in env.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX) :]
            config[name] = _coerce(value, DEFAULTS.get(name, ""))
    if overrides:
        config.update(overrides)
    return config
