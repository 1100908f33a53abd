"""Payloads: the blob store of large node outputs (DESIGN §2, `nexod.ports.BlobStore`).

A node output whose JSON exceeds the threshold (256 KiB) is written here by the node runner under
`ws/<workspace>/runs/<run>/<node>/<iteration>/<sha256>.json`, and its `node_runs` row keeps only the
pointer; the API reads it back. The bucket is data, so it lives in the Data stack next to the database and
is retained on teardown: encrypted with the deployment's KMS key (SSE-KMS with an S3 Bucket Key), no public
access, TLS only, owner-enforced objects, access logs, and a lifecycle rule that expires payloads.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig


class Payloads(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        profile = config.profile
        self.key = key
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the log delivery service cannot use a customer key
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # S3 server access logs are delivered with the log-delivery ACL unless the app's context turns on
            # bucket-policy delivery (`make synth` runs without cdk.json): the console's log bucket does the same.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(profile.log_retention_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,  # one KMS data key per bucket and period, not one KMS call per object
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="payloads/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-run-payloads",
                    prefix=f"{c.PAYLOAD_PREFIX}/",
                    expiration=Duration.days(profile.payload_retention_days),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,  # run data outlives a teardown, like the database snapshot
        )

    def environment(self) -> dict[str, str]:
        return {"NEXOD_BLOB_BUCKET": self.bucket.bucket_name, "NEXOD_BLOB_KMS_KEY_ARN": self.key.key_arn}

    def _objects(self) -> str:
        return self.bucket.arn_for_objects(f"{c.PAYLOAD_PREFIX}/*")

    def _via_s3(self) -> dict[str, dict[str, str]]:
        return {"StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"}}

    def _list_own_prefix(self, role: iam.IGrantable) -> None:
        # S3 answers a GET of a missing key with 403 unless the caller may list the bucket; with this the
        # adapter tells a missing payload (404, shown as "missing") from a denied read. Only under `ws/`.
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListPayloadPrefix",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{c.PAYLOAD_PREFIX}/*"]}},
            )
        )

    def allow_write(self, role: iam.IGrantable) -> None:
        """The node runner: write and read payloads under `ws/`; encrypt and decrypt through S3 only."""
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WritePayloads", actions=["s3:PutObject", "s3:GetObject"], resources=[self._objects()]
            )
        )
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PayloadKeyThroughS3",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions=self._via_s3(),
            )
        )
        self._list_own_prefix(role)

    def allow_read(self, role: iam.IGrantable) -> None:
        """The API: read payloads under `ws/`; decrypt through S3 only."""
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(sid="ReadPayloads", actions=["s3:GetObject"], resources=[self._objects()])
        )
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PayloadKeyThroughS3",
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions=self._via_s3(),
            )
        )
        self._list_own_prefix(role)
