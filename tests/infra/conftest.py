"""Synthesize the CDK app once per test session (both profiles) and hand out its templates."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "cdk"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

PROFILES = ("starter", "production")


@dataclass
class Synth:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # "starter-App" -> template
    report: dict[str, Any]
    configs: dict[str, Any]

    def template(self, profile: str, stack: str) -> dict[str, Any]:
        return self.templates[f"{profile}-{stack}"]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    from nexod_cdk.app_builder import build_app

    # The fake account/region of an offline synth, whatever the shell says.
    for var in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "CDK_CONTEXT_JSON", "CDK_OUTDIR"):
        os.environ.pop(var, None)
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, _stacks = build_app(outdir=str(outdir), profiles=list(PROFILES))
    app.synth()
    templates = {}
    for profile in PROFILES:
        for kind in ("Data", "App"):
            templates[f"{profile}-{kind}"] = json.loads((outdir / f"Nexod-{profile}-{kind}.template.json").read_text())
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {"pluginReports": []}
    from nexod_cdk.config import from_context

    configs = {p: from_context(app.node, p) for p in PROFILES}
    return Synth(outdir=outdir, templates=templates, report=report, configs=configs)


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(policy logical id, statement) of every identity policy in the template."""
    found = []
    for logical_id, res in template["Resources"].items():
        docs = []
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs.append(res["Properties"]["PolicyDocument"])
        if res["Type"] == "AWS::IAM::Role":
            docs += [p["PolicyDocument"] for p in res["Properties"].get("Policies", [])]
        for doc in docs:
            for st in doc["Statement"]:
                found.append((logical_id, st))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_policies(template: dict[str, Any], role_logical_prefix: str) -> list[dict[str, Any]]:
    """Statements of every policy attached to the role whose logical id starts with the prefix."""
    roles = [k for k, v in resources(template, "AWS::IAM::Role").items() if k.startswith(role_logical_prefix)]
    assert len(roles) == 1, f"expected one role starting with {role_logical_prefix}, found {roles}"
    out = []
    for res in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": roles[0]} in res["Properties"].get("Roles", []):
            out += res["Properties"]["PolicyDocument"]["Statement"]
    return out


def arn_text(value: Any) -> str:
    """Render a CloudFormation ARN expression as text: Fn::Join joined, the partition as 'aws', other
    tokens as '<token>'."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(arn_text(v) for v in value)
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(arn_text(p) for p in parts)
        if value == {"Ref": "AWS::Partition"}:
            return "aws"
    return "<token>"
