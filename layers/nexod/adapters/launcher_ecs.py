"""The AWS launcher: `ecs:RunTask` of the agent_runner Fargate task definition, one task per agent step.

The container gets the broker URL and its capability token as environment overrides (nothing else: the task
role has no database or secret access, see docs/decisions.md) and runs in the agent subnets with its own
security group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ports.agents import Launch


class LaunchFailed(RuntimeError):
    pass


@dataclass
class EcsLauncher:
    client: Any  # boto3 ECS client
    cluster: str
    task_definition: str
    subnets: list[str]
    security_groups: list[str]
    container: str = "agent-runner"
    assign_public_ip: bool = False
    capacity_provider: str | None = "FARGATE"
    tags: dict[str, str] = field(default_factory=dict)

    def launch(self, launch: Launch) -> str:
        scope = launch.scope
        request: dict[str, Any] = {
            "cluster": self.cluster,
            "taskDefinition": self.task_definition,
            "count": 1,
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": list(self.subnets),
                    "securityGroups": list(self.security_groups),
                    "assignPublicIp": "ENABLED" if self.assign_public_ip else "DISABLED",
                }
            },
            "overrides": {
                "containerOverrides": [
                    {
                        "name": self.container,
                        "environment": [
                            {"name": "NEXOD_BROKER_URL", "value": launch.broker_url},
                            {"name": "NEXOD_BROKER_TOKEN", "value": launch.token},
                        ],
                    }
                ]
            },
            # Who started it, for the console and for cleanup (never the token).
            "startedBy": f"nexod-{scope.run_id}"[:36],
            "tags": [
                {"key": "nexod:workspace", "value": scope.workspace_id},
                {"key": "nexod:run", "value": scope.run_id},
                {"key": "nexod:node", "value": scope.node_id},
                *({"key": k, "value": v} for k, v in self.tags.items()),
            ],
        }
        if self.capacity_provider:
            request["capacityProviderStrategy"] = [{"capacityProvider": self.capacity_provider, "weight": 1}]
        else:
            request["launchType"] = "FARGATE"
        answer = self.client.run_task(**request)
        if answer.get("failures") or not answer.get("tasks"):
            raise LaunchFailed(f"ecs:RunTask started no agent runner: {answer.get('failures')}")
        return str(answer["tasks"][0]["taskArn"])


def ecs_launcher_from_environment(client: Any, environ: Mapping[str, str]) -> EcsLauncher:
    """The launcher the AgentLauncher function's environment describes (cdk/nexod_cdk/constructs/orchestration.py
    sets these): cluster, task definition, container, comma-separated subnets and security groups, and
    whether the task gets a public IPv4 address ("true"/"false"; private subnets in every profile)."""

    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            raise ValueError(f"{name} is required to launch agent runners on ECS")
        return value

    def listed(name: str) -> list[str]:
        return [item.strip() for item in required(name).split(",") if item.strip()]

    return EcsLauncher(
        client,
        cluster=required("NEXOD_AGENT_CLUSTER_ARN"),
        task_definition=required("NEXOD_AGENT_TASK_DEFINITION_ARN"),
        subnets=listed("NEXOD_AGENT_SUBNETS"),
        security_groups=listed("NEXOD_AGENT_SECURITY_GROUPS"),
        container=environ.get("NEXOD_AGENT_CONTAINER") or "agent-runner",
        assign_public_ip=environ.get("NEXOD_AGENT_ASSIGN_PUBLIC_IP", "false").lower() in ("1", "true", "yes"),
    )
