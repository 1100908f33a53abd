"""Every acknowledged cdk-nag finding with the reason a security reviewer reads.

docs/security.md lists the same table (`python -m nexod_cdk.nag` prints it as markdown). Findings are
acknowledged per construct path, never per stack, so a new resource with the same problem still fails.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

from aws_cdk import Acknowledgment, Stack, Validations

from .config import DeploymentConfig

BOTH = ("starter", "production")
STARTER = ("starter",)
CDK_HELPERS = (
    "AWS679f53fac002430cb0da5b7982bd2287*",  # AwsCustomResource singleton (log group resource policy)
    "Custom::CDKBucketDeployment*",  # BucketDeployment singleton (console upload)
    "Schema/Provider/framework-onEvent*",  # custom-resource Provider framework
    "LogRetention*",  # log retention of Aurora's exported logs
)
CDK_HELPER_REASON = (
    "CDK-managed helper Lambda (runs only during deployments); its runtime, memory, tracing, managed "
    "policy and wildcard rights are set by aws-cdk-lib 2.275 and move with CDK upgrades."
)
OUR_FUNCTIONS = (
    "Runtime/Handler",
    "Runtime/NodeRunner",
    "Runtime/LlmRunner",
    "Runtime/ExecutionEvents",
    "Runtime/Migrate",
    "Runtime/Reminders",  # the sweeper's target (production); one-time reminder schedules' (starter)
    "Runtime/Broker",
    "Runtime/AgentLauncher",
    "Runtime/RunStarter",
    "Runtime/IngressConsumer",
)
PRODUCTION_ONLY_FUNCTIONS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ack:
    path: str  # fnmatch pattern over the construct path below the stack
    finding: str  # cdk-nag finding id; {sm}, {ws}, {region}, {account}, {group}, {data} are filled
    # from the config
    reason: str
    profiles: tuple[str, ...] = BOTH


def _acks() -> list[Ack]:
    acks: list[Ack] = []
    for helper in CDK_HELPERS:
        for finding in (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-L1",
            "Serverless-LambdaDLQ",
            "Serverless-LambdaLatestVersion",
            "Serverless-LambdaDefaultMemorySize",
            "Serverless-LambdaTracing",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-{account}-{region}/*]",
            "AwsSolutions-IAM5[Resource::<ConsoleSite26539DB4.Arn>/*]",
            "AwsSolutions-IAM5[Resource::<RuntimeMigrateD7A5C7BC.Arn>:*]",
        ):
            acks.append(Ack(helper, finding, CDK_HELPER_REASON))
    acks.append(
        Ack(
            "EventsLogGroupPolicy*",
            "AwsSolutions-IAM5[Resource::*]",
            "CDK's helper that writes the CloudWatch Logs resource policy letting EventBridge deliver "
            "failed-run events; logs:PutResourcePolicy has no resource-level permission.",
        )
    )
    for fn in OUR_FUNCTIONS:
        acks += [
            Ack(
                f"{fn}/ServiceRole/Resource",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "AWS managed policy limited to writing the function's own CloudWatch logs.",
            ),
            Ack(
                f"{fn}/ServiceRole/Resource",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
                "AWS managed policy Lambda needs to attach its ENIs in the VPC; ec2:*NetworkInterface* "
                "has no resource-level scoping at create time.",
            ),
            Ack(
                f"{fn}/ServiceRole/DefaultPolicy/Resource",
                "AwsSolutions-IAM5[Resource::*]",
                "xray:PutTraceSegments/PutTelemetryRecords (active tracing) and, for the API, the CloudWatch "
                "Logs vended-delivery APIs Step Functions logging requires: none supports resource-level "
                "permissions. No data action has a wildcard resource (asserted in tests/infra).",
            ),
            Ack(
                f"{fn}/Resource",
                "AwsSolutions-L1",
                "Pinned to python3.12 on purpose: the layers are built for CPython 3.12 wheels; moving the "
                "runtime is a reviewed change to constants.PYTHON_VERSION, not a drift.",
            ),
            Ack(f"{fn}/Resource", "Serverless-LambdaLatestVersion", "Same as AwsSolutions-L1: runtime pinned to 3.12."),
        ]
    acks += [
        Ack(
            "Runtime/Handler/Resource",
            "Serverless-LambdaDLQ",
            "Invoked synchronously by API Gateway: the caller gets the error; a DLQ never receives anything.",
        ),
        *(
            Ack(
                f"{runner}/Resource",
                "Serverless-LambdaDLQ",
                "Invoked synchronously by Step Functions, whose Retry/Catch own failures (DESIGN §2).",
            )
            for runner in ("Runtime/NodeRunner", "Runtime/LlmRunner")
        ),
        Ack(
            "Runtime/Migrate/Resource",
            "Serverless-LambdaDLQ",
            "Invoked synchronously by the CloudFormation custom-resource provider: a failure fails the deploy.",
        ),
        Ack(
            "Runtime/Reminders/Resource",
            "Serverless-LambdaDLQ",
            "Invoked by an EventBridge Scheduler schedule every 5 minutes: what is due stays due in Postgres "
            "(approval_notices), so the next invocation sends it; a dead-letter queue would hold nothing to replay.",
            ("production",),
        ),
        Ack(
            "Runtime/Reminders/Resource",
            "Serverless-LambdaDLQ",
            "Invoked by one one-time EventBridge Scheduler schedule per due reminder (its retry policy retries): "
            "a reminder that still fails is lost like a lost notice (at most once, audited); the approval stays "
            "decidable in the inbox. A DLQ message could not be replayed into anything but that same invocation.",
            STARTER,
        ),
        Ack(
            "Runtime/RunStarter/Resource",
            "Serverless-LambdaDLQ",
            "Invoked by EventBridge Scheduler (its retry policy, then the alarmed ScheduleDlq on each schedule's "
            "target) and by trigger rules (the rule target's retry policy): failures land where the caller puts "
            "them. A retried delivery is keyed in Postgres and starts no second run.",
        ),
        Ack(
            "Runtime/IngressConsumer/Resource",
            "Serverless-LambdaDLQ",
            "Invoked by the SQS event source mapping: a failed message returns to the ingress queue and moves to "
            "the alarmed IngressDlq after 5 receives (the queue's redrive policy).",
        ),
        Ack(
            "Runtime/IngressConsumer/SqsEventSource*/Resource",
            "Serverless-LambdaEventSourceMappingDestination",
            "An SQS event source has no on-failure destination (Lambda supports them for streams and Kafka); "
            "the ingress queue's redrive policy sends a message that failed 5 times to the alarmed IngressDlq.",
        ),
        *(
            Ack(
                f"Runtime/{fn}/ServiceRole/DefaultPolicy/Resource",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-*]",
                "StartExecution only, for a trigger's run of a flow of this deployment (name prefix; flows are "
                "created at publish time).",
            )
            for fn in ("RunStarter", "IngressConsumer")
        ),
        Ack(
            "Runtime/ExecutionEvents/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-*]",
            "StartExecution only: when an execution ends, the runs a concurrency limit held start on their flows' "
            "published versions (name prefix; flows are created at publish time).",
        ),
        *(
            Ack(
                f"Runtime/{fn}/ServiceRole/DefaultPolicy/Resource",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-test-*]",
                "DeleteStateMachineVersion only, on the flows' test state machines (test runs of drafts past their "
                "retention period: their snapshots' versions, never live); named per flow at run time.",
                profiles=profiles,
            )
            for fn, profiles in (("Handler", BOTH), ("Reminders", ("production",)))
        ),
        Ack(
            "Runtime/Reminders/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:execution:{sm}-test-*]",
            "StopExecution only, of a test run of a draft still waiting when its retention period ends (the "
            "sweeper, production): test state machines' executions only.",
            profiles=("production",),
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{region}:{account}:schedule/{sm}/*]",
            "Create, update and delete schedule triggers' schedules in this deployment's schedule group only "
            "(one per trigger, named at run time); iam:PassRole of the Scheduler role only, to Scheduler only.",
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:{region}:{account}:rule/{sm}-runs/{sm}-trg-*]",
            "EventBridge triggers: put, delete, enable and disable rules and their targets named "
            "`<prefix>-trg-<trigger id>` on the Nexod bus (and the buses nexod:triggerBuses lists) only.",
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:{region}:{account}:rule/{bus}/{sm}-trg-*]",
            "The same rule rights on each named bus of `-c nexod:triggerBuses` (one acknowledgement per bus; "
            "none without the setting).",
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:{region}:{account}:secret:{ws}/*/trigger.*]",
            "The webhook door verifies a delivery's HMAC with the trigger's key: GetSecretValue on webhook keys "
            "only (`<workspace>/trigger.<id>`; credential names have no dots, so no credential matches); "
            "the data key's Decrypt through Secrets Manager is allow_manage's. "
            "The API wrote them; it reads no credential.",
        ),
        *(
            Ack(
                f"Runtime/{fn}/ServiceRole/DefaultPolicy/Resource",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{region}:{account}:schedule/{sm}-reminders/*]",
                "Starter approval reminders (no sweeper: Aurora pauses): one-time schedules in the reminder group "
                "only, named per approval and due time at run time. The core runner and the Reminders function "
                "create them (passing only the reminder schedule role), the API deletes the one a decision ends.",
                STARTER,
            )
            for fn in ("NodeRunner", "Reminders", "Handler")
        ),
        Ack(
            "Notifications/ApprovalLinkKey/Resource",
            "AwsSolutions-SMG4",
            "The HMAC key of approval links: a scheduled rotation would void every link already emailed. Rotate "
            "by hand (put-secret-value) to revoke all links at once (docs/architecture.md, approval notices).",
            ("production",),
        ),
        Ack(
            "Runtime/ExecutionEvents/Resource",
            "Serverless-LambdaDLQ",
            "Invoked asynchronously by EventBridge: the DLQ (ExecutionEventsDlq, alarmed) is on the rule target "
            "with 8 retries over 6 hours, which is where undeliverable events land.",
        ),
        Ack(
            "Orchestration/StateMachineRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions logging (logs:*LogDelivery) and X-Ray trace APIs have no resource-level "
            "permissions (AWS Step Functions developer guide, IAM for logging).",
        ),
        *(
            Ack(
                path,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{region}:{account}:log-group:*]",
                "PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups for state machine log delivery, "
                "on this account's and region's log groups only: AWS documents them on `log-group:*` "
                "(CloudWatch Logs, 'Logs sent to CloudWatch Logs'), not on one group.",
            )
            for path in (
                "Orchestration/StateMachineRole/DefaultPolicy/Resource",
                "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            )
        ),
        Ack(
            "Orchestration/AgentTask/ExecutionRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken is account-wide by design; image pulls are scoped to the asset repository.",
        ),
        Ack(
            "Orchestration/AgentTask/Resource",
            "AwsSolutions-ECS2",
            "Environment variables carry only ARNs, names and feature flags; secrets are fetched at run time "
            "from Secrets Manager, never put in the task definition.",
        ),
        Ack(
            "Runtime/Broker/Resource",
            "Serverless-LambdaDLQ",
            "Invoked synchronously through its function URL by an agent runner, which gets the error and retries; "
            "a DLQ never receives anything.",
        ),
        Ack(
            "Runtime/AgentLauncher/Resource",
            "Serverless-LambdaDLQ",
            "Invoked synchronously by Step Functions (waitForTaskToken), whose Retry/Catch own failures.",
        ),
        Ack(
            "Runtime/Broker/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-*]",
            "SendTaskSuccess/Failure/Heartbeat for the agent task a verified capability token names (the runner "
            "reports through the broker, never to AWS): this deployment's state machines only (name prefix; "
            "flows are created at publish time).",
        ),
        Ack(
            "Runtime/AgentLauncher/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-*]",
            "SendTaskSuccess only, like the node runners: a retried agent node whose earlier attempt finished "
            "completes its new token from the memo. This deployment's state machines only (name prefix).",
        ),
        Ack(
            "Runtime/AgentLauncher/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::{data}:ExportsOutputFnGetAttPayloadsBucket1715615AArnE0969AA1/ws/*]",
            "Large node outputs under the payload bucket's `ws/` prefix, like the node runners: an agent node's "
            "rendered inputs may name offloaded upstream outputs.",
        ),
        Ack(
            "Runtime/AgentLauncher/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:{region}:{account}:task/{sm}-agents/*]",
            "ecs:TagResource on the tasks of the agent cluster only, and only as part of RunTask (condition "
            "ecs:CreateAction): task ids do not exist before the launch.",
        ),
        Ack(
            "Orchestration/BrokerKey/Resource",
            "AwsSolutions-SMG4",
            "The broker's HMAC key: rotating it invalidates every live capability token (running agents). "
            "Rotate in a quiet hour with `aws secretsmanager put-secret-value` (48 random [A-Za-z0-9]); the "
            "launcher and broker re-read it within 5 minutes (Powertools cache).",
            profiles=("production",),  # the starter derives the key from its database secret
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-*]",
            "The API creates, versions, aliases and starts per-flow state machines at publish time: scoped to "
            "this deployment's name prefix, the narrowest possible before the flows exist.",
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:execution:{sm}-*]",
            "Stop/describe/redrive runs of this deployment's state machines only (name prefix).",
        ),
        Ack(
            "Runtime/*Runner/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:stateMachine:{sm}-*]",
            "SendTaskSuccess only, for a callback node whose result is recorded already: its new Task's token "
            "is completed from the memo. This deployment's state machines only (name prefix; flows are created "
            "at publish time).",
        ),
        Ack(
            "Secrets/WorkspaceSecretsReader/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:{region}:{account}:secret:{ws}/<aws:PrincipalTag/nexod:workspace>/*]",
            "ABAC: the wildcard is the credential id inside the ONE workspace named by the session tag.",
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:{region}:{account}:secret:{ws}/*]",
            "Write-only credential management (DESIGN §7): create (only with the nexod:workspace tag and no "
            "other tags than the vault's two), rotate, delete and restore secrets under this deployment's "
            "workspace prefix, whose names are <workspace>/<credential> chosen at run time. No GetSecretValue; "
            "the data key only through Secrets Manager for secrets under the prefix.",
        ),
        # Large node outputs (DESIGN §2): the payload bucket, in the Data stack (constructs/payloads.py).
        Ack(
            "Runtime/*Runner/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::{data}:ExportsOutputFnGetAttPayloadsBucket1715615AArnE0969AA1/ws/*]",
            "Put/Get of large node outputs under the payload bucket's `ws/` prefix only: the wildcard is "
            "<workspace>/runs/<run>/<node>/<iteration>/<sha256>.json, written for runs the runner has "
            "verified against the execution that invoked it.",
        ),
        Ack(
            "Runtime/Handler/ServiceRole/DefaultPolicy/Resource",
            "AwsSolutions-IAM5[Resource::{data}:ExportsOutputFnGetAttPayloadsBucket1715615AArnE0969AA1/ws/*]",
            "Get (read only) of large node outputs under the payload bucket's `ws/` prefix, for runs the "
            "caller may read; the key comes from the database row, never from the request.",
        ),
        Ack(
            "Orchestration/ExecutionEventsDlq/Resource",
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue.",
        ),
        Ack("Triggers/IngressDlq/Resource", "AwsSolutions-SQS3", "This queue is itself a dead-letter queue."),
        Ack("Triggers/ScheduleDlq/Resource", "AwsSolutions-SQS3", "This queue is itself a dead-letter queue."),
        Ack(
            "Orchestration/ExecutionEventsDlq/Resource",
            "Serverless-SQSRedrivePolicy",
            "Dead-letter queue: nothing to redrive to.",
        ),
        Ack("Triggers/IngressDlq/Resource", "Serverless-SQSRedrivePolicy", "Dead-letter queue: nothing to redrive to."),
        Ack(
            "Triggers/ScheduleDlq/Resource", "Serverless-SQSRedrivePolicy", "Dead-letter queue: nothing to redrive to."
        ),
        Ack(
            "Api/Http/GET--v1--health/Resource",
            "AwsSolutions-APIG4",
            "GET /v1/health is public on purpose (load balancers, uptime checks): it answers without reading "
            "data, and has its own route throttle (constants.HEALTH_THROTTLE_*). Every other route needs a JWT.",
        ),
        Ack(
            "Api/Http/POST--v1--hooks--{id}/Resource",
            "AwsSolutions-APIG4",
            "Webhook deliveries carry no JWT by design (GitHub, Stripe, Slack call it): each is authenticated by "
            "its trigger's HMAC secret (timestamped, 5-minute window, constant-time compare; unknown, disabled "
            "and badly signed all get the same 401) and the route has its own throttle (constants.HOOK_THROTTLE_*).",
        ),
        Ack(
            "Observability/Alarms/*/Resource",
            "Serverless-SNSRedrivePolicy",
            "The alarm email subscription: SNS retries email delivery itself, and an alarm that was not "
            "delivered stays visible in CloudWatch (state ALARM); a dead-letter queue of alarm emails would be "
            "one more thing nobody reads.",
        ),
        Ack(
            "Api/Auth/Users/Resource",
            "AwsSolutions-COG8",
            "Cognito Plus tier (threat protection) costs $0.02/MAU; MFA and strong passwords are on. Enable "
            "Plus in the console if your threat model needs adaptive authentication.",
        ),
        Ack("Console/Cdn/Resource", "AwsSolutions-CFR1", "A global console: geo restriction is the customer's choice."),
        Ack(
            "Console/Cdn/Resource",
            "AwsSolutions-CFR2",
            "WAF costs $5+/month per web ACL (above the starter budget); the distribution serves static files "
            "only, and the API has throttling and JWT auth. Attach a web ACL in production if required.",
        ),
        Ack(
            "Console/Cdn/Resource",
            "AwsSolutions-CFR4",
            "Without a custom domain CloudFront's default *.cloudfront.net certificate allows TLSv1; with "
            "-c nexod:domain + certificateArn the distribution enforces TLSv1.2_2021.",
        ),
        # Starter-only relaxations: each is on in production.
        Ack(
            "Data/Cluster/Secret/Resource",
            "AwsSolutions-SMG4",
            "Starter: the rotation Lambda needs IPv4 access to Secrets Manager (NAT or a $7/month endpoint); "
            "production rotates every 30 days. Rotate by hand with `aws secretsmanager rotate-secret`.",
            STARTER,
        ),
        Ack("Data/AppSecret/Resource", "AwsSolutions-SMG4", "Starter: see the admin secret.", STARTER),
        Ack(
            "Data/Cluster/Resource",
            "AwsSolutions-RDS10",
            "Starter is an evaluation profile: deletion protection off so teardown is one command; the cluster "
            "still takes a final snapshot (RemovalPolicy.SNAPSHOT). On in production.",
            STARTER,
        ),
        Ack(
            "Orchestration/Cluster/Resource",
            "AwsSolutions-ECS4",
            "Starter: Container Insights bills custom metrics per task; on in production.",
            STARTER,
        ),
        Ack(
            "Api/Auth/Users/Resource",
            "AwsSolutions-COG2",
            "Starter: TOTP MFA is optional so the first admin can sign in before enrolling; required in production.",
            STARTER,
        ),
    ]
    # Functions only some profiles have: their acknowledgements apply there only (no stale ones elsewhere).
    return [replace(a, profiles=("production",)) if a.path.startswith(PRODUCTION_ONLY_FUNCTIONS) else a for a in acks]


ACKS = _acks()


def _finding_id(ack: Ack, config: DeploymentConfig, bus: str = "") -> str:
    finding = (
        ack.finding.format(
            bus=bus,
            sm=config.state_machine_prefix,
            ws=config.workspace_secret_prefix,
            region=config.region,
            account=config.account,
            group=config.state_machine_prefix,
            data=f"{config.stack_prefix}-Data",
        )
        if "{" in ack.finding and "{proxy+}" not in ack.finding
        else ack.finding
    )
    pack = "Serverless" if finding.startswith("Serverless-") else "AwsSolutions"
    return f"{pack}::{finding}"


def acknowledge_findings(stack: Stack, config: DeploymentConfig) -> None:
    for construct in stack.node.find_all():
        path = construct.node.path.removeprefix(stack.node.path + "/")
        for ack in ACKS:
            if config.profile.name in ack.profiles and fnmatch.fnmatchcase(path, ack.path):
                # `{bus}`: one acknowledgement per configured trigger bus (none without any)
                buses = config.trigger_buses if "{bus}" in ack.finding else ("",)
                for bus in buses:
                    finding = _finding_id(ack, config, bus)
                    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=ack.reason))


def markdown() -> str:
    lines = ["| construct (below the stack) | finding | profiles | reason |", "|---|---|---|---|"]
    for ack in ACKS:
        lines.append(f"| `{ack.path}` | `{ack.finding}` | {', '.join(ack.profiles)} | {ack.reason.replace('|', '/')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
