"""The AWS path of a test run of a draft (issue 13), against moto's Step Functions: the draft is published as a
version of the flow's test state machine, the execution starts on that version, and the flow's `live` alias
never moves; the sweeper deletes the version with the test run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
from nexod.domain.nodes import Runtime
from nexod.services import flows, runs, test_runs, workspaces
from nexod.services.context import Principal, Services
from tests.support.fakes import MemoryStore
from tests.unit.flows import edge, node

pytestmark = pytest.mark.infra

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/nexod-state-machine"
RUNNERS = {
    Runtime.CORE: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nexod-node-runner",
    Runtime.LLM: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nexod-llm-runner",
}
LINE = {
    "nodes": [node("start", "input"), node("work", "transform", expression="input.n"), node("end", "output")],
    "edges": [edge("start", "work"), edge("work", "end")],
}


class Recording(StepFunctionsOrchestrator):
    """The AWS adapter, except that StartExecution is recorded: moto runs executions of a version ARN only with
    its interpreter (local mode's `moto_glue`, exercised by tests/integration/test_test_runs.py); what this test
    checks is where the execution is started, and that the version it names exists."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, ROLE_ARN)
        self.started: list[tuple[str, str]] = []
        self.deleted: list[str] = []

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str:
        self.client.describe_state_machine(stateMachineArn=target_arn)  # it exists (else StateMachineDoesNotExist)
        self.started.append((target_arn, execution_name))
        return f"{target_arn.replace(':stateMachine:', ':execution:')}:{execution_name}"

    def delete_version(self, version_arn: str) -> None:
        """moto 5.2.5 has no DeleteStateMachineVersion: record which (existing) version the sweeper deletes."""
        self.client.describe_state_machine(stateMachineArn=version_arn)
        self.deleted.append(version_arn)


def test_a_test_run_publishes_a_version_of_the_test_machine_and_never_moves_live() -> None:
    with mock_aws():
        # Given the AWS adapter and a flow published once (version 1 is live)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        store = MemoryStore()
        services = Services(
            store=store,
            orchestrator=(orchestrator := Recording(sfn)),
            runner_arns=RUNNERS,
            state_machine_prefix="nexod-starter",
        )
        alice = Principal("alice")
        ws = str(workspaces.create_workspace(services, alice, "aws")["id"])
        flow_id = str(flows.create(services, alice, ws, "line", "", LINE)["id"])
        published = flows.publish(services, alice, ws, flow_id, "v1")
        live = f"{flows.get(services, alice, ws, flow_id)['state_machine_arn']}:live"
        # When the draft changes and is test-run twice
        changed = {
            **LINE,
            "nodes": [LINE["nodes"][0], node("work", "transform", expression="input.m"), LINE["nodes"][2]],
        }
        flows.update(services, alice, ws, flow_id, {"definition": changed})
        first = test_runs.start(services, alice, ws, flow_id, {"m": 1})
        second = test_runs.start(services, alice, ws, flow_id, {"m": 2})
        # Then each ran on its own version of the flow's test machine, which holds the draft
        machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nexod-starter-test-{ws[:8]}-{flow_id}"
        for number in (1, 2):
            assert sfn.describe_state_machine(stateMachineArn=f"{machine}:{number}")["definition"].startswith("{")
        assert orchestrator.started[-2:] == [(f"{machine}:1", first["id"]), (f"{machine}:2", second["id"])]
        # And `live` still routes every execution to the published version; the test machine has no alias
        alias = sfn.describe_state_machine_alias(stateMachineAliasArn=live)
        assert alias["routingConfiguration"] == [
            {"stateMachineVersionArn": published["state_machine_version_arn"], "weight": 100}
        ]
        assert sfn.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"] == []
        assert not any(":stateMachine:nexod-starter-test-" in arn for arn in [published["state_machine_version_arn"]])
        # When both test runs end and the sweeper runs after the retention period
        for started_run in (first, second):
            with store.tx(ws) as uow:
                uow.runs.mark(str(started_run["id"]), "SUCCEEDED", only_from=("QUEUED", "RUNNING"))
        later = store._clock + timedelta(days=services.test_run_retention_days, minutes=1)
        assert test_runs.sweep(services, now=later) == 2
        # Then the test runs are gone and so are their state machine versions; the published one stays
        assert sorted(orchestrator.deleted) == [f"{machine}:1", f"{machine}:2"]
        assert runs.list_runs(services, alice, ws, flow_id, None, None, test=True)["items"] == []
        assert sfn.describe_state_machine(stateMachineArn=published["state_machine_version_arn"])
