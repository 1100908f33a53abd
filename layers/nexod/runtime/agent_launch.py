"""Starting an agent runner for a parked agent or crew node (see nexod.runtime.agent_tasks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ports.agents import Launch, Launcher, TaskScope

# A task's time to live: its token expires after the longest an agent node may run (a day) and then some.
TOKEN_TTL_SECONDS = 26 * 3600


@dataclass(frozen=True)
class AgentLaunch:
    """Starts one agent runner for a parked node: a capability token for its one task, then the launcher."""

    mint: Callable[[TaskScope, int], str]
    launcher: Launcher
    broker_url: str

    def start(self, scope: TaskScope) -> str:
        return self.launcher.launch(Launch(scope, self.broker_url, self.mint(scope, TOKEN_TTL_SECONDS)))
