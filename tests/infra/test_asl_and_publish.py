"""Compiled ASL is valid for AWS (independent validator) and the publish path works against moto."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.ci import require_tool

from .conftest import REPO

pytestmark = pytest.mark.infra

VALIDATOR = REPO / "cdk" / "node_modules" / ".bin" / "asl-validator"
GOLDEN = sorted((REPO / "statemachines" / "golden").glob("*.asl.json"))
ACCOUNT, REGION = "123456789012", "us-east-1"
PREFIX = "nexod-starter"
NODE_RUNNER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nexod-node-runner"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/nexod-state-machine"


def _compiled_reference() -> dict[str, Any]:
    from nexod.domain.compiler import compile_flow
    from nexod.domain.validation import validate

    raw = (REPO / "statemachines" / "examples" / "reference_10_node.json").read_text()
    # The example keeps a {{BASE_URL}} placeholder for the demo server; any https origin compiles the same.
    doc = json.loads(raw.replace("{{BASE_URL}}", "https://example.com"))
    return compile_flow(validate(doc.get("definition", doc))).asl


def _definitions() -> list[tuple[str, dict[str, Any]]]:
    found = [(p.name, json.loads(p.read_text())) for p in GOLDEN]
    return found or [("reference_10_node (compiled now)", _compiled_reference())]


def test_every_golden_asl_passes_the_independent_validator(tmp_path: Path) -> None:
    require_tool("node", "Node 20 runs asl-validator (see README: prerequisites)")
    if not VALIDATOR.exists():
        require_tool("npm", "npm installs asl-validator into cdk/node_modules")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO / "cdk", check=True)
    for name, asl in _definitions():
        # Given a compiled definition with the node runner placeholder substituted, as at publish time
        from nexod.domain.compiler import substitute

        path = tmp_path / name.replace(" ", "_")
        path.write_text(json.dumps(substitute(asl, NODE_RUNNER_ARN)))
        # When asl-validator (npm, independent of our compiler and of moto) checks it
        done = subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False)
        # Then it is valid
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"


def test_publish_creates_versions_and_moves_the_live_alias() -> None:
    from nexod.domain.compiler import substitute

    golden = {name: asl for name, asl in _definitions()}
    asl = golden.get("example_reference_10_node.asl.json") or next(iter(golden.values()))
    definition = json.dumps(substitute(asl, NODE_RUNNER_ARN))
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        name = f"{PREFIX}-ws1234-flow5678"
        # Given a first publish: create the state machine with the role the stack passes, and version 1
        sm = sfn.create_state_machine(
            name=name,
            definition=definition,
            roleArn=ROLE_ARN,
            type="STANDARD",
            publish=True,
            versionDescription="v1",
        )
        v1 = sm["stateMachineVersionArn"]
        alias = sfn.create_state_machine_alias(
            name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
        )["stateMachineAliasArn"]
        # When the flow is published again: update + publish version 2, then move the alias
        # (update with publish=True: moto 5.2 has no PublishStateMachineVersion; AWS accepts both)
        v2 = sfn.update_state_machine(
            stateMachineArn=sm["stateMachineArn"],
            definition=definition,
            roleArn=ROLE_ARN,
            publish=True,
            versionDescription="v2",
        )["stateMachineVersionArn"]
        sfn.update_state_machine_alias(
            stateMachineAliasArn=alias, routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
        )
        # Then the alias points at v2, both versions exist, and the names fit the IAM prefix scope
        described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
        assert described["routingConfiguration"] == [{"stateMachineVersionArn": v2, "weight": 100}]
        assert v1 != v2 and v1.endswith(":1") and v2.endswith(":2")
        assert sfn.describe_state_machine(stateMachineArn=v1)["stateMachineArn"] == v1
        assert alias.endswith(f":stateMachine:{name}:live") and name.startswith(f"{PREFIX}-")
        # And a run starts (moto 5.2 starts only unqualified ARNs, not `:live` or `:2`; on AWS the API
        # starts the alias, which the IAM scope `<prefix>-*` covers)
        run = sfn.start_execution(
            stateMachineArn=sm["stateMachineArn"], name="run-1", input=json.dumps({"run": {"id": "r1"}})
        )
        assert run["executionArn"]
