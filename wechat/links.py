"""Links in a push to a WeChat citizen, opened inside WeChat's browser through 网页授权.

A status push or survey invitation carries links to the portal (the survey page, the tracking
page). Opened as they are, the portal does not know who the citizen is: the tracking page asks
for the ticket number and query code. Sent through ``/wechat/oauth/start?next=…`` instead, WeChat
names the citizen silently (``snsapi_base``) and the browser lands straight on the right page:
the ticket's own page for a ticket's push (the generic ``/track`` becomes ``/track/<number>``,
which opens for its owner), the survey for a survey link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from delivery.senders import Outgoing
from wechat.oauth import local_path

START = "/wechat/oauth/start"
_NUMBER = re.compile(r"^[0-9A-Za-z-]{1,40}$")


@dataclass(frozen=True)
class InWeChatLinks:
    """Rewrites this site's links (under ``public_base_url``) in a message to a WeChat citizen."""

    public_base_url: str

    @property
    def base(self) -> str:
        return self.public_base_url.rstrip("/")

    def ticket_page(self, message: Outgoing) -> str | None:
        """The path of the ticket's own page, when the message is about a ticket."""
        number = message.params.get("number")
        if isinstance(number, str) and _NUMBER.match(number):
            return "/track/" + quote(number)
        return None

    def signed_in(self, path: str) -> str:
        """The address that opens ``path`` with the citizen known (a local path only)."""
        return f"{self.base}{START}?{urlencode({'next': path})}"

    def page(self, url: str, message: Outgoing) -> str:
        """``url`` as it should be opened from WeChat: through 网页授权 when it is one of ours
        (the generic tracking page made the ticket's own), unchanged otherwise."""
        if not self.base or not (url == self.base or url.startswith(self.base + "/")):
            return url
        parts = urlsplit(url)
        path = parts.path or "/"
        if path.startswith(START) or path.startswith("/wechat/"):
            return url
        if path.rstrip("/") == "/track" and not parts.query:
            path = self.ticket_page(message) or path
        target = path + (f"?{parts.query}" if parts.query else "")
        return self.signed_in(target) if local_path(target) else url

    def text(self, text: str, message: Outgoing) -> str:
        """Every link of ours in ``text`` rewritten with :meth:`page`."""
        if not self.base:
            return text
        pattern = re.compile(re.escape(self.base) + r"(?:/[^\s\u3000-\u303f\uff00-\uffef]*)?")
        return pattern.sub(lambda found: self.page(found.group(0), message), text)

    def template_url(self, message: Outgoing) -> str | None:
        """The link of a template message: the survey when the message has one, else the
        ticket's own page."""
        survey = message.extra.get("survey_link")
        if survey:
            return self.page(str(survey), message)
        path = self.ticket_page(message)
        return self.signed_in(path) if path and self.base else None
