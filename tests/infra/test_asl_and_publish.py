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
LLM_RUNNER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nexod-llm-runner"


def _runners() -> dict[Any, str]:
    from nexod.domain.nodes import Runtime

    return {Runtime.CORE: NODE_RUNNER_ARN, Runtime.LLM: LLM_RUNNER_ARN}


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
        # Given a compiled definition with the runner placeholders substituted, as at publish time
        from nexod.domain.compiler import substitute

        path = tmp_path / name.replace(" ", "_")
        path.write_text(json.dumps(substitute(asl, _runners())))
        # When asl-validator (npm, independent of our compiler and of moto) checks it
        done = subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False)
        # Then it is valid
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"


def test_publish_creates_versions_and_moves_the_live_alias() -> None:
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
    from nexod.domain.compiler import substitute

    golden = {name: asl for name, asl in _definitions()}
    asl = golden.get("example_reference_10_node.asl.json") or next(iter(golden.values()))
    changed = json.loads(json.dumps(asl))
    changed["Comment"] = "version 2"
    with mock_aws():
        # Given the project's own adapter, with the role and log group the stack passes
        sfn = boto3.client("stepfunctions", region_name=REGION)
        orchestrator = StepFunctionsOrchestrator(sfn, ROLE_ARN)
        name = f"{PREFIX}-ws1234-flow5678"
        # When a flow is published, then published again with a changed definition
        first = orchestrator.publish(name, substitute(asl, _runners()), "v1")
        orchestrator.set_live(first.state_machine_arn, first.version_arn)
        second = orchestrator.publish(name, substitute(changed, _runners()), "v2")
        orchestrator.set_live(second.state_machine_arn, second.version_arn)
        # Then the second publish is a new version of the same machine, holding the new definition
        assert second.state_machine_arn == first.state_machine_arn
        assert first.version_arn.endswith(":1") and second.version_arn.endswith(":2")
        described = json.loads(sfn.describe_state_machine(stateMachineArn=second.version_arn)["definition"])
        assert described["Comment"] == "version 2"
        # And `live` points at it, and the names fit the IAM prefix scope
        alias = sfn.describe_state_machine_alias(stateMachineAliasArn=f"{first.state_machine_arn}:live")
        assert alias["routingConfiguration"] == [{"stateMachineVersionArn": second.version_arn, "weight": 100}]
        assert name.startswith(f"{PREFIX}-")
