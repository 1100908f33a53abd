"""The `Notifier` port (issue 11): tell people outside the console that something waits for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChatWebhook:
    """A Slack-compatible incoming webhook (`{"text": ...}` POSTed to `url`), with the hosts the workspace
    allows its outbound calls to reach."""

    url: str
    allow_hosts: tuple[str, ...] = ()
    text: str | None = None  # what the channel reads (default: the notification's text without a link)


@dataclass(frozen=True, slots=True)
class Notification:
    """One message: an email to each of `recipients` (with its own `links[recipient]`), and a chat post."""

    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    chat: ChatWebhook | None = None
    # A recipient's own signed link (its text and html carry `{link}` where it goes).
    links: dict[str, str] = field(default_factory=dict)

    def text_for(self, recipient: str) -> str:
        return self.text.replace("{link}", self.links.get(recipient, ""))

    def html_for(self, recipient: str) -> str | None:
        return None if self.html is None else self.html.replace("{link}", self.links.get(recipient, ""))


class NotificationFailed(Exception):
    """A channel refused or could not be reached; `sent` names what did go out before it."""

    def __init__(self, message: str, sent: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.sent = sent


class Notifier(Protocol):
    """Amazon SES in AWS, the local outbox (`.localdb/outbox/*.eml`) in local mode; chat through the guarded
    outbound client. Raises `NotificationFailed` when any part failed (the rest was attempted)."""

    def send(self, notification: Notification) -> None: ...
