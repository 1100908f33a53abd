"""The AWS vault: one Secrets Manager secret per credential, `<prefix>/<workspace>/<credential>`.

Writes (create, rotate, delete) use the caller's own client: the API function may manage secrets under the
workspace prefix but holds no `GetSecretValue`. Reads go through a client for one workspace: in AWS the
node runner assumes `WorkspaceSecretsReader` with the session tag `nexod:workspace=<id>`, whose policy only
reaches `<prefix>/${aws:PrincipalTag/nexod:workspace}/*` (cdk/nexod_cdk/constructs/secrets.py), so a bug
that mixes up workspaces gets AccessDenied, never another tenant's value.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.errors import VaultUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

WORKSPACE_TAG_KEY = "nexod:workspace"  # the CDK's WORKSPACE_TAG_KEY (cdk/nexod_cdk/constants.py)
CREDENTIAL_TAG_KEY = "nexod:credential"
RECOVERY_WINDOW_DAYS = 7  # a deleted credential can be restored by an operator for a week


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class SecretsManagerVault:
    def __init__(
        self,
        prefix: str,
        manager: SecretsManagerClient | None,
        reader_for: Callable[[str], SecretsManagerClient] | None,
        kms_key_id: str | None = None,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self._manager = manager
        self._reader_for = reader_for
        self._kms_key_id = kms_key_id

    def secret_name(self, workspace_id: str, name: str) -> str:
        return f"{self.prefix}/{workspace_id}/{name}"

    def _managing(self) -> SecretsManagerClient:
        if self._manager is None:
            raise VaultUnavailable("this function may not change credentials")
        return self._manager

    def put(self, workspace_id: str, name: str, value: dict[str, Any]) -> None:
        client, secret = self._managing(), self.secret_name(workspace_id, name)
        text = json.dumps(value, separators=(",", ":"))
        extra: dict[str, Any] = {"KmsKeyId": self._kms_key_id} if self._kms_key_id else {}
        try:
            try:
                client.create_secret(
                    Name=secret,
                    SecretString=text,
                    Description=f"Nexod credential {name} of workspace {workspace_id}",
                    Tags=[
                        {"Key": WORKSPACE_TAG_KEY, "Value": workspace_id},
                        {"Key": CREDENTIAL_TAG_KEY, "Value": name},
                    ],
                    **extra,
                )
            except ClientError as exc:
                # It exists, or was deleted within the recovery window (AWS answers InvalidRequest then).
                if _code(exc) not in ("ResourceExistsException", "InvalidRequestException"):
                    raise
                if "DeletedDate" in client.describe_secret(SecretId=secret):
                    client.restore_secret(SecretId=secret)  # a name deleted and created again: reuse it
                client.put_secret_value(SecretId=secret, SecretString=text)
        except ClientError as exc:
            raise VaultUnavailable(f"Secrets Manager refused to store credential '{name}': {_code(exc)}") from None
        except BotoCoreError as exc:
            raise VaultUnavailable(f"Secrets Manager is unreachable: {type(exc).__name__}") from None

    def get(self, workspace_id: str, name: str) -> dict[str, Any] | None:
        if self._reader_for is None:
            raise VaultUnavailable("this function may not read credential values")
        try:
            found = self._reader_for(workspace_id).get_secret_value(SecretId=self.secret_name(workspace_id, name))
        except ClientError as exc:
            if _code(exc) in ("ResourceNotFoundException",):
                return None
            if _code(exc) == "InvalidRequestException":  # scheduled for deletion
                return None
            raise VaultUnavailable(f"Secrets Manager refused to read credential '{name}': {_code(exc)}") from None
        except BotoCoreError as exc:
            raise VaultUnavailable(f"Secrets Manager is unreachable: {type(exc).__name__}") from None
        value = json.loads(found["SecretString"])
        if not isinstance(value, dict):
            raise VaultUnavailable(f"credential '{name}' does not hold a JSON object")
        return value

    def delete(self, workspace_id: str, name: str) -> None:
        try:
            self._managing().delete_secret(
                SecretId=self.secret_name(workspace_id, name), RecoveryWindowInDays=RECOVERY_WINDOW_DAYS
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return
            if _code(exc) == "InvalidRequestException" and "delet" in str(exc).lower():
                return  # already scheduled
            raise VaultUnavailable(f"Secrets Manager refused to delete credential '{name}': {_code(exc)}") from None
        except BotoCoreError as exc:
            raise VaultUnavailable(f"Secrets Manager is unreachable: {type(exc).__name__}") from None


class TaggedReaders:
    """Secrets Manager clients scoped to one workspace each: `sts:AssumeRole` on the reader role with the
    session tag `nexod:workspace=<id>`, cached until five minutes before the credentials expire."""

    SESSION_SECONDS = 900
    REFRESH_MARGIN = 300

    def __init__(self, sts: STSClient, role_arn: str, make_client: Callable[..., SecretsManagerClient]) -> None:
        self._sts = sts
        self._role_arn = role_arn
        self._make_client = make_client
        self._cache: dict[str, tuple[float, SecretsManagerClient]] = {}
        self._lock = threading.Lock()

    def __call__(self, workspace_id: str) -> SecretsManagerClient:
        now = time.time()
        with self._lock:
            hit = self._cache.get(workspace_id)
            if hit is not None and hit[0] - self.REFRESH_MARGIN > now:
                return hit[1]
        try:
            assumed = self._sts.assume_role(
                RoleArn=self._role_arn,
                RoleSessionName=f"nexod-ws-{workspace_id}"[:64],
                DurationSeconds=self.SESSION_SECONDS,
                Tags=[{"Key": WORKSPACE_TAG_KEY, "Value": workspace_id}],
            )
        except ClientError as exc:
            raise VaultUnavailable(f"cannot assume the workspace secrets reader: {_code(exc)}") from None
        creds = assumed["Credentials"]
        client = self._make_client(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        with self._lock:
            self._cache[workspace_id] = (creds["Expiration"].timestamp(), client)
        return client
