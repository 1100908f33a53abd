"""Secrets: the naming scheme of workspace credentials and the only role that can read them.

Every credential is one secret named `<prefix>/<profile>/ws/<workspace_id>/<credential_id>`, encrypted
with the data key. Nothing holds a standing right to read those values: a caller that needs one assumes
`WorkspaceSecretsReader` with the session tag `nexod:workspace=<workspace_id>`, and the role's policy
allows `GetSecretValue` only under `.../ws/${aws:PrincipalTag/nexod:workspace}/*`. A bug that mixes up
workspaces therefore gets AccessDenied, never another tenant's key.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig


class Secrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = key
        self.prefix = config.workspace_secret_prefix
        base = f"arn:{stack.partition}:secretsmanager:{stack.region}:{stack.account}:secret:{self.prefix}"
        # Secrets Manager appends "-XXXXXX" to names: `<name>-??????` would be exact, `/*` covers it too.
        self.workspace_secrets_arn_pattern = f"{base}/*"
        self.reader = iam.Role(
            self,
            "WorkspaceSecretsReader",
            description="Reads the credentials of exactly one workspace, named by the session tag",
            assumed_by=iam.AccountPrincipal(stack.account),  # narrowed to named roles by allow_assume()
            max_session_duration=Duration.hours(1),
        )
        self.reader.add_to_policy(
            iam.PolicyStatement(
                sid="ReadOwnWorkspaceSecrets",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[f"{base}/${{aws:PrincipalTag/{c.WORKSPACE_TAG_KEY}}}/*"],
            )
        )
        self.reader.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptThroughSecretsManager",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
        cfn_role = self.reader.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        self._cfn_role = cfn_role
        self._principal_arns: list[str] = []

    def allow_assume(self, role: iam.IRole) -> None:
        """Let `role` assume the reader, only with a workspace session tag (the tag picks the workspace)."""
        self._principal_arns.append(role.role_arn)
        self._cfn_role.assume_role_policy_document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AssumeForOneWorkspace",
                    "Effect": "Allow",
                    "Principal": {"AWS": list(self._principal_arns)},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "Null": {f"aws:RequestTag/{c.WORKSPACE_TAG_KEY}": "false"},
                        "ForAllValues:StringEquals": {"aws:TagKeys": [c.WORKSPACE_TAG_KEY]},
                    },
                }
            ],
        }
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole", "sts:TagSession"],
                resources=[self.reader.role_arn],
                conditions={"Null": {f"aws:RequestTag/{c.WORKSPACE_TAG_KEY}": "false"}},
            )
        )

    def environment(self) -> dict[str, str]:
        return {
            "NEXOD_WORKSPACE_SECRET_PREFIX": self.prefix,
            "NEXOD_WORKSPACE_SECRETS_ROLE_ARN": self.reader.role_arn,
            "NEXOD_SECRETS_KMS_KEY_ARN": self.key.key_arn,
        }
