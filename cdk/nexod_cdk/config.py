"""Deployment settings read from CDK context (`-c key=value` or cdk.json), validated once."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any

from aws_cdk.aws_logs import RetentionDays
from constructs import Node

from . import constants as c

# No '-' (nor '/'): names are `<prefix>-<profile>-...` and IAM grants `<prefix>-<profile>-*`, so a prefix
# with a dash could fall inside another deployment's rights (`nexod` + `starter-x` vs `nexod-starter` + `x`).
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BUS_NAME = re.compile(r"^[A-Za-z0-9._-]{1,256}$")
_SES_IDENTITY = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^\s*]+$")
EGRESS_MODES = ("ipv6", "nat-instance", "nat-gateway")


class ConfigError(ValueError):
    """A context key has a value the app cannot deploy; the message says which key and what to pass."""


@dataclass(frozen=True)
class DeploymentConfig:
    profile: c.Profile
    prefix: str
    account: str
    region: str
    architecture: str  # "arm64" | "x86_64"
    auth_provider: str  # "cognito" | "clerk"
    jwt_issuer: str | None
    jwt_audience: str | None
    alarm_email: str | None
    domain_name: str | None
    certificate_arn: str | None
    default_model: str
    # Approval emails (issue 11): SES sends from this address, and the functions may send from this
    # verified identity only (ses:SendEmail on its ARN). Neither: no email, the inbox and chat only.
    ses_from_address: str | None = None
    ses_identity_arn: str | None = None
    # EventBridge triggers (issue 12) may put rules on the Nexod bus and on these named buses of the account.
    trigger_buses: tuple[str, ...] = ()

    @property
    def stack_prefix(self) -> str:
        return f"Nexod-{self.profile.name}"

    @property
    def state_machine_prefix(self) -> str:
        return f"{self.prefix}-{self.profile.name}"

    @property
    def secret_prefix(self) -> str:
        """Secrets Manager names of this deployment start with this."""
        return f"{self.prefix}/{self.profile.name}"

    @property
    def image_repository_name(self) -> str:
        """ECR repository of the agent runner images (Data stack; the App stack's synthesizer pushes there)."""
        return f"{self.prefix}-{self.profile.name}-agent"

    @property
    def workspace_secret_prefix(self) -> str:
        return f"{self.secret_prefix}/{c.WORKSPACE_SECRET_ROOT}"


def _get(node: Node, key: str, default: Any = None) -> Any:
    value = node.try_get_context(f"nexod:{key}")
    return default if value in (None, "") else value


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def from_context(node: Node, profile_name: str | None = None) -> DeploymentConfig:
    """Build the config for one profile. `profile_name` overrides the `nexod:profile` context key."""
    name = profile_name or _get(node, "profile", "starter")
    if name not in c.PROFILES:
        raise ConfigError(f"nexod:profile is '{name}'; use one of {sorted(c.PROFILES)}")
    profile = c.PROFILES[name]

    egress = _get(node, "egress", profile.egress)
    if egress not in EGRESS_MODES:
        raise ConfigError(f"nexod:egress is '{egress}'; use one of {list(EGRESS_MODES)}")
    overrides: dict[str, Any] = {"egress": egress}
    if egress == "nat-instance" or (egress == "nat-gateway" and profile.nat_count == 0):
        overrides["nat_count"] = 1
    elif egress == "ipv6":
        overrides["nat_count"] = 0
    if _get(node, "dashboard") is not None:
        overrides["dashboard"] = _flag(_get(node, "dashboard"))
    profile = replace(profile, **overrides)

    prefix = _get(node, "prefix", "nexod")
    if not _PREFIX.match(prefix):
        raise ConfigError(
            f"nexod:prefix is '{prefix}'; use 2-16 lowercase letters or digits, starting with a letter "
            "(no '-': names are '<prefix>-<profile>-…' and another deployment's rights must not cover them)"
        )

    arch = _get(node, "architecture", "arm64")
    if arch not in ("arm64", "x86_64"):
        raise ConfigError(f"nexod:architecture is '{arch}'; use 'arm64' or 'x86_64'")

    auth = _get(node, "auth", "cognito")
    issuer = _get(node, "jwtIssuer")
    audience = _get(node, "jwtAudience")
    if auth == "clerk":
        if not issuer or not str(issuer).startswith("https://"):
            raise ConfigError(
                "nexod:auth is 'clerk': pass -c nexod:jwtIssuer=https://<your-clerk-frontend-api> "
                "and -c nexod:jwtAudience=<the aud of your Clerk JWT template>"
            )
        if not audience:
            raise ConfigError("nexod:auth is 'clerk': pass -c nexod:jwtAudience=<aud of your Clerk JWT template>")
    elif auth != "cognito":
        raise ConfigError(f"nexod:auth is '{auth}'; use 'cognito' or 'clerk'")

    domain = _get(node, "domain")
    cert = _get(node, "certificateArn")
    if domain and not cert:
        raise ConfigError(
            "nexod:domain needs -c nexod:certificateArn=<ACM certificate in us-east-1 covering the domain>"
        )

    alarm_email = _get(node, "alarmEmail")
    if alarm_email is not None and not _EMAIL.match(str(alarm_email)):
        raise ConfigError(f"nexod:alarmEmail is '{alarm_email}'; pass an email address")
    account = _get(node, "account") or os.environ.get("CDK_DEFAULT_ACCOUNT") or c.FAKE_ACCOUNT
    offline = str(account) == c.FAKE_ACCOUNT  # synthesis without an AWS account: nothing is deployed
    if alarm_email is None and profile.alarm_email_required and offline:
        alarm_email = c.OFFLINE_ALARM_EMAIL
    if alarm_email is None and profile.alarm_email_required:
        raise ConfigError(
            f"nexod:profile '{profile.name}' needs somewhere to send alarms: pass -c nexod:alarmEmail=<address> "
            "(make deploy ... ALARM_EMAIL=ops@example.com); AWS emails a confirmation link to it"
        )

    region = _get(node, "region") or os.environ.get("CDK_DEFAULT_REGION") or c.FAKE_REGION
    ses_from = _get(node, "sesFromAddress")
    ses_identity = _get(node, "sesIdentityArn")
    if (ses_from is None) != (ses_identity is None):
        raise ConfigError(
            "approval emails need both -c nexod:sesFromAddress=<address> and -c nexod:sesIdentityArn="
            "arn:aws:ses:<region>:<account>:identity/<domain or address> (its verified SES identity)"
        )
    if ses_from is not None and not _EMAIL.match(str(ses_from)):
        raise ConfigError(f"nexod:sesFromAddress is '{ses_from}'; pass an email address")
    if ses_identity is not None and not _SES_IDENTITY.match(str(ses_identity)):
        raise ConfigError(
            f"nexod:sesIdentityArn is '{ses_identity}'; pass arn:aws:ses:<region>:<account>:identity/<name>"
        )
    buses = tuple(b.strip() for b in str(_get(node, "triggerBuses", "")).split(",") if b.strip())
    for bus in buses:
        if not _BUS_NAME.match(bus) or bus == "default":
            raise ConfigError(
                f"nexod:triggerBuses names '{bus}'; pass comma-separated custom event bus names of this account"
            )
    return DeploymentConfig(
        profile=profile,
        prefix=prefix,
        account=str(account),
        region=str(region),
        architecture=arch,
        auth_provider=auth,
        jwt_issuer=issuer,
        jwt_audience=audience,
        alarm_email=alarm_email,
        domain_name=domain,
        certificate_arn=cert,
        default_model=_get(node, "defaultModel", "openai/gpt-4o-mini"),
        ses_from_address=ses_from,
        ses_identity_arn=ses_identity,
        trigger_buses=buses,
    )


def log_retention(profile: c.Profile) -> RetentionDays:
    """The profile's log retention as CloudWatch's enum (it only accepts specific day counts)."""
    by_days = {30: RetentionDays.ONE_MONTH, 90: RetentionDays.THREE_MONTHS, 365: RetentionDays.ONE_YEAR}
    return by_days[profile.log_retention_days]
