"""Amazon SES (v2 `SendEmail`) from the deployment's configured identity; the CDK grants `ses:SendEmail` on
that identity only. Chat posts go through the guarded outbound client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ports import Notification, Outbound
from .notify_chat import deliver


class SesNotifier:
    """The `Notifier` in AWS."""

    def __init__(
        self,
        client: Any,
        from_address: str,
        identity_arn: str | None = None,
        outbound: Callable[[], Outbound] | None = None,
    ) -> None:
        self.client = client
        self.from_address = from_address
        self.identity_arn = identity_arn
        self.outbound = outbound

    def send(self, notification: Notification) -> None:
        deliver(notification, lambda to: self._email(notification, to), self.outbound)

    def _email(self, notification: Notification, recipient: str) -> None:
        body: dict[str, Any] = {"Text": {"Data": notification.text_for(recipient), "Charset": "UTF-8"}}
        html = notification.html_for(recipient)
        if html is not None:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        request: dict[str, Any] = {
            "FromEmailAddress": self.from_address,
            "Destination": {"ToAddresses": [recipient]},  # one each: a recipient's link is theirs alone
            "Content": {"Simple": {"Subject": {"Data": notification.subject, "Charset": "UTF-8"}, "Body": body}},
        }
        if self.identity_arn:
            request["FromEmailAddressIdentityArn"] = self.identity_arn
        self.client.send_email(**request)
