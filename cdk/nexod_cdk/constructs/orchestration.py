"""Orchestration: the node runners (one function per runtime), the role every per-flow state machine runs
as, run-status events, and the ECS cluster + Fargate task definition of the agent runner.

Per-flow state machines are NOT defined here: the API creates them at publish time, named
`<prefix>-<workspace>-<flow>`, and they may call only what this construct lets the role invoke.
The agent launcher (agent/crew nodes) attaches with `allow_task_function()`, like approvals later.
The agent broker (its own function URL) and the broker key live here too: see docs/architecture.md.
"""

from __future__ import annotations

from aws_cdk import Duration, Fn, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig, log_retention
from .network import Network
from .runtime import Runtime
from .secrets import Secrets
from .triggers import Triggers

AGENT_IMAGE_EXCLUDE = [
    "*",
    "!pyproject.toml",
    "!README.md",
    "!layers/nexod/**",
    "!ecs_tasks/agent_runner/**",
    "**/__pycache__",
    "**/*.pyc",
]


class Orchestration(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: Network,
        runtime: Runtime,
        secrets: Secrets,
        triggers: Triggers,
        database_secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.config = config
        self.prefix = config.state_machine_prefix
        arn = f"arn:{stack.partition}:states:{stack.region}:{stack.account}"
        self.state_machine_arn_pattern = f"{arn}:stateMachine:{self.prefix}-*"
        self.execution_arn_pattern = f"{arn}:execution:{self.prefix}-*"
        retention = log_retention(config.profile)

        # Under /aws/vendedlogs/ so log delivery's resource policy stays one wildcard. Retained on teardown
        # like every log group; the stack's id in the name lets a redeploy create a fresh one.
        stack_uuid = Fn.select(2, Fn.split("/", stack.stack_id))
        self.log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{self.prefix}-{stack_uuid}",
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )

        # -- node runners: one function per runtime a node kind names (domain/nodes, `runtime`) -------
        # The core runner runs every kind but `llm`, and the run's finish/fail: no LiteLLM, so it stays small.
        self.node_runner = runtime.function(
            "NodeRunner",
            handler=c.NODE_RUNNER_HANDLER,
            description="Nexod: runs one flow node of the core runtime (invoked by the per-flow state machines)",
            memory_mb=config.profile.node_runner_memory_mb,
            timeout=Duration.seconds(c.NODE_RUNNER_TIMEOUT_SECONDS),
            environment={
                "NEXOD_DATABASE_SECRET_ARN": database_secret_arn,
                "NEXOD_RUNNER_MEMORY_MB": str(config.profile.node_runner_memory_mb),  # compute cost per node run
                **triggers.environment(),
                **secrets.environment(),
            },
        )
        runtime.allow_secret_read(self.node_runner, database_secret_arn)
        # Run lifecycle events (the run's finish/fail) to the deployment's bus, relayed from the outbox.
        triggers.bus.grant_put_events_to(self.node_runner)
        assert self.node_runner.role is not None
        secrets.allow_assume(self.node_runner.role)
        # The LLM runner carries the LLM layer and runs `llm` nodes only. Its provider keys are workspace
        # credentials, read at the moment of use through the workspace-secrets reader like the core runner.
        self.llm_runner = runtime.function(
            "LlmRunner",
            handler=c.LLM_RUNNER_HANDLER,
            description="Nexod: runs one LLM node (invoked by the per-flow state machines)",
            memory_mb=config.profile.node_runner_memory_mb,
            timeout=Duration.seconds(c.NODE_RUNNER_TIMEOUT_SECONDS),
            with_llm=True,
            environment={
                "NEXOD_DATABASE_SECRET_ARN": database_secret_arn,
                "NEXOD_RUNNER_MEMORY_MB": str(config.profile.node_runner_memory_mb),  # compute cost per node run
                **triggers.environment(),
                **secrets.environment(),
            },
        )
        runtime.allow_secret_read(self.llm_runner, database_secret_arn)
        triggers.bus.grant_put_events_to(self.llm_runner)  # the soft budget crossing (nexod.budget)
        assert self.llm_runner.role is not None
        secrets.allow_assume(self.llm_runner.role)

        # -- the role of every per-flow state machine -----------------------------------------------
        self.state_machine_role = iam.Role(
            self,
            "StateMachineRole",
            description="Per-flow Nexod state machines: invoke the node runners (+ launcher/approval), log, trace",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": [self.state_machine_arn_pattern, self.execution_arn_pattern]},
                },
            ),
        )
        self._invocable: list[str] = []
        self._invoke_policy = iam.Policy(self, "InvokeTaskFunctions", roles=[self.state_machine_role])
        self.allow_task_function(self.node_runner)
        self.allow_task_function(self.llm_runner)
        for runner in (self.node_runner, self.llm_runner):
            # A callback node whose result is recorded already (a redrive, a retry, a lost send) completes its
            # new Task's token from the memo (nexod.runtime.runner.NodeRunner._complete_memo).
            runner.add_to_role_policy(
                iam.PolicyStatement(
                    sid="CompleteFinishedCallbacks",
                    actions=["states:SendTaskSuccess"],
                    resources=[self.state_machine_arn_pattern],
                )
            )
        self.allow_log_delivery(self.state_machine_role)
        self.state_machine_role.add_to_policy(
            iam.PolicyStatement(
                sid="XRayTraces",
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            )
        )

        # -- execution status changes of our state machines -> runs table --------------------------
        self.execution_events = runtime.function(
            "ExecutionEvents",
            handler=c.EXECUTION_EVENTS_HANDLER,
            description="Nexod: Step Functions execution status changes -> run status",
            timeout=Duration.seconds(60),
            environment={"NEXOD_DATABASE_SECRET_ARN": database_secret_arn, **triggers.environment()},
        )
        runtime.allow_secret_read(self.execution_events, database_secret_arn)
        triggers.bus.grant_put_events_to(self.execution_events)  # a reconciled run's status; earlier leftovers
        self.events_dlq = sqs.Queue(
            self,
            "ExecutionEventsDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        ours = {"stateMachineArn": events.Match.prefix(f"{arn}:stateMachine:{self.prefix}-")}
        self.status_rule = events.Rule(
            self,
            "ExecutionStatusRule",
            description="Status changes of this deployment's per-flow state machines",
            event_pattern=events.EventPattern(
                source=["aws.states"], detail_type=[c.STEP_FUNCTIONS_STATUS_EVENT], detail=ours
            ),
        )
        self.status_rule.add_target(
            targets.LambdaFunction(
                self.execution_events,
                dead_letter_queue=self.events_dlq,
                retry_attempts=8,
                max_event_age=Duration.hours(6),
            )
        )
        self.failed_runs_logs = logs.LogGroup(
            self, "FailedRunsLog", retention=retention, removal_policy=RemovalPolicy.RETAIN
        )
        self.failed_runs_rule = events.Rule(
            self,
            "FailedRunsRule",
            description="Failed, timed-out or aborted runs: the 'failed runs' alarm counts its matches",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[c.STEP_FUNCTIONS_STATUS_EVENT],
                detail={**ours, "status": ["FAILED", "TIMED_OUT", "ABORTED"]},
            ),
            targets=[targets.CloudWatchLogGroup(self.failed_runs_logs, dead_letter_queue=self.events_dlq)],
        )

        # -- agent runner: ECS Fargate task (CrewAI is too large for Lambda) ----------------------
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{self.prefix}-agents",  # named: the launcher may tag tasks of this cluster only
            vpc=network.vpc,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED if config.profile.name == "production" else ecs.ContainerInsights.DISABLED
            ),
        )
        arm = config.architecture == "arm64"
        self.agent_task = ecs.FargateTaskDefinition(
            self,
            "AgentTask",
            cpu=c.AGENT_CPU,
            memory_limit_mib=c.AGENT_MEMORY_MIB,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64 if arm else ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            ephemeral_storage_gib=21,
        )
        self.agent_task.add_volume(name="home")
        self.agent_task.add_volume(name="tmp")
        # Built and pushed like any asset (to the Data stack's repository), and named by ECR's dual-stack
        # registry host: the starter's agent subnets are IPv6-only, where ECS pulls from that endpoint only
        # (IPv4 callers reach it as well, so one URI serves both profiles).
        self.agent_image_asset = ecr_assets.DockerImageAsset(
            self,
            "AgentImage",
            directory=str(c.REPO_ROOT),
            file="ecs_tasks/agent_runner/Dockerfile",
            exclude=AGENT_IMAGE_EXCLUDE,
            ignore_mode=IgnoreMode.DOCKER,  # "!" re-includes: only what the image needs is staged
            platform=ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64,
        )
        self.agent_image_uri = (
            f"{stack.account}.dkr-ecr.{stack.region}.on.aws/"
            f"{self.agent_image_asset.repository.repository_name}:{self.agent_image_asset.image_tag}"
        )
        self.agent_image = ecs.ContainerImage.from_registry(self.agent_image_uri)
        self.agent_logs = logs.LogGroup(self, "AgentLogs", retention=retention, removal_policy=RemovalPolicy.RETAIN)
        container = self.agent_task.add_container(
            c.AGENT_CONTAINER,
            container_name=c.AGENT_CONTAINER,  # the name EcsLauncher's RunTask overrides address
            image=self.agent_image,
            essential=True,
            readonly_root_filesystem=True,
            user="10001",
            logging=ecs.LogDrivers.aws_logs(stream_prefix="agent", log_group=self.agent_logs),
            # The container is untrusted (DESIGN §3, issue 10): no database secret, no ARN, no bus, no key.
            # The launcher's RunTask adds NEXOD_BROKER_URL and NEXOD_BROKER_TOKEN, and nothing else.
            environment={
                "HOME": "/home/nexod",
                "CREWAI_DISABLE_TELEMETRY": "true",
                "OTEL_SDK_DISABLED": "true",
                "CREWAI_TRACING_ENABLED": "false",
            },
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/home/nexod", source_volume="home", read_only=False),
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False),  # noqa: S108
        )
        # The task role holds no statement at all: the runner reports heartbeats and its result to the broker,
        # which completes the task token (SendTask* is the broker function's right, not the container's). The
        # execution role (ECR pull, log stream) is the ECS agent's, never visible inside the container.
        self.agent_security_group = network.agent_sg
        self.agent_subnets: ec2.SubnetSelection = network.app_subnets
        # from_registry grants nothing: the execution role pulls the asset's image (GetAuthorizationToken + repo).
        assert self.agent_task.execution_role is not None
        self.agent_image_asset.repository.grant_pull(self.agent_task.execution_role)

        # -- the broker key: HMAC of the capability tokens the launcher mints and the broker verifies ------
        # 48 characters from [A-Za-z0-9] (all base64 digits): ~285 random bits, decoded to 36 bytes by
        # nexod.adapters.broker_keys.secrets_manager_broker_key (which refuses fewer than 32).
        # A profile that rotates its database secret gets a secret of its own; the starter (no rotation, every
        # secret $0.40 of a $5 idle budget) derives the key from the app's database secret (HKDF under the
        # broker's own label, nexod.adapters.broker_keys), which the launcher and the broker read already.
        self.broker_key_arn = database_secret_arn
        if config.profile.rotate_secrets:
            broker_key = secretsmanager.Secret(
                self,
                "BrokerKey",
                description="Nexod: HMAC key of the agent broker's capability tokens (launcher mints, broker verifies)",
                encryption_key=runtime.key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=48, exclude_punctuation=True, include_space=False, require_each_included_type=True
                ),
                # Kept on teardown like every secret (unnamed, so a redeploy creates a fresh one next to it).
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.broker_key_arn = broker_key.secret_arn

        # -- the broker: the agent runner's only door (capability token, its own function URL) -----------
        # Not the API function: it reads workspace credentials at the moment of use (the API is write-only,
        # DESIGN §7), carries LiteLLM (it is the LLM gateway) and needs more than API Gateway's 29 s per LLM
        # call. Its URL has no IAM auth: every request must carry a token it verifies (HMAC, expiry, one task).
        self.broker = runtime.function(
            "Broker",
            handler=c.BROKER_HANDLER,
            description="Nexod: the agent broker (capability-token scoped LLM calls, tools, results of agent tasks)",
            memory_mb=config.profile.node_runner_memory_mb,
            timeout=Duration.seconds(c.BROKER_TIMEOUT_SECONDS),
            with_llm=True,
            environment={
                "NEXOD_DATABASE_SECRET_ARN": database_secret_arn,
                "NEXOD_BROKER_KEY_SECRET_ARN": self.broker_key_arn,
                **secrets.environment(),
            },
        )
        runtime.allow_secret_read(self.broker, database_secret_arn, self.broker_key_arn)
        assert self.broker.role is not None
        secrets.allow_assume(self.broker.role)  # provider keys and `http` tool credentials, per workspace
        self.broker.add_to_role_policy(
            iam.PolicyStatement(
                sid="CompleteAgentTasks",  # the runner's heartbeat and result complete the node's task token
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resources=[self.state_machine_arn_pattern],
            )
        )
        self.broker_url_resource = self.broker.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        # The runner's client adds `v1/broker/<call>` to this base (ecs_tasks/agent_runner/client.py).
        self.broker_url = self.broker_url_resource.url

        # -- the agent launcher: agent/crew nodes' Task (lambda:invoke.waitForTaskToken) ------------------
        stack_arn = f"arn:{stack.partition}:ecs:{stack.region}:{stack.account}"
        self.agent_launcher = runtime.function(
            "AgentLauncher",
            handler=c.AGENT_LAUNCHER_HANDLER,
            description="Nexod: starts the Fargate agent runner of an agent/crew node (invoked with a task token)",
            timeout=Duration.seconds(c.AGENT_LAUNCHER_TIMEOUT_SECONDS),
            environment={
                "NEXOD_DATABASE_SECRET_ARN": database_secret_arn,
                "NEXOD_AGENT_CLUSTER_ARN": self.cluster.cluster_arn,
                "NEXOD_AGENT_TASK_DEFINITION_ARN": self.agent_task.task_definition_arn,
                "NEXOD_AGENT_CONTAINER": c.AGENT_CONTAINER,
                "NEXOD_AGENT_SUBNETS": Fn.join(",", network.agent_subnet_ids),  # IPv6-only in starter
                "NEXOD_AGENT_SECURITY_GROUPS": network.agent_sg.security_group_id,
                # Private subnets in every profile: out through NAT (IPv4) or the egress-only gateway (IPv6).
                "NEXOD_AGENT_ASSIGN_PUBLIC_IP": "false",
                "NEXOD_BROKER_URL": self.broker_url,
                "NEXOD_BROKER_KEY_SECRET_ARN": self.broker_key_arn,
                "NEXOD_RUNNER_MEMORY_MB": str(config.profile.lambda_memory_mb),
                **triggers.environment(),  # it is a node runner: run lifecycle events, like the core runner
            },
        )
        runtime.allow_secret_read(self.agent_launcher, database_secret_arn, self.broker_key_arn)
        triggers.bus.grant_put_events_to(self.agent_launcher)
        # A retried agent node whose earlier attempt finished is a memo hit: its new token completes at once.
        self.agent_launcher.add_to_role_policy(
            iam.PolicyStatement(
                sid="CompleteFinishedCallbacks",
                actions=["states:SendTaskSuccess"],
                resources=[self.state_machine_arn_pattern],
            )
        )
        self.agent_launcher.add_to_role_policy(
            iam.PolicyStatement(
                sid="RunTheAgentTask",
                actions=["ecs:RunTask"],
                resources=[self.agent_task.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
            )
        )
        # RunTask's tags (workspace, run, node) need TagResource on the task it creates, in this cluster.
        self.agent_launcher.add_to_role_policy(
            iam.PolicyStatement(
                sid="TagTheAgentTask",
                actions=["ecs:TagResource"],
                resources=[f"{stack_arn}:task/{self.prefix}-agents/*"],
                conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
            )
        )
        assert self.agent_task.execution_role is not None
        self.agent_launcher.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassOnlyTheAgentTaskRoles",
                actions=["iam:PassRole"],
                resources=[self.agent_task.execution_role.role_arn, self.agent_task.task_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        self.allow_task_function(self.agent_launcher)

    def allow_log_delivery(self, grantable: iam.IGrantable) -> None:
        """What creating/updating a state machine with logging asks of the caller (and of the role)."""
        stack = Stack.of(self)
        grantable.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="VendedLogDelivery",
                # These CloudWatch Logs delivery APIs have no resource-level permissions (documented).
                actions=list(c.LOG_DELIVERY_ACTIONS),
                resources=["*"],
            )
        )
        grantable.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="VendedLogGroupPolicy",
                actions=list(c.LOG_DELIVERY_POLICY_ACTIONS),
                resources=[f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"],
            )
        )

    def allow_task_function(self, fn: lambda_.IFunction) -> None:
        """Let per-flow state machines invoke `fn` (the node runners now; launcher and approval later)."""
        # The compiled ASL names the unqualified function ARN (compiler.substitute): no version or alias.
        self._invocable.append(fn.function_arn)
        self._invoke_policy.document.add_statements(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn])
        )

    def environment(self) -> dict[str, str]:
        return {
            "NEXOD_NODE_RUNNER_ARN": self.node_runner.function_arn,
            "NEXOD_LLM_RUNNER_ARN": self.llm_runner.function_arn,
            "NEXOD_STATE_MACHINE_ROLE_ARN": self.state_machine_role.role_arn,
            "NEXOD_STATE_MACHINE_PREFIX": self.prefix,
            "NEXOD_STATE_MACHINE_LOG_GROUP_ARN": self.log_group.log_group_arn,
            "NEXOD_AGENT_LAUNCHER_ARN": self.agent_launcher.function_arn,
        }
