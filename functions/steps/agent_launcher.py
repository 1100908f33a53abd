"""PLACEHOLDER for synthesis (the lead's version of this module wins at merge): the AgentLauncher function,
invoked by an agent/crew node's Task (`lambda:invoke.waitForTaskToken`), starts the Fargate agent runner
through `EcsLauncher` with the broker URL and a capability token minted with the broker key."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the agent launcher's node runner is not merged yet (functions/steps/agent_launcher.py)")
