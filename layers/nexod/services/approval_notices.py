"""Approval notifications and reminders (issue 11): emails with signed one-time links and chat posts.

Sent after the commit of the change they announce, never inside it: the parker only schedules a notice
(`approval_notices`, due now), then the node runner's `on_parked` hook, or the sweeper (`remind_due`, every
minute locally, every five minutes in AWS), claims the due notice in its own unit of work, records the links
and the next due time, commits, and sends. A notifier that fails never fails the node: it is logged and
audited (`approval.notify_failed`). A notice lost that way is not retried; the next reminder (if any) is.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..domain.records import Approval
from ..ports import ChatWebhook, Notification, NotificationFailed, Notifier, ReminderClock, Store, Vault
from .approval_links import LinkSigner

log = logging.getLogger(__name__)
LINK_DAYS_WITHOUT_EXPIRY = 30


@dataclass
class ApprovalNotices:
    store: Store
    notifier: Notifier
    links: LinkSigner | None
    console_url: str
    vault: Vault | None = None  # reads the chat webhook's credential
    allow_hosts: list[str] = field(default_factory=list)  # the deployment's, besides the workspace's
    # Where no sweeper runs (the starter): each next notice sets a one-time wake-up of the sender for itself.
    clock: ReminderClock | None = None

    def notify_parked(self, workspace_id: str, run_id: str, node_id: str, iteration: int = 0) -> bool:
        """After a callback node parked: send its approval's first notice if one is due."""
        with self.store.tx(workspace_id) as uow:
            approval = uow.approvals.of_node(run_id, node_id, iteration)
        return approval is not None and self.send_due(workspace_id, approval.id)

    def remind_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Every notice due at `now` in every workspace (first notices not yet sent, and reminders)."""
        now = now or datetime.now(UTC)
        with self.store.tx(None) as uow:
            due = uow.approvals.due_notices(now, limit)
        return sum(1 for workspace_id, approval_id in due if self.send_due(workspace_id, approval_id, now))

    def send_due(self, workspace_id: str, approval_id: str, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        with self.store.tx(workspace_id) as uow:
            if not uow.approvals.due_notice(approval_id, now):  # not due, or another sender holds it
                return False
            approval = uow.approvals.get(approval_id)
            if approval is None or approval.status != "pending":
                uow.approvals.schedule_notice(approval_id, None)
                return False
            reminder = approval.notified_at is not None
            notify = approval.notify if isinstance(approval.notify, dict) else {}
            emails = [str(e) for e in notify.get("emails") or []]
            links: dict[str, str] = {}
            expires = approval.expires_at or now + timedelta(days=LINK_DAYS_WITHOUT_EXPIRY)
            for email in emails if self.links is not None else []:
                assert self.links is not None
                claims = self.links.issue(approval.id, workspace_id, email, expires)
                uow.approvals.issue_link(claims.nonce, approval.id, email, expires)
                links[email] = (
                    f"{self.console_url.rstrip('/')}/#/approve/{self.links.token(claims)}"  # the console's hash route
                )
            uow.approvals.mark_notified(approval.id, now, reminder)
            every = approval.remind_every_seconds
            following = now + timedelta(seconds=every) if every else None
            if following is not None and approval.expires_at is not None and following >= approval.expires_at:
                following = None
            uow.approvals.schedule_notice(approval.id, following)
            workspace = uow.workspaces.current()
            hosts = [*self.allow_hosts, *(workspace.allowed_hosts if workspace else [])]
            uow.audit.record(
                "approval.remind" if reminder else "approval.notify",
                "approval",
                approval.id,
                {"emails": len(emails), "chat": bool(notify.get("chat_webhook_credential"))},
            )
        if following is not None and self.clock is not None:
            self._wake_at(workspace_id, approval.id, following)
        chat_name = notify.get("chat_webhook_credential")
        try:
            chat = self._chat(workspace_id, str(chat_name), hosts, approval) if chat_name else None
            self.notifier.send(self._message(approval, emails, links, chat, reminder))
        except (NotificationFailed, LookupError, ValueError) as exc:
            log.warning("approval %s: a notification failed: %s", approval.id, exc)
            with self.store.tx(workspace_id) as uow:
                uow.audit.record("approval.notify_failed", "approval", approval.id, {"error": str(exc)[:500]})
        return True

    def _wake_at(self, workspace_id: str, approval_id: str, due_at: datetime) -> None:
        """Set the next reminder's wake-up; a failure is audited (the reminder is then not sent, like a lost
        notice), never raised into the node or the decision."""
        assert self.clock is not None
        try:
            self.clock.set(workspace_id, approval_id, due_at)
        except Exception as exc:  # any adapter failure: the notice itself went out already
            log.warning("approval %s: could not schedule its next reminder: %s", approval_id, exc)
            with self.store.tx(workspace_id) as uow:
                uow.audit.record("approval.notify_failed", "approval", approval_id, {"error": f"reminder: {exc}"[:500]})

    def _chat(self, workspace_id: str, name: str, hosts: list[str], approval: Approval) -> ChatWebhook:
        value = self.vault.get(workspace_id, name) if self.vault is not None else None
        url = (value or {}).get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise LookupError(f"chat webhook credential '{name}': a generic credential with an http(s) `url`")
        inbox = f"{self.console_url.rstrip('/')}/approvals"
        text = f"Approval needed: {approval.title}\n{approval.message}\nDecide in the inbox: {inbox}"
        return ChatWebhook(url, tuple(hosts), text)

    def _message(
        self, approval: Approval, emails: list[str], links: dict[str, str], chat: ChatWebhook | None, reminder: bool
    ) -> Notification:
        subject = ("Reminder: approval needed: " if reminder else "Approval needed: ") + approval.title
        text = f"{approval.title}\n\n{approval.message}\n\nApprove or reject: {{link}}\n"
        page = (
            f"<h1>{html.escape(approval.title)}</h1><pre>{html.escape(approval.message)}</pre>"
            '<p><a href="{link}">Approve or reject</a></p>'
        )
        return Notification(tuple(emails), subject, text, page, chat, links)
