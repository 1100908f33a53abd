"""Secrets: the naming scheme of workspace credentials and the only role that can read them.

Every credential is one secret named `<prefix>/<profile>/ws/<workspace_id>/<credential_id>`, encrypted
with the data key. Nothing holds a standing right to read those values: a caller that needs one assumes
`WorkspaceSecretsReader` with the session tag `nexod:workspace=<workspace_id>`, and the role's policy
allows `GetSecretValue` only under `.../ws/${aws:PrincipalTag/nexod:workspace}/*`. A bug that mixes up
workspaces therefore gets AccessDenied, never another tenant's key.

Secrets are write-only for the API (DESIGN §7): `allow_manage()` lets it create, rotate, delete and restore
secrets under the prefix, encrypting with the data key through Secrets Manager, and never read a value.
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
                actions=["secretsmanager:GetSecretValue"],
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

    def allow_manage(self, grantable: iam.IGrantable) -> None:
        """Create, rotate, delete and restore workspace credentials (SecretsManagerVault.put/delete), never
        read them: no GetSecretValue, and the data key only through Secrets Manager for secrets under the
        prefix (its encryption context names the secret)."""
        stack = Stack.of(self)
        principal = grantable.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ManageWorkspaceCredentials",
                actions=[
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:RestoreSecret",
                    "secretsmanager:DeleteSecret",
                ],
                resources=[self.workspace_secrets_arn_pattern],
            )
        )
        # A new credential must carry its workspace tag and no other tag than the vault's two: tags can
        # grant rights (ABAC), so the API may not attach arbitrary ones.
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CreateTaggedWorkspaceCredentials",
                actions=["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
                resources=[self.workspace_secrets_arn_pattern],
                conditions={
                    "Null": {f"aws:RequestTag/{c.WORKSPACE_TAG_KEY}": "false"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [c.WORKSPACE_TAG_KEY, c.CREDENTIAL_TAG_KEY]},
                },
            )
        )
        # Secrets Manager encrypts a new value with the caller's kms:GenerateDataKey, and validates the key
        # it is given at CreateSecret with kms:Decrypt too (Secrets Manager user guide, "Secret encryption
        # and decryption": permissions for the KMS key). kms:Encrypt is needed only to re-encrypt existing
        # versions under another key (UpdateSecret), which the vault never does.
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptWorkspaceCredentials",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:SecretARN": self.workspace_secrets_arn_pattern},
                },
            )
        )

    def allow_read_webhook_secrets(self, grantable: iam.IGrantable) -> None:
        """The webhook door (`POST /v1/hooks/{id}`, issue 12) verifies a delivery's HMAC with the trigger's
        key, stored by the vault as `<prefix>/<workspace>/trigger.<id>`: GetSecretValue on those names only
        (credential names have no dots, so no credential matches). Decrypting goes through Secrets Manager
        with the data key, which `allow_manage` grants for names under the prefix already (the API is the
        only caller): without GetSecretValue that Decrypt reads nothing."""
        hooks = f"{self.workspace_secrets_arn_pattern.removesuffix('*')}*/{c.WEBHOOK_SECRET_PREFIX}*"
        grantable.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadWebhookTriggerSecretsOnly",
                actions=["secretsmanager:GetSecretValue"],
                resources=[hooks],
            )
        )

    def environment(self) -> dict[str, str]:
        return {
            "NEXOD_WORKSPACE_SECRET_PREFIX": self.prefix,
            "NEXOD_WORKSPACE_SECRETS_ROLE_ARN": self.reader.role_arn,
            "NEXOD_SECRETS_KMS_KEY_ARN": self.key.key_arn,
        }
