"""Runtime: the two Lambda layers, the code asset and the one way every Nexod function is built."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import bundling
from .. import constants as c
from ..config import DeploymentConfig, log_retention
from .network import Network


class Runtime(Construct):
    """Layers (`core` on every function; `llm` only on the LLM runner) and a function factory that puts
    each function in the app subnets with tracing, its own retained log group and the NEXOD_* settings."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, network: Network, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.network = network
        self.key = key
        self.architecture = (
            lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64
        )
        self.python = lambda_.Runtime.PYTHON_3_12
        self.core_layer = lambda_.LayerVersion(
            self,
            "CoreLayer",
            code=bundling.layer_code("core", config.architecture),
            compatible_runtimes=[self.python],
            compatible_architectures=[self.architecture],
            description="nexod package + dependencies (boto3 comes from the runtime)",
            removal_policy=RemovalPolicy.RETAIN,  # rollback needs the previous version to still exist
        )
        self.llm_layer = lambda_.LayerVersion(
            self,
            "LlmLayer",
            code=bundling.layer_code("llm", config.architecture),
            compatible_runtimes=[self.python],
            compatible_architectures=[self.architecture],
            description=f"{c.LITELLM_PIN} and what it adds on top of the core layer (LLM runner only)",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.code = bundling.functions_code()
        self.environment: dict[str, str] = {
            "NEXOD_MODE": "aws",
            "NEXOD_REGION": Stack.of(self).region,
            "NEXOD_DEFAULT_MODEL": config.default_model,
            "NEXOD_LOG_LEVEL": "INFO",
            "NEXOD_PROFILE": config.profile.name,  # the metrics' `profile` dimension
            "POWERTOOLS_SERVICE_NAME": "nexod",
            "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
            # A handler's response is user data (run outputs, flows): never recorded as trace metadata.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        if not network.ipv4_egress:
            # Without NAT, AWS APIs are reached over IPv6: the SDK must use the dual-stack endpoints.
            self.environment["AWS_USE_DUALSTACK_ENDPOINT"] = "true"

    def function(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        memory_mb: int | None = None,
        timeout: Duration | None = None,
        with_llm: bool = False,
        environment: dict[str, str] | None = None,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=log_retention(self.config.profile),
            removal_policy=RemovalPolicy.RETAIN,  # records outlive a teardown; the retention expires them
        )
        fn = lambda_.Function(
            self,
            construct_id,
            description=description,
            runtime=self.python,
            architecture=self.architecture,
            handler=handler,
            code=self.code,
            layers=[self.core_layer, self.llm_layer] if with_llm else [self.core_layer],
            memory_size=memory_mb or self.config.profile.lambda_memory_mb,
            timeout=timeout or Duration.seconds(30),
            environment={**self.environment, **(environment or {})},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            vpc=self.network.vpc,
            vpc_subnets=self.network.app_subnets,
            security_groups=[self.network.functions_sg],
            ipv6_allowed_for_dual_stack=True,
        )
        return fn

    def allow_secret_read(self, role: iam.IGrantable, *secret_arns: str) -> None:
        """GetSecretValue on exactly these secrets, and decrypt through Secrets Manager only."""
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=list(secret_arns),
            )
        )
        self.allow_key_via_secrets_manager(role, ["kms:Decrypt"])

    def allow_key_via_secrets_manager(self, role: iam.IGrantable, actions: list[str]) -> None:
        stack = Stack.of(self)
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=actions,
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
