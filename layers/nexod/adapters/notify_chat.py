"""Chat notifications: a Slack-compatible incoming webhook (`{"text": ...}`), POSTed through the guarded
outbound client with the workspace's allow-list, like an http node."""

from __future__ import annotations

from collections.abc import Callable

from ..ports import ChatWebhook, Notification, NotificationFailed, Outbound

CHAT_TIMEOUT_SECONDS = 10.0


def post_chat(outbound: Outbound, chat: ChatWebhook, text: str) -> None:
    try:
        response = outbound.request(
            "POST",
            chat.url,
            headers={"Content-Type": "application/json"},
            body={"text": text},
            timeout=CHAT_TIMEOUT_SECONDS,
            follow_redirects=False,
            max_redirects=0,
            allow_hosts=list(chat.allow_hosts),
        )
    except Exception as exc:  # the guard's refusals and network errors alike: the notifier's caller logs them
        raise NotificationFailed(f"chat webhook: {exc}") from exc
    if not 200 <= response.status < 300:
        raise NotificationFailed(f"chat webhook answered HTTP {response.status}")


def deliver(
    notification: Notification, send_email: Callable[[str], object], outbound: Callable[[], Outbound] | None
) -> None:
    """Each recipient's email, then the chat post; every part is attempted, failures raised together."""
    sent: list[str] = []
    failed: list[str] = []
    for recipient in notification.recipients:
        try:
            send_email(recipient)
            sent.append(recipient)
        except Exception as exc:
            failed.append(f"{recipient}: {exc}")
    if notification.chat is not None:
        if outbound is None:
            failed.append("chat webhook: this deployment has no outbound client")
        else:
            try:
                chat = notification.chat
                post_chat(outbound(), chat, chat.text if chat.text is not None else notification.text_for(""))
                sent.append("chat")
            except NotificationFailed as exc:
                failed.append(str(exc))
    if failed:
        raise NotificationFailed("; ".join(failed), tuple(sent))


class ChatOnly:
    """The `Notifier` of a deployment that sends no email (no SES identity configured): chat posts only."""

    def __init__(self, outbound: Callable[[], Outbound]) -> None:
        self.outbound = outbound

    def send(self, notification: Notification) -> None:
        deliver(notification, _no_email, self.outbound)


def _no_email(recipient: str) -> None:
    raise NotificationFailed("this deployment sends no email (configure its SES identity)")
