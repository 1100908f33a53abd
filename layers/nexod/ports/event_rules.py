"""The `EventRules` port (issue 12): where eventbridge triggers live outside the database.

In AWS each eventbridge trigger is one EventBridge rule named `<state_machine_prefix>-trg-<trigger id>` on its
bus (the Nexod bus or a named one), with the trigger's pattern, targeting the run starter; a disabled trigger's
rule is disabled. Locally the adapter makes sure the bus exists in moto and that the local ingress loop hears
it (the loop matches patterns itself, with `nexod.domain.event_patterns`)."""

from __future__ import annotations

from typing import Any, Protocol


class EventRules(Protocol):
    def put(self, workspace_id: str, trigger_id: str, bus: str, pattern: dict[str, Any], enabled: bool) -> None:
        """Create or replace the trigger's rule on `bus` (disabled when `enabled` is false)."""
        ...

    def delete(self, workspace_id: str, trigger_id: str, bus: str) -> None:
        """Remove it and its target; a rule that does not exist is fine."""
        ...
