"""WeChat official account adapter (wechatpy): webhook, message parsing, replies."""
