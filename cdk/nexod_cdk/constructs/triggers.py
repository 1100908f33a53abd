"""Triggers (issue 12): the run-events bus, the EventBridge Scheduler group and its role, the SQS ingress
queue, the run-starter function (Scheduler's and the trigger rules' target) and the SQS ingress consumer.

Least privilege by name: schedules live in the group `<prefix>-<profile>`, trigger rules are named
`<prefix>-<profile>-trg-<trigger id>` on the Nexod bus (and the named buses `nexod:triggerBuses` lists); the
API may manage only those, the Scheduler role may only invoke the run starter, and EventBridge may invoke
the run starter only for a rule with that prefix.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig
from .runtime import Runtime

MAX_RECEIVES = 5  # an ingress message that failed this often goes to the DLQ (and its alarm fires)
INGRESS_BATCH = 10


def _queue(scope: Construct, construct_id: str, *, dlq: sqs.IQueue | None = None, **kwargs: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=MAX_RECEIVES) if dlq else None,
        **kwargs,  # type: ignore[arg-type]
    )


class Triggers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.config = config
        sm_prefix = config.state_machine_prefix
        self.rule_prefix = f"{sm_prefix}-{c.TRIGGER_RULE_INFIX}"

        self.bus_name = f"{sm_prefix}-runs"
        self.bus = events.EventBus(self, "RunEvents", event_bus_name=self.bus_name)

        self.ingress_dlq = _queue(self, "IngressDlq")
        self.ingress_queue = _queue(self, "Ingress", dlq=self.ingress_dlq, visibility_timeout=Duration.seconds(6 * 30))
        # Scheduler delivers here what it could not start (after its own retries).
        self.schedule_dlq = _queue(self, "ScheduleDlq")

        self.schedule_group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=sm_prefix)
        group_arn = f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}:schedule-group/{sm_prefix}"
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: invoke this deployment's run starter, nothing else",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": group_arn},
                },
            ),
        )
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterUndeliveredSchedules",
                actions=["sqs:SendMessage"],
                resources=[self.schedule_dlq.queue_arn],
            )
        )
        self.schedule_group_name = sm_prefix
        self.schedule_group_arn = group_arn
        self.schedules_arn_pattern = (
            f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}:schedule/{sm_prefix}/*"
        )
        rules = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule"
        # Trigger rules: on the Nexod bus and on the named buses the deployment allows (`nexod:triggerBuses`).
        self.rule_buses = [self.bus_name, *config.trigger_buses]
        self.rule_arn_patterns = [f"{rules}/{bus}/{self.rule_prefix}*" for bus in self.rule_buses]
        self.rule_source_arn_pattern = f"{rules}/*/{self.rule_prefix}*"
        self.run_starter: lambda_.Function | None = None
        self.ingress_consumer: lambda_.Function | None = None

    def add_functions(self, runtime: Runtime, environment: dict[str, str], database_secret_arn: str) -> None:
        """The run starter and the SQS ingress consumer (core layer only), with what starting a run needs:
        the database, `states:StartExecution` on this deployment's state machines, run events on the bus."""
        stack = Stack.of(self)
        env = {"NEXOD_DATABASE_SECRET_ARN": database_secret_arn, **environment, **self.environment()}
        arn = f"arn:{stack.partition}:states:{stack.region}:{stack.account}"
        states = f"{arn}:stateMachine:{self.config.state_machine_prefix}-*"
        made = []
        for construct_id, handler, description, timeout in (
            ("RunStarter", c.RUN_STARTER_HANDLER, "Nexod: start a trigger's run (Scheduler, trigger rules)", 30),
            ("IngressConsumer", c.SQS_INGRESS_HANDLER, "Nexod: start runs from the SQS ingress queue", 60),
        ):
            fn = runtime.function(
                construct_id,
                handler=handler,
                description=description,
                timeout=Duration.seconds(timeout),
                environment=env,
            )
            runtime.allow_secret_read(fn, database_secret_arn)
            self.bus.grant_put_events_to(fn)  # run lifecycle events (the run's start), relayed from the outbox
            fn.add_to_role_policy(
                iam.PolicyStatement(sid="StartRunsOfOurFlows", actions=["states:StartExecution"], resources=[states])
            )
            made.append(fn)
        self.run_starter, self.ingress_consumer = made
        # Scheduler: invoke the run starter, nothing else (plus the DLQ above).
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeTheRunStarterOnly",
                actions=["lambda:InvokeFunction"],
                resources=[self.run_starter.function_arn],
            )
        )
        # EventBridge: only rules named with the trigger prefix, on any bus the API may put them on.
        self.run_starter.add_permission(
            "TriggerRulesInvoke",
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_account=stack.account,
            source_arn=self.rule_source_arn_pattern,
        )
        self.attach_ingress_consumer(self.ingress_consumer)

    def attach_ingress_consumer(self, fn: lambda_.IFunction) -> None:
        """The SQS trigger Lambda: batches of 10, partial batch failures (Powertools batch); a message that
        failed MAX_RECEIVES times goes to the DLQ, whose alarm fires."""
        fn.add_event_source(
            sources.SqsEventSource(self.ingress_queue, batch_size=INGRESS_BATCH, report_batch_item_failures=True)
        )

    def allow_manage(self, fn: lambda_.Function) -> None:
        """The API: create, change and delete schedules in the group (passing only the Scheduler role), and
        trigger rules with the prefix and their targets."""
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManageTriggerSchedules",
                actions=["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
                resources=[self.schedules_arn_pattern],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassOnlyTheSchedulerRole",
                actions=["iam:PassRole"],
                resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManageTriggerRules",
                actions=[
                    "events:PutRule",
                    "events:DeleteRule",
                    "events:PutTargets",
                    "events:RemoveTargets",
                ],
                resources=self.rule_arn_patterns,
            )
        )
        for name, value in self.function_environment().items():
            fn.add_environment(name, value)

    def environment(self) -> dict[str, str]:
        return {
            "NEXOD_EVENT_BUS_NAME": self.bus.event_bus_name,
            "NEXOD_SCHEDULER_GROUP": self.schedule_group_name,
            "NEXOD_SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "NEXOD_SCHEDULER_DLQ_ARN": self.schedule_dlq.queue_arn,
            "NEXOD_INGRESS_QUEUE_URL": self.ingress_queue.queue_url,
            "NEXOD_TRIGGER_BUSES": json.dumps(self.rule_buses),
        }

    def function_environment(self) -> dict[str, str]:
        """What the Scheduler and EventRules adapters need beside `environment()`: the run starter's ARN."""
        assert self.run_starter is not None, "add_functions() first"
        return {"NEXOD_RUN_STARTER_ARN": self.run_starter.function_arn}
