"""The local outbox: each email a `.eml` file in `.localdb/outbox/<ts>-<id>.eml` (stdlib `email`), listed by
`nexod outbox`. Nothing leaves the machine but the chat post (through the guarded outbound client)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from ..ports import Notification, Outbound
from .notify_chat import deliver

SENDER = "Nexod <nexod@localhost>"
_LINK = re.compile(r"https?://\S+/approve/\S+")


def message(notification: Notification, recipient: str, sender: str) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = notification.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="nexod.local")
    msg.set_content(notification.text_for(recipient))
    html = notification.html_for(recipient)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


class LocalOutbox:
    """The `Notifier` of local mode."""

    def __init__(self, folder: Path, outbound: Callable[[], Outbound] | None = None, sender: str = SENDER) -> None:
        self.folder = folder
        self.outbound = outbound
        self.sender = sender

    def send(self, notification: Notification) -> None:
        deliver(notification, lambda to: self._write(message(notification, to, self.sender)), self.outbound)

    def _write(self, msg: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # links in it are credentials
        with os.fdopen(fd, "wb") as out:
            out.write(msg.as_bytes())
        return path


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    date: str
    to: str
    subject: str
    link: str | None
    path: Path


def read_outbox(folder: Path) -> list[OutboxEntry]:
    """The outbox's messages, oldest first."""
    entries = []
    for path in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        found = _LINK.search(text)
        entries.append(
            OutboxEntry(
                path.stem,
                str(msg["Date"] or ""),
                str(msg["To"] or ""),
                str(msg["Subject"] or ""),
                found.group(0) if found else None,
                path,
            )
        )
    return entries
