"""WeChat official account adapter (wechatpy): webhook, message parsing, replies.

``wechat.channel`` (the channel's capabilities) is imported by ``create_app`` at start-up: keep
this ``__init__`` free of wechatpy."""
