"""Data: the KMS key, Aurora PostgreSQL Serverless v2 (scales to 0 ACU) and its two database secrets."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig, log_retention
from .network import Network


class Data(Construct):
    """Aurora with encryption at rest (customer key), TLS forced, backups, and two secrets:
    the owner (`nexod_admin`, migrations only) and the non-owner app role (`nexod_app`, row-level security
    applies to it). Teardown keeps data: the cluster snapshots, the key and the secrets are retained.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, network: Network) -> None:
        super().__init__(scope, construct_id)
        profile = config.profile
        # One customer-managed key for the database, its secrets and the workspace credentials ($1/month).
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix}-{profile.name}-data",
            description="Nexod: Aurora storage, database secrets and workspace credentials",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,  # snapshots and retained secrets stay decryptable
        )

        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=self._engine(),
            description="Nexod: TLS only, slow statements logged",
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",
                "idle_in_transaction_session_timeout": "60000",
                # No client may keep the cluster awake by holding an idle session (auto-pause needs zero
                # connections); the app sets the same per connection and on its role.
                "idle_session_timeout": "120000",
            },
        )
        retention = log_retention(profile)
        readers = [
            rds.ClusterInstance.serverless_v2(f"reader{i + 1}", scale_with_writer=True, publicly_accessible=False)
            for i in range(profile.db_readers)
        ]
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=self._engine(),
            credentials=rds.Credentials.from_generated_secret(
                c.DB_ADMIN_USER, secret_name=f"{config.secret_prefix}/db/admin", encryption_key=self.key
            ),
            default_database_name=c.DB_NAME,
            port=c.DB_PORT,
            writer=rds.ClusterInstance.serverless_v2("writer", publicly_accessible=False),
            readers=readers,
            serverless_v2_min_capacity=profile.db_min_acu,
            serverless_v2_max_capacity=profile.db_max_acu,
            serverless_v2_auto_pause_duration=(
                Duration.minutes(profile.db_auto_pause_minutes) if profile.db_auto_pause_minutes else None
            ),
            vpc=network.vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[network.database_sg],
            storage_encrypted=True,
            storage_encryption_key=self.key,
            parameter_group=parameters,
            iam_authentication=True,
            backup=rds.BackupProps(retention=Duration.days(profile.db_backup_days), preferred_window="03:00-04:00"),
            preferred_maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=profile.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=retention,
        )
        network.database_sg.add_ingress_rule(
            network.functions_sg, ec2.Port.tcp(c.DB_PORT), "PostgreSQL from Nexod functions and tasks"
        )
        self.admin_secret = self.cluster.secret
        assert self.admin_secret is not None
        # Kept on teardown with the key and the snapshot (docs/deploy.md): the snapshot needs its owner.
        # (`cluster.secret` is the attachment; the generated secret is the cluster's child "Secret".)
        generated = self.cluster.node.find_child("Secret")
        assert isinstance(generated, rds.DatabaseSecret)
        generated.apply_removal_policy(RemovalPolicy.RETAIN)
        app_secret = rds.DatabaseSecret(
            self,
            "AppSecret",
            username=c.DB_APP_USER,
            dbname=c.DB_NAME,
            secret_name=f"{config.secret_prefix}/db/app",
            encryption_key=self.key,
            master_secret=self.admin_secret,
            exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\",
        )
        app_secret.apply_removal_policy(RemovalPolicy.RETAIN)
        # The attachment adds host, port, engine and dbname: the RDS format the app reads.
        self.app_secret = app_secret.attach(self.cluster)

        if profile.rotate_secrets:
            self.cluster.add_rotation_single_user(
                automatically_after=Duration.days(30), vpc_subnets=network.app_subnets
            )
            # Single-user: nexod_app changes its own password, so no clone role appears next to it.
            secretsmanager.SecretRotation(
                self,
                "AppRotation",
                application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
                secret=self.app_secret,
                target=self.cluster,
                vpc=network.vpc,
                vpc_subnets=network.app_subnets,
                automatically_after=Duration.days(30),
            )

        # The agent runner's images. Here, not in the App stack, because it must exist before the App
        # stack's image asset is published into it (make deploy deploys this stack first); its lifecycle
        # rule bounds what ECR bills (CDK's shared bootstrap repository keeps every image forever).
        self.images = ecr.Repository(
            self,
            "AgentImages",
            repository_name=config.image_repository_name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"keep the last {c.AGENT_IMAGES_KEPT} agent images",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=c.AGENT_IMAGES_KEPT,
                )
            ],
            removal_policy=RemovalPolicy.DESTROY,
            empty_on_delete=True,  # images are rebuilt from source; nothing in them is data
        )
        stack = Stack.of(self)
        # `cdk deploy` pushes image assets with the bootstrap's publishing role, whose own policy names
        # only the bootstrap repository: this repository lets that role push here.
        publisher = iam.ArnPrincipal(
            f"arn:{stack.partition}:iam::{stack.account}:role/"
            f"cdk-{c.CDK_QUALIFIER}-image-publishing-role-{stack.account}-{stack.region}"
        )
        self.images.grant_pull_push(publisher)

    @staticmethod
    def _engine() -> rds.IClusterEngine:
        # 0 ACU with auto-pause needs >= 16.3; cfn-lint flags older 16.x minors as deprecated for new clusters.
        return rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_13)
