"""Build the CDK app: one Data + one App stack per profile, cdk-nag packs, acknowledged findings."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_cdk import App, DefaultStackSynthesizer, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from . import constants as c
from .config import DeploymentConfig, from_context
from .nag import acknowledge_findings
from .stacks import AppStack, DataStack, tag_all


def load_context() -> dict[str, Any]:
    """cdk.json context + cdk.context.json, as the CDK CLI would pass them (for `python cdk/app.py`)."""
    context: dict[str, Any] = {}
    cdk_json = c.REPO_ROOT / "cdk.json"
    if cdk_json.exists():
        context.update(json.loads(cdk_json.read_text()).get("context", {}))
    cached = c.REPO_ROOT / "cdk.context.json"
    if cached.exists():
        context.update(json.loads(cached.read_text()))
    return context


def build_app(
    outdir: str | None = None, context: dict[str, Any] | None = None, profiles: list[str] | None = None
) -> tuple[App, dict[str, tuple[DataStack, AppStack]]]:
    """The app with the stacks of `profiles` (default: context `nexod:profile`; `all` for both)."""
    from_cli = "CDK_CONTEXT_JSON" in os.environ or "CDK_OUTDIR" in os.environ
    merged = ({} if from_cli else load_context()) | (context or {})
    app = App(outdir=outdir, context=merged)
    requested = profiles or [str(app.node.try_get_context("nexod:profile") or "starter")]
    if requested == ["all"]:
        requested = list(c.PROFILES)
    stacks: dict[str, tuple[DataStack, AppStack]] = {}
    for name in requested:
        config: DeploymentConfig = from_context(app.node, name)
        env = Environment(account=config.account, region=config.region)
        data = DataStack(
            app,
            f"{config.stack_prefix}-Data",
            config=config,
            env=env,
            description=f"Nexod ({name}): network, encryption key, Aurora PostgreSQL",
            termination_protection=config.profile.deletion_protection,
        )
        application = AppStack(
            app,
            f"{config.stack_prefix}-App",
            config=config,
            data=data,
            env=env,
            description=f"Nexod ({name}): API, orchestration, triggers, console, observability",
            # The agent image goes to the Data stack's repository (lifecycle rule), not the bootstrap's.
            synthesizer=DefaultStackSynthesizer(
                qualifier=c.CDK_QUALIFIER, image_assets_repository_name=config.image_repository_name
            ),
        )
        tag_all(data, config)
        tag_all(application, config)
        acknowledge_findings(data, config)
        acknowledge_findings(application, config)
        stacks[name] = (data, application)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stacks
