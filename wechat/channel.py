"""The WeChat channel as the engine sees it: what it can do, registered at start-up (light: no
wechatpy here, the composition root imports this module)."""

from __future__ import annotations

from delivery.channels import ChannelCapabilities, register_channel

CHANNEL = "wechat"
# An official account may send customer-service messages (客服消息) only within 48 hours of the
# citizen's last message.
CAPABILITIES = ChannelCapabilities(can_push=True, reply_window_hours=48)


def register_channels() -> None:
    register_channel(CHANNEL, CAPABILITIES)
