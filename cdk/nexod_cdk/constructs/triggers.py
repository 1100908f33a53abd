"""Triggers: the EventBridge Scheduler group and its role, the SQS ingress queue, the run-events bus.

Trigger Lambdas belong to a later issue; they attach through `attach_ingress_consumer()`.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..config import DeploymentConfig


def _queue(scope: Construct, construct_id: str, *, dlq: sqs.IQueue | None = None, **kwargs: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5) if dlq else None,
        **kwargs,  # type: ignore[arg-type]
    )


class Triggers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        sm_prefix = config.state_machine_prefix

        self.bus = events.EventBus(self, "RunEvents", event_bus_name=f"{sm_prefix}-runs")

        self.ingress_dlq = _queue(self, "IngressDlq")
        self.ingress_queue = _queue(self, "Ingress", dlq=self.ingress_dlq, visibility_timeout=Duration.seconds(6 * 30))
        # Scheduler delivers here what it could not start (after its own retries).
        self.schedule_dlq = _queue(self, "ScheduleDlq")

        self.schedule_group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=sm_prefix)
        group_arn = f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}:schedule-group/{sm_prefix}"
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: start runs of this deployment's flows, nothing else",
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
                sid="StartOurRunsOnly",
                actions=["states:StartExecution"],
                resources=[f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:{sm_prefix}-*"],
            )
        )
        self.schedule_dlq.grant_send_messages(self.scheduler_role)
        self.schedule_group_name = sm_prefix
        self.schedule_group_arn = group_arn

    def attach_ingress_consumer(self, fn: lambda_.IFunction) -> None:
        """Where the SQS trigger Lambda (later issue) plugs in: partial batch failures, small batches."""
        fn.add_event_source(sources.SqsEventSource(self.ingress_queue, batch_size=10, report_batch_item_failures=True))

    def environment(self) -> dict[str, str]:
        return {
            "NEXOD_EVENT_BUS_NAME": self.bus.event_bus_name,
            "NEXOD_SCHEDULE_GROUP": self.schedule_group_name,
            "NEXOD_SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "NEXOD_SCHEDULE_DLQ_ARN": self.schedule_dlq.queue_arn,
            "NEXOD_INGRESS_QUEUE_URL": self.ingress_queue.queue_url,
        }
