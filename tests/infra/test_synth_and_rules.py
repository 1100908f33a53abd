"""The app synthesizes offline for both profiles; cdk-nag and cfn-lint find nothing unacknowledged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROFILES, Synth

pytestmark = pytest.mark.infra


def test_both_profiles_synthesize_four_templates(synth: Synth) -> None:
    # Given the app synthesized once for the session (fake account, no credentials, no docker)
    # When we look at the cloud assembly
    # Then each profile has a Data and an App stack with resources in them
    for profile in PROFILES:
        for kind in ("Data", "App"):
            assert synth.template(profile, kind)["Resources"], f"{profile}-{kind} is empty"


def test_cdk_nag_reports_no_unacknowledged_finding(synth: Synth) -> None:
    # Given AwsSolutionsChecks and ServerlessChecks registered on the app
    # When synthesis ran the validation plugins
    # Then every plugin concluded "success" and listed no violation
    plugins = {p["pluginName"]: p for p in synth.report["pluginReports"]}
    assert {"AwsSolutions", "Serverless"} <= set(plugins), plugins.keys()
    for name, report in plugins.items():
        violations = [
            (v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]]) for v in report["violations"]
        ]
        assert report["conclusion"] == "success" and not violations, f"{name}: {violations}"


def test_cfn_lint_finds_no_error_in_any_template(synth: Synth) -> None:
    # Given every synthesized template
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(templates) == 4
    # When cfn-lint checks them (errors only: warnings are advisory)
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "parseable",
            "--non-zero-exit-code",
            "error",
            *templates,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it reports no error (E*) line
    errors = [line for line in done.stdout.splitlines() if ":E" in line]
    assert done.returncode == 0 and not errors, done.stdout + done.stderr
