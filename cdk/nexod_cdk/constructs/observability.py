"""Observability: alarms on failed runs, dead letters, Lambda errors and throttles, API 5xx and the
database (capacity, connections, and in starter a cluster that stopped pausing), routed to a KMS-encrypted
SNS topic with an email subscription (required in production), and a dashboard when the profile pays for one."""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig

PERIOD = Duration.minutes(5)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        functions: dict[str, lambda_.IFunction],
        dead_letter_queues: dict[str, sqs.IQueue],
        failed_runs_rule: events.IRule,
        http_api: apigw.IHttpApi,
        cluster: rds.IDatabaseCluster,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Its own key (CloudWatch must be allowed to use it, which the data key must not allow): $1/month.
        key = kms.Key(
            self,
            "TopicKey",
            enable_key_rotation=True,
            description="Nexod alarm topic",
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(self, "Alarms", display_name="Nexod alarms", master_key=key, enforce_ssl=True)
        if config.alarm_email:
            self.topic.add_subscription(subs.EmailSubscription(config.alarm_email))
        else:  # starter only (production refuses to synthesize without one: config.py)
            Annotations.of(self).add_warning_v2(
                "nexod:alarms-unrouted",
                "No -c nexod:alarmEmail: alarms reach the topic (output AlarmTopicArn) and nobody else; "
                "subscribe to it or redeploy with ALARM_EMAIL=<address>",
            )
        action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(name: str, metric: cw.IMetric, description: str, threshold: float = 1) -> None:
            a = cw.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            a.add_alarm_action(action)
            self.alarms.append(a)

        alarm(
            "FailedRuns",
            cw.Metric(
                namespace="AWS/Events",
                metric_name="MatchedEvents",
                dimensions_map={"RuleName": failed_runs_rule.rule_name},
                statistic="Sum",
                period=PERIOD,
            ),
            "A run failed, timed out or was aborted (see the failed-runs log group and the run in the console)",
        )
        for name, queue in dead_letter_queues.items():
            alarm(
                f"{name}Depth",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                f"Messages are waiting in the {name} dead-letter queue: inspect them and redrive",
            )

        def total(metric: str) -> cw.MathExpression:
            using = {
                f"{metric.lower()}{i}": fn.metric(metric, period=PERIOD, statistic="Sum")
                for i, fn in enumerate(functions.values())
            }
            return cw.MathExpression(
                expression="+".join(using), using_metrics=using, label=f"Lambda {metric}", period=PERIOD
            )

        alarm("LambdaErrors", total("Errors"), "A Nexod Lambda function raised errors (see its log group)")
        alarm("LambdaThrottles", total("Throttles"), "A Nexod Lambda function was throttled: raise concurrency")
        api_5xx = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5xx",
            dimensions_map={"ApiId": http_api.api_id, "Stage": "$default"},
            statistic="Sum",
            period=PERIOD,
        )
        alarm("Api5xx", api_5xx, "The API answered 5xx", threshold=5)

        # -- the database ---------------------------------------------------------------------------
        capacity = cluster.metric_serverless_database_capacity(period=PERIOD, statistic="Maximum")
        alarm(
            "DatabaseCapacity",
            capacity,
            f"Aurora ran at its maximum capacity ({config.profile.db_max_acu:g} ACU): queries queue; raise "
            "the profile's max ACU or find the expensive statements (slow-query log)",
            threshold=config.profile.db_max_acu,
        )
        alarm(
            "DatabaseConnections",
            cluster.metric_database_connections(period=PERIOD, statistic="Maximum"),
            "Many database connections are open: a leak, or more concurrent Lambdas than Aurora's "
            "max_connections allows at this capacity",
            threshold=config.profile.db_connections_alarm,
        )
        if config.profile.db_auto_pause_minutes:
            # The starter idle cost assumes the cluster pauses when unused (docs/cost.md): say so when it
            # has not paused (capacity never 0) for a whole day.
            awake = cw.Alarm(
                self,
                "DatabaseNeverPaused",
                metric=cluster.metric_serverless_database_capacity(period=Duration.hours(1), statistic="Minimum"),
                threshold=0,
                evaluation_periods=24,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="Aurora has not paused for 24 hours: something holds a connection or polls it, "
                "and the idle cost is above the starter figure (see docs/cost.md)",
            )
            awake.add_alarm_action(action)
            self.alarms.append(awake)

        if config.profile.dashboard:
            dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{config.state_machine_prefix}")
            dashboard.add_widgets(
                cw.AlarmStatusWidget(alarms=self.alarms, title="Alarms", width=24),
                cw.GraphWidget(title="Lambda errors / throttles", left=[total("Errors"), total("Throttles")], width=12),
                cw.GraphWidget(
                    title="Lambda duration p95",
                    left=[fn.metric_duration(statistic="p95", period=PERIOD) for fn in functions.values()],
                    width=12,
                ),
                cw.GraphWidget(title="API 5xx", left=[api_5xx], width=12),
                *self._run_widgets(config),
                cw.GraphWidget(
                    title="Dead letters",
                    left=[
                        q.metric_approximate_number_of_messages_visible(period=PERIOD)
                        for q in dead_letter_queues.values()
                    ],
                    width=12,
                ),
            )

    @staticmethod
    def _run_widgets(config: DeploymentConfig) -> list[cw.IWidget]:
        """The custom metrics the functions publish as EMF (no alarm on them: each alarm metric is billed)."""

        def custom(service: str, name: str, statistic: str) -> cw.Metric:
            return cw.Metric(
                namespace=c.METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": service, "profile": config.profile.name},
                statistic=statistic,
                period=PERIOD,
            )

        runs = [
            custom(c.EXECUTION_EVENTS_SERVICE, name, "Sum")
            for name in ("RunsStarted", "RunsSucceeded", "RunsFailed", "RunsCancelled")
        ]
        return [
            cw.GraphWidget(title="Runs", left=runs, width=12),
            cw.GraphWidget(
                title="Node duration (p50, p95)",
                left=[custom(c.NODE_RUNNER_SERVICE, "NodeDuration", s) for s in ("p50", "p95")],
                width=12,
            ),
            cw.GraphWidget(
                title="LLM tokens and cost",
                left=[custom(c.NODE_RUNNER_SERVICE, n, "Sum") for n in ("LLMTokensIn", "LLMTokensOut")],
                right=[custom(c.NODE_RUNNER_SERVICE, "LLMCostUSD", "Sum")],
                width=12,
            ),
        ]
