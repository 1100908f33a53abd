"""Stacks only compose constructs. Data (network, key, database) lives apart from the application so
that the application can be destroyed and redeployed without touching data."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from .config import DeploymentConfig
from .constants import TEST_MACHINE_INFIX
from .constructs.api import Api
from .constructs.console import Console
from .constructs.data import Data
from .constructs.network import Network
from .constructs.notifications import Notifications
from .constructs.observability import Observability
from .constructs.orchestration import Orchestration
from .constructs.payloads import Payloads
from .constructs.runtime import Runtime
from .constructs.schema import Schema
from .constructs.secrets import Secrets
from .constructs.triggers import Triggers

# A developer's console (`npm run dev`) signing in against a starter deployment.
LOCAL_CALLBACK = "http://localhost:8000/auth/callback"
LOCAL_LOGOUT = "http://localhost:8000/"


class DataStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = Network(self, "Network", config=config)
        self.data = Data(self, "Data", config=config, network=self.network)
        self.payloads = Payloads(self, "Payloads", config=config, key=self.data.key)
        CfnOutput(self, "ClusterEndpoint", value=self.data.cluster.cluster_endpoint.hostname)


class AppStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, data: DataStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network, db = data.network, data.data
        app_secret_arn = db.app_secret.secret_arn
        assert db.admin_secret is not None

        runtime = Runtime(self, "Runtime", config=config, network=network, key=db.key)
        secrets = Secrets(self, "Secrets", config=config, key=db.key)
        schema = Schema(
            self,
            "Schema",
            config=config,
            runtime=runtime,
            admin_secret_arn=db.admin_secret.secret_arn,
            app_secret_arn=app_secret_arn,
        )
        triggers = Triggers(self, "Triggers", config=config)
        orchestration = Orchestration(
            self,
            "Orchestration",
            config=config,
            network=network,
            runtime=runtime,
            secrets=secrets,
            triggers=triggers,
            database_secret_arn=app_secret_arn,
        )
        # The run starter and the SQS consumer start runs like the API does (its state machine settings).
        triggers.add_functions(runtime, orchestration.environment(), app_secret_arn)
        assert triggers.run_starter is not None
        assert triggers.ingress_consumer is not None
        api = Api(
            self,
            "Api",
            config=config,
            runtime=runtime,
            secrets=secrets,
            triggers=triggers,
            orchestration=orchestration,
            database_secret_arn=app_secret_arn,
        )
        # Approval notifications (issue 11): the API verifies links; the core runner (an approval's first
        # notice, after it parked) and the reminder sweeper sign links and send email.
        notifications = Notifications(
            self,
            "Notifications",
            config=config,
            runtime=runtime,
            secrets=secrets,
            key=db.key,
            database_secret_arn=app_secret_arn,
        )
        notifications.allow_verify(api.function)
        # Starter (no sweeper): the core runner sets an approval's first reminder after its first notice,
        # the Reminders function each next one, and the API deletes the one waiting when a decision is final.
        notifications.allow_set_reminders(orchestration.node_runner)
        notifications.allow_clear_reminders(api.function)
        # Runs a concurrency limit held start when an execution ends (issue 12): the execution-events function
        # starts them, on the flows' published versions, with the runners' ARNs in their input.
        orchestration.execution_events.add_to_role_policy(
            iam.PolicyStatement(
                sid="StartHeldRuns",
                actions=["states:StartExecution"],
                resources=[orchestration.state_machine_arn_pattern],
            )
        )
        for name, value in orchestration.environment().items():
            orchestration.execution_events.add_environment(name, value)
        # Test runs of drafts past their retention (issue 13): deleted with their test snapshots' versions by
        # the API after each test run of the workspace and, where it sweeps (production), by the sweeper.
        test_machines = f"{orchestration.state_machine_arn_pattern.rsplit('-*', 1)[0]}-{TEST_MACHINE_INFIX}*"
        test_executions = f"{orchestration.execution_arn_pattern.rsplit('-*', 1)[0]}-{TEST_MACHINE_INFIX}*"
        sweepers = [api.function, *([notifications.reminders] if notifications.sweeps else [])]
        for sweeper in sweepers:
            sweeper.add_to_role_policy(
                iam.PolicyStatement(
                    sid="DeleteTestSnapshots",
                    actions=["states:DeleteStateMachineVersion"],
                    resources=[test_machines],
                )
            )
        if notifications.sweeps:
            notifications.reminders.add_to_role_policy(
                iam.PolicyStatement(
                    sid="StopExpiredTestRuns", actions=["states:StopExecution"], resources=[test_executions]
                )
            )
            for name, value in orchestration.environment().items():
                notifications.reminders.add_environment(name, value)
        # Large node outputs (DESIGN §2): the node runner writes and reads them, the API reads them.
        # The agent launcher is a node runner too (an agent node's inputs may be offloaded upstream outputs).
        for runner in (orchestration.node_runner, orchestration.llm_runner, orchestration.agent_launcher):
            data.payloads.allow_write(runner)
        data.payloads.allow_read(api.function)
        for fn in (orchestration.node_runner, orchestration.llm_runner, orchestration.agent_launcher, api.function):
            for name, value in data.payloads.environment().items():
                fn.add_environment(name, value)
        # Nothing may run against the database before its schema exists.
        for fn in (
            api.function,
            orchestration.node_runner,
            orchestration.llm_runner,
            orchestration.execution_events,
            notifications.reminders,
            orchestration.broker,
            orchestration.agent_launcher,
            triggers.run_starter,
            triggers.ingress_consumer,
        ):
            fn.node.add_dependency(schema.resource)

        auth = api.auth
        runtime_config: dict[str, Any] = {
            "apiUrl": api.url,
            "auth": {"provider": config.auth_provider, "issuer": auth.issuer, "audience": auth.audience},
        }
        if auth.domain is not None and auth.client is not None:
            runtime_config["auth"]["cognitoDomain"] = auth.domain.base_url()
            runtime_config["auth"]["clientId"] = auth.client.user_pool_client_id
        console = Console(self, "Console", config=config, runtime_config=runtime_config)
        for sender in (orchestration.node_runner, notifications.reminders):  # links open the console's page
            notifications.allow_send(sender, console.url)
        if auth.client is not None:
            cfn_client = auth.client.node.default_child
            assert isinstance(cfn_client, cognito.CfnUserPoolClient)
            local = config.profile.allow_localhost_callback  # production: the deployed console only
            cfn_client.callback_ur_ls = [f"{console.url}/auth/callback"] + ([LOCAL_CALLBACK] if local else [])
            cfn_client.logout_ur_ls = [f"{console.url}/"] + ([LOCAL_LOGOUT] if local else [])

        observability = Observability(
            self,
            "Observability",
            config=config,
            functions={
                "Api": api.function,
                "NodeRunner": orchestration.node_runner,
                "LlmRunner": orchestration.llm_runner,
                "ExecutionEvents": orchestration.execution_events,
                # The Reminders function's 2 billed alarm metrics only where it sweeps (production): on the
                # starter its one-time invocations are rare, and the idle budget is $5.
                **({"Reminders": notifications.reminders} if notifications.sweeps else {}),
                # Not the Broker nor the AgentLauncher: each would add 2 billed alarm metrics (Errors,
                # Throttles) for failures that already end as a failed run (a launcher error fails its Task;
                # a broker that fails its runner stops the heartbeats) which FailedRuns counts.
            },
            dead_letter_queues={
                "IngressDlq": triggers.ingress_dlq,
                "ScheduleDlq": triggers.schedule_dlq,
                "ExecutionEventsDlq": orchestration.events_dlq,
            },
            failed_runs_rule=orchestration.failed_runs_rule,
            http_api=api.http_api,
            cluster=db.cluster,
        )
        self.api = api
        self.orchestration = orchestration
        self.triggers = triggers
        self.secrets = secrets
        self.console = console
        CfnOutput(self, "ApiUrl", value=api.url)
        CfnOutput(self, "ConsoleUrl", value=console.url)
        CfnOutput(self, "StateMachineRoleArn", value=orchestration.state_machine_role.role_arn)
        CfnOutput(self, "NodeRunnerArn", value=orchestration.node_runner.function_arn)
        CfnOutput(self, "LlmRunnerArn", value=orchestration.llm_runner.function_arn)
        CfnOutput(self, "AgentLauncherArn", value=orchestration.agent_launcher.function_arn)
        CfnOutput(self, "RunStarterArn", value=triggers.run_starter.function_arn)
        CfnOutput(self, "BrokerUrl", value=orchestration.broker_url)
        CfnOutput(self, "AlarmTopicArn", value=observability.topic.topic_arn)
        if auth.user_pool is not None:
            CfnOutput(self, "UserPoolId", value=auth.user_pool.user_pool_id)


def tag_all(scope: Construct, config: DeploymentConfig) -> None:
    Tags.of(scope).add("nexod:deployment", f"{config.prefix}-{config.profile.name}")
    Tags.of(scope).add("nexod:profile", config.profile.name)
