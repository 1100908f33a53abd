"""Every acknowledged cdk-nag finding, with the reason a security reviewer reads (docs/security.md
is generated from this table: `python cdk/app.py --suppressions`)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from .config import DeploymentConfig


@dataclass(frozen=True)
class Ack:
    path: str  # fnmatch pattern over the construct path below the stack
    finding: str  # exact cdk-nag finding id, e.g. "AwsSolutions-IAM5[Resource::*]"
    reason: str
    profiles: tuple[str, ...] = ("starter", "production")


ACKS: list[Ack] = []


def acknowledge_findings(stack: Stack, config: DeploymentConfig) -> None:
    for construct in stack.node.find_all():
        path = construct.node.path.removeprefix(stack.node.path + "/")
        for ack in ACKS:
            if config.profile.name in ack.profiles and fnmatch.fnmatchcase(path, ack.path):
                Validations.of(construct).acknowledge(Acknowledgment(id=ack.finding, reason=ack.reason))


def _unused(_: IConstruct) -> None:  # pragma: no cover - keeps the import used for type checkers
    return None
