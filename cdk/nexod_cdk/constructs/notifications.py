"""Approval notifications (issue 11): the approval-link signing key, SES from one configured identity, and
the Reminders function that sends due notices and reminders: invoked every 5 minutes by a sweeper schedule
(production), or once per due reminder by a one-time schedule in the reminder group (the starter)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig
from .runtime import Runtime
from .secrets import Secrets

# The sweeper's schedule and its runs a month. Each run reads Postgres, so a profile whose Aurora pauses
# when idle (the starter) has no sweeper: a 5-minute sweep would keep the cluster awake for good, and even a
# daily one breaks the starter's $5 idle promise. There the node runner sends each approval's first notice
# after parking and sets a one-time `at(...)` schedule for its next reminder; each reminder sets the next
# (docs/decisions.md, approval notices; reminders on the starter).
REMIND_RATE = ("rate(5 minutes)", 12 * 24 * 30)


def sweeps(config: DeploymentConfig) -> bool:
    return config.profile.db_auto_pause_minutes is None


class Notifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        runtime: Runtime,
        secrets: Secrets,
        key: kms.IKey,
        database_secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.config = config
        self.runtime = runtime
        # HMAC key of the signed one-time approval links. A profile that rotates its database secret gets a
        # secret of its own (48 random characters); one that does not (the starter, where each secret is
        # $0.40 of a $5 idle budget) derives the key from the app's database secret (HKDF, its own label):
        # every function that signs or verifies links reads that secret already.
        self.link_key_arn = database_secret_arn
        if config.profile.rotate_secrets:
            secret = sm.Secret(
                self,
                "ApprovalLinkKey",
                description="Nexod: HMAC key of signed one-time approval links",
                encryption_key=key,
                generate_secret_string=sm.SecretStringGenerator(
                    password_length=48, exclude_punctuation=True, include_space=False
                ),
            )
            secret.apply_removal_policy(RemovalPolicy.RETAIN)
            self.link_key_arn = secret.secret_arn
        # The function that sends due notices and reminders: the sweeper's target (production), or the target
        # of one one-time schedule per due reminder (the starter: nothing runs until a reminder is due).
        self.sweeps = sweeps(config)
        self.reminders = runtime.function(
            "Reminders",
            handler=c.REMIND_HANDLER,
            description=(
                "Nexod: send due approval notices and reminders (every 5 minutes)"
                if self.sweeps
                else "Nexod: send one approval's due reminder (a one-time schedule per reminder)"
            ),
            timeout=Duration.minutes(2),
            environment={"NEXOD_DATABASE_SECRET_ARN": database_secret_arn, **secrets.environment()},
        )
        runtime.allow_secret_read(self.reminders, database_secret_arn)
        assert self.reminders.role is not None
        secrets.allow_assume(self.reminders.role)  # a chat webhook's URL is a workspace credential
        self.allow_send(self.reminders)

        partition, region, account = stack.partition, stack.region, stack.account
        self.group_name = ""
        self.reminder_schedules_arn = ""
        if self.sweeps:
            schedule_name = f"{config.state_machine_prefix}-approval-reminders"
            source_arn = f"arn:{partition}:scheduler:{region}:{account}:schedule/default/{schedule_name}"
        else:
            self.group_name = f"{config.state_machine_prefix}-reminders"
            self.group = scheduler.CfnScheduleGroup(self, "ReminderGroup", name=self.group_name)
            source_arn = f"arn:{partition}:scheduler:{region}:{account}:schedule-group/{self.group_name}"
            self.reminder_schedules_arn = f"arn:{partition}:scheduler:{region}:{account}:schedule/{self.group_name}/*"
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            description="EventBridge Scheduler: invoke the approval reminder function, nothing else",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {"aws:SourceArn": source_arn},
                },
            ),
        )
        self.schedule_role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.reminders.function_arn])
        )
        if not self.sweeps:
            # The Reminders function sets the next reminder's schedule itself (its own ARN from its context).
            self.allow_set_reminders(self.reminders, target=False)
            return
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=schedule_name,
            description="Nexod: approval notices and reminders",
            schedule_expression=REMIND_RATE[0],
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.reminders.function_arn,
                role_arn=self.schedule_role.role_arn,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
            ),
        )

    def allow_set_reminders(self, fn: lambda_.Function, *, target: bool = True) -> None:
        """Where no sweeper runs: create one-time reminder schedules in the reminder group (passing only the
        reminders' schedule role). `target`: give the Reminders function's ARN (it knows its own)."""
        if self.sweeps:
            return
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="SetApprovalReminders",
                actions=["scheduler:CreateSchedule"],
                resources=[self.reminder_schedules_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassOnlyTheReminderScheduleRole",
                actions=["iam:PassRole"],
                resources=[self.schedule_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        self._reminder_environment(fn, target=target)

    def allow_clear_reminders(self, fn: lambda_.Function) -> None:
        """Where no sweeper runs: delete an approval's waiting reminder schedule (a final decision, the API)."""
        if self.sweeps:
            return
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="ClearApprovalReminders",
                actions=["scheduler:DeleteSchedule"],
                resources=[self.reminder_schedules_arn],
            )
        )
        self._reminder_environment(fn, target=False)

    def _reminder_environment(self, fn: lambda_.Function, *, target: bool) -> None:
        fn.add_environment("NEXOD_REMINDER_SCHEDULE_GROUP", self.group_name)
        fn.add_environment("NEXOD_REMINDER_ROLE_ARN", self.schedule_role.role_arn)
        if target:
            assert self.reminders is not None
            fn.add_environment("NEXOD_REMINDERS_FUNCTION_ARN", self.reminders.function_arn)

    def environment(self, console_url: str | None = None) -> dict[str, str]:
        env = {"NEXOD_APPROVAL_LINK_KEY_SECRET_ARN": self.link_key_arn}
        if self.config.ses_from_address:
            env["NEXOD_SES_FROM_ADDRESS"] = self.config.ses_from_address
        if self.config.ses_identity_arn:
            env["NEXOD_SES_IDENTITY_ARN"] = self.config.ses_identity_arn
        if console_url:
            env["NEXOD_CONSOLE_URL"] = console_url
        return env

    def allow_verify(self, fn: lambda_.Function) -> None:
        """The API: verify links (read the key); it sends nothing."""
        self.runtime.allow_secret_read(fn, self.link_key_arn)
        fn.add_environment("NEXOD_APPROVAL_LINK_KEY_SECRET_ARN", self.link_key_arn)

    def allow_send(self, fn: lambda_.Function, console_url: str | None = None) -> None:
        """Sign links and send email: the key, and ses:SendEmail on the configured identity only."""
        self.runtime.allow_secret_read(fn, self.link_key_arn)
        if self.config.ses_identity_arn:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    sid="SendApprovalEmailFromOurIdentityOnly",
                    actions=["ses:SendEmail"],
                    resources=[self.config.ses_identity_arn],
                )
            )
        for name, value in self.environment(console_url).items():
            fn.add_environment(name, value)
