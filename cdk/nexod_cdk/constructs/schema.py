"""Schema: a CloudFormation custom resource that applies the database migrations on every deploy that
changes them, as the owner, and (re)creates the non-owner app role `nexod_app` from its secret."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .. import bundling
from .. import constants as c
from ..config import DeploymentConfig, log_retention
from .runtime import Runtime


class Schema(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        runtime: Runtime,
        admin_secret_arn: str,
        app_secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = runtime.function(
            "Migrate",
            handler=c.MIGRATE_HANDLER,
            description="Nexod: apply database migrations as the owner; (re)create the app role",
            timeout=Duration.minutes(5),  # includes an Aurora resume from 0 ACU (~15 s)
            environment={
                "NEXOD_ADMIN_DATABASE_SECRET_ARN": admin_secret_arn,
                "NEXOD_DATABASE_SECRET_ARN": app_secret_arn,
            },
        )
        runtime.allow_secret_read(self.function, admin_secret_arn, app_secret_arn)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            log_group=logs.LogGroup(
                self,
                "ProviderLogs",
                retention=log_retention(config.profile),
                removal_policy=RemovalPolicy.RETAIN,  # the retention expires them
            ),
        )
        self.resource = CustomResource(
            self,
            "Migrations",
            service_token=self.provider.service_token,
            resource_type="Custom::NexodMigrations",
            properties={
                # A new hash re-runs the migrations; the secret ARN re-creates the role if the secret changes.
                "MigrationsHash": bundling.migrations_hash(),
                "AppSecretArn": app_secret_arn,
                "AppRole": c.DB_APP_USER,
            },
        )
