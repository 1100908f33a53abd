#!/usr/bin/env python3
"""Cost model: monthly idle cost of every always-on resource in the synthesized templates, and the cost
of 1,000 runs of the reference 10-node flow (excluding LLM tokens), per profile.

Usage: python cdk/cost.py [--outdir cdk.out] [--reference-json FILE]
Prices: us-east-1 list prices, read from the AWS pricing pages named on each line on PRICE_DATE.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "layers"))  # the per-node-run prices live in the domain (one source of truth)
from nexod.domain.cost import LAMBDA_GB_SECOND_ARM64_USD, SFN_1000_TRANSITIONS_USD  # noqa: E402

PRICE_DATE = "2025-06-01"
HOURS = 730  # hours per month, as AWS pricing pages use
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    value: float
    unit: str
    source: str  # the AWS pricing page


P = {
    "kms_key": Price(1.00, "per key-month", "AWS KMS pricing"),
    "secret": Price(0.40, "per secret-month", "AWS Secrets Manager pricing"),
    "nat_gateway": Price(0.045, "per NAT gateway-hour", "Amazon VPC pricing (NAT gateway)"),
    "public_ipv4": Price(0.005, "per public IPv4-hour", "Amazon VPC pricing (public IPv4 addresses)"),
    "t4g_nano": Price(0.0042, "per instance-hour", "Amazon EC2 on-demand pricing (t4g.nano, Linux)"),
    "gp3": Price(0.08, "per GB-month", "Amazon EBS pricing (gp3)"),
    "interface_endpoint": Price(0.01, "per endpoint-AZ-hour", "AWS PrivateLink pricing"),
    "acu": Price(0.12, "per ACU-hour", "Amazon Aurora pricing (Serverless v2, Aurora Standard, PostgreSQL)"),
    "aurora_storage": Price(0.10, "per GB-month", "Amazon Aurora pricing (storage, Aurora Standard)"),
    "aurora_io": Price(0.20, "per 1M I/O requests", "Amazon Aurora pricing (I/O, Aurora Standard)"),
    "alarm_metric": Price(0.10, "per standard alarm metric-month", "Amazon CloudWatch pricing (alarms)"),
    "dashboard": Price(3.00, "per dashboard-month", "Amazon CloudWatch pricing (dashboards)"),
    "ecr_storage": Price(0.10, "per GB-month", "Amazon ECR pricing (storage)"),
    "log_ingest": Price(0.50, "per GB ingested", "Amazon CloudWatch pricing (logs, standard)"),
    "sfn_transition": Price(
        SFN_1000_TRANSITIONS_USD, "per 1,000 state transitions", "AWS Step Functions pricing (Standard)"
    ),
    "lambda_gbs_arm": Price(LAMBDA_GB_SECOND_ARM64_USD, "per GB-second (arm64)", "AWS Lambda pricing"),
    "lambda_request": Price(0.20, "per 1M requests", "AWS Lambda pricing"),
    "http_api": Price(1.00, "per 1M requests", "Amazon API Gateway pricing (HTTP APIs)"),
    "events_custom": Price(1.00, "per 1M custom events", "Amazon EventBridge pricing"),
    "scheduler": Price(1.00, "per 1M invocations (14M/month free)", "Amazon EventBridge pricing (Scheduler)"),
    "sqs_request": Price(0.40, "per 1M requests (standard; 1M/month free)", "Amazon SQS pricing"),
    "xray_trace": Price(5.00, "per 1M traces recorded", "AWS X-Ray pricing"),
    "s3_standard": Price(0.023, "per GB-month", "Amazon S3 pricing (S3 Standard, first 50 TB)"),
    "s3_put": Price(0.005, "per 1,000 PUT requests", "Amazon S3 pricing (requests, S3 Standard)"),
    "secrets_api": Price(0.05, "per 10,000 API calls", "AWS Secrets Manager pricing"),
    "kms_request": Price(0.03, "per 10,000 requests", "AWS KMS pricing (symmetric key requests)"),
    "fargate_vcpu_arm": Price(0.03238, "per vCPU-hour (Linux/ARM)", "AWS Fargate pricing"),
    "fargate_gb_arm": Price(0.00356, "per GB-hour (Linux/ARM)", "AWS Fargate pricing"),
    "fargate_vcpu_x86": Price(0.04048, "per vCPU-hour (Linux/x86)", "AWS Fargate pricing"),
    "fargate_gb_x86": Price(0.004445, "per GB-hour (Linux/x86)", "AWS Fargate pricing"),
    "fargate_storage": Price(0.000111, "per GB-hour above 20 GB", "AWS Fargate pricing (ephemeral storage)"),
    "custom_metric": Price(0.30, "per metric-month (first 10,000; prorated by the hour)", "Amazon CloudWatch pricing"),
}

# Assumptions that are not in the template (each printed next to its line).
AGENT_ENDPOINTS_INSTEAD = ("ecr.api", "ecr.dkr", "logs")  # the endpoint option's services, one AZ each
AGENT_MINUTES = 1000  # the agent figure's unit: 1,000 minutes of agent runner tasks
AGENT_BROKER_CALLS_PER_MINUTE = 6  # ASSUMPTION: LLM calls + heartbeats + events through the broker per minute
AGENT_BROKER_MS = 2000  # ASSUMPTION: a broker invocation waits ~2 s on average (mostly the provider's answer)
AURORA_STORAGE_GB = 1.0
AGENT_IMAGE_GB = 0.6  # compressed CrewAI image, per version kept in the agent image repository
AURORA_AWAKE_HOURS_IDLE = 0.0  # outside runs; the "never paused" alarm (starter) says when this is false
AURORA_AWAKE_MIN_ACU = 0.5  # a resumed instance runs at 0.5 ACU or more
API_REQUESTS_PER_RUN = 6  # start + ~5 status polls from the console
EVENTS_PER_RUN = 12  # run lifecycle events on the custom bus (per node + start/finish)
LOG_KB_PER_RUN = 30
IO_PER_NODE = 10
RUNS_WINDOW_HOURS = 1.0  # the 1,000 runs happen within one hour ...
ACTIVE_ACU = 0.5  # ... at 0.5 ACU average, plus the auto-pause tail
DEFAULT_NODE_MS = {"llm": 1500, "http": 300}
# Large node outputs (> 256 KiB) in the payload bucket: assumed 1 GB held within the lifecycle's expiry
# (e.g. ~1,000 outputs of 1 MiB); the reference flow itself writes none (all its outputs are small).
PAYLOAD_GB_STORED = 1.0
PAYLOAD_PUTS_PER_RUN = 0
# Custom metrics (nexod.adapters.powertools): RunsStarted/Succeeded/Failed/Cancelled, NodeDuration,
# LLMTokensIn/Out, LLMCostUSD, each with one dimension set {service, profile}: 8 metrics per deployment.
# CloudWatch bills a metric only for the hours in which it receives data, so an idle deployment pays nothing.
CUSTOM_METRICS = 8
EMF_BYTES_PER_NODE = 500  # measured: 423 B for a node without a model call, 650 B with one (uuid ids)
EMF_BYTES_PER_STATUS = 530  # measured: one RunsStarted/RunsSucceeded document; 2 status changes per run
FALLBACK_NODE_MS = 80
# Workspace credentials (one secret each, DESIGN §7): they come with use, not with the deployment, so they
# are a section of their own and not in the idle total. ASSUMPTION per profile: credentials stored, and
# reads per month (each node that uses one reads it at the moment of use: GetSecretValue + a KMS Decrypt
# through Secrets Manager; the reader role's AssumeRole is free and cached for 10 minutes per workspace).
CREDENTIALS = {"starter": 10, "production": 100}
CREDENTIAL_READS_PER_MONTH = {"starter": 10_000, "production": 1_000_000}
CREDENTIAL_WRITES_PER_MONTH = {"starter": 20, "production": 200}  # creates + rotations (CreateSecret/PutSecretValue)


# Triggers (issue 12): what one delivery costs on top of the run it starts. ASSUMPTIONS: the run starter,
# the SQS consumer and the API's webhook door each take ~150 ms per delivery (a delivery row + StartExecution);
# SQS: one SendMessage by the customer, and the event source's receive and delete calls shared by a batch of
# 10 (plus ~1 empty receive per batch while polling).
DELIVERIES = 1000
DELIVERY_MS = 150
SQS_BATCH = 10
SCHEDULE_FIRES_PER_MONTH = 730  # one hourly schedule trigger


@dataclass
class Line:
    what: str
    quantity: float
    price: Price
    monthly: float
    note: str = ""


def _resources(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def idle_lines(data: dict[str, Any], app: dict[str, Any]) -> list[Line]:
    both = {"Resources": {**data["Resources"], **app["Resources"]}}
    lines: list[Line] = []
    keys = len(_resources(both, "AWS::KMS::Key"))
    lines.append(Line("KMS customer-managed keys", keys, P["kms_key"], keys * P["kms_key"].value))
    secrets = len(_resources(both, "AWS::SecretsManager::Secret"))
    lines.append(
        Line(
            "Secrets Manager secrets (db admin + app + broker key; production: + approval-link key)",
            secrets,
            P["secret"],
            secrets * P["secret"].value,
            "workspace credentials: their own section below",
        )
    )
    nats = len(_resources(both, "AWS::EC2::NatGateway"))
    if nats:
        lines.append(
            Line("NAT gateways", nats, P["nat_gateway"], nats * P["nat_gateway"].value * HOURS, "+ $0.045/GB processed")
        )
    instances = _resources(both, "AWS::EC2::Instance")
    if instances:
        n = len(instances)
        lines.append(Line("NAT instance t4g.nano", n, P["t4g_nano"], n * P["t4g_nano"].value * HOURS))
        lines.append(Line("NAT instance root volume 8 GB gp3", n * 8, P["gp3"], n * 8 * P["gp3"].value))
    public_ips = len(_resources(both, "AWS::EC2::EIP")) + len(instances)
    if public_ips:
        lines.append(
            Line("public IPv4 addresses", public_ips, P["public_ipv4"], public_ips * P["public_ipv4"].value * HOURS)
        )
    endpoints = [
        e for e in _resources(both, "AWS::EC2::VPCEndpoint") if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    if endpoints:
        azs = sum(len(e["Properties"].get("SubnetIds", [])) for e in endpoints)
        lines.append(
            Line(
                "interface VPC endpoints (endpoint-AZs)",
                azs,
                P["interface_endpoint"],
                azs * P["interface_endpoint"].value * HOURS,
            )
        )
    lines.append(
        Line("VPC, subnets, egress-only IGW, S3 gateway endpoint", 0, Price(0, "free", "Amazon VPC pricing"), 0)
    )
    ipv6_only = [s for s in _resources(both, "AWS::EC2::Subnet") if s["Properties"].get("Ipv6Native") is True]
    if ipv6_only:
        endpoints_instead = len(AGENT_ENDPOINTS_INSTEAD) * P["interface_endpoint"].value * HOURS
        lines.append(
            Line(
                f"agent tasks' egress: {len(ipv6_only)} IPv6-only subnets + ECR's dual-stack endpoint "
                "(no NAT, no interface endpoint)",
                len(ipv6_only),
                Price(0, "free", "Amazon VPC pricing; Amazon ECR pricing (no charge for IPv6)"),
                0,
                f"the interface-endpoint option (ecr.api, ecr.dkr, logs in one AZ) would be "
                f"${endpoints_instead:.2f}/month; a NAT instance ~$6.70",
            )
        )
    for cluster in _resources(both, "AWS::RDS::DBCluster"):
        scaling = cluster["Properties"].get("ServerlessV2ScalingConfiguration", {})
        min_acu = float(scaling.get("MinCapacity", 0.5))
        instances_n = len(_resources(both, "AWS::RDS::DBInstance"))
        note = "paused at 0 ACU when idle (auto-pause); resumes in ~15 s" if min_acu == 0 else "never pauses"
        lines.append(
            Line(
                f"Aurora Serverless v2 compute ({instances_n} instance(s) x {min_acu} ACU min)",
                instances_n * min_acu * HOURS,
                P["acu"],
                instances_n * min_acu * HOURS * P["acu"].value,
                note,
            )
        )
        if min_acu == 0:
            awake = instances_n * AURORA_AWAKE_MIN_ACU * AURORA_AWAKE_HOURS_IDLE
            never = instances_n * AURORA_AWAKE_MIN_ACU * HOURS * P["acu"].value
            lines.append(
                Line(
                    f"Aurora awake outside runs (assumed {AURORA_AWAKE_HOURS_IDLE:g} h/month)",
                    awake,
                    P["acu"],
                    awake * P["acu"].value,
                    f"ASSUMPTION: it pauses 10 min after the last connection closes (the app's close after "
                    f"2 min idle); each awake hour >= ${AURORA_AWAKE_MIN_ACU * P['acu'].value:.2f}, never "
                    f"pausing ${never:.2f}/month; alarm DatabaseNeverPaused fires after 24 h awake",
                )
            )
        lines.append(
            Line(
                f"Aurora storage (assumed {AURORA_STORAGE_GB:g} GB)",
                AURORA_STORAGE_GB,
                P["aurora_storage"],
                AURORA_STORAGE_GB * P["aurora_storage"].value,
                "backups free up to the cluster size",
            )
        )
    metrics = 0
    for alarm in _resources(both, "AWS::CloudWatch::Alarm"):
        props = alarm["Properties"]
        metrics += sum(1 for m in props.get("Metrics", []) if "MetricStat" in m) or 1
    lines.append(
        Line(
            f"CloudWatch alarms ({len(_resources(both, 'AWS::CloudWatch::Alarm'))} alarms)",
            metrics,
            P["alarm_metric"],
            metrics * P["alarm_metric"].value,
            "list price; the first 10 alarm metrics are in the always-free tier",
        )
    )
    dashboards = len(_resources(both, "AWS::CloudWatch::Dashboard"))
    if dashboards:
        lines.append(
            Line(
                "CloudWatch dashboards",
                dashboards,
                P["dashboard"],
                dashboards * P["dashboard"].value,
                "list price; 3 dashboards are in the always-free tier",
            )
        )
    kept = _images_kept(data)
    if kept is None:
        lines.append(
            Line(
                f"agent images in ECR (one assumed, {AGENT_IMAGE_GB:g} GB)",
                AGENT_IMAGE_GB,
                P["ecr_storage"],
                AGENT_IMAGE_GB * P["ecr_storage"].value,
                "NO LIFECYCLE RULE: every deploy that changes the image adds one, forever",
            )
        )
    else:
        lines.append(
            Line(
                f"agent images in ECR (lifecycle keeps <= {kept} x {AGENT_IMAGE_GB:g} GB)",
                kept * AGENT_IMAGE_GB,
                P["ecr_storage"],
                kept * AGENT_IMAGE_GB * P["ecr_storage"].value,
                "upper bound: the repository's lifecycle rule expires older images",
            )
        )
    expiry = _payload_expiry_days(data)
    lines.append(
        Line(
            f"S3 payload bucket: large node outputs (assumed {PAYLOAD_GB_STORED:g} GB, expire after "
            f"{expiry if expiry is not None else 'NEVER'} days)",
            PAYLOAD_GB_STORED,
            P["s3_standard"],
            PAYLOAD_GB_STORED * P["s3_standard"].value,
            "ASSUMPTION: only outputs > 256 KiB; writes $0.005/1,000, reads $0.0004/1,000; SSE-KMS with a "
            "bucket key: a few KMS requests per hour of activity ($0.03/10,000); access logs in a second bucket",
        )
    )
    lines.append(
        Line(
            "Cognito (Essentials, < 10,000 MAU), API Gateway, CloudFront, Lambda, Step Functions, "
            "SQS, EventBridge, Scheduler, ECS cluster",
            0,
            Price(0, "pay per use", "each service's pricing"),
            0,
            "no charge without traffic",
        )
    )
    return lines


def reminder_lines(profile: str) -> list[Line]:
    """The approval sweeper (issue 11): a scheduled Lambda that reads Postgres; on a pausing Aurora, each
    run wakes the cluster for its auto-pause delay at the minimum resumed capacity."""
    from nexod_cdk import constants as c
    from nexod_cdk.constructs.notifications import REMIND_RATE

    pause = c.PROFILES[profile].db_auto_pause_minutes if profile in c.PROFILES else None
    if pause is not None:  # no sweeper where Aurora pauses (it would keep the cluster awake)
        wake = AURORA_AWAKE_MIN_ACU * pause / 60 * P["acu"].value
        return [
            Line(
                "approval reminders: one one-time Scheduler schedule per due reminder (no sweeper)",
                0,
                P["scheduler"],
                0,
                f"nothing while none is due; each reminder: a Scheduler invocation + a Lambda run, and it wakes "
                f"a paused Aurora for {pause} min (~${wake:.3f} at {AURORA_AWAKE_MIN_ACU} ACU)",
            )
        ]
    rate, runs = REMIND_RATE
    seconds, memory_gb = 2.0, 0.5  # ASSUMPTION: one sweep with nothing due, a cold start included
    compute = runs * (seconds * memory_gb * P["lambda_gbs_arm"].value + P["lambda_request"].value / 1e6)
    lines = [
        Line(
            f"approval reminder sweeper: {runs:,} Lambda runs a month ({rate}, EventBridge Scheduler)",
            runs,
            P["lambda_request"],
            compute,
            "Scheduler: 14 M invocations a month free; first notices are sent by the node runner, not the sweep",
        )
    ]
    return lines


def trigger_lines(app: dict[str, Any]) -> list[Line]:
    """Per 1,000 deliveries of each trigger kind (the run each starts is the per-run figure), and one hourly
    schedule for a month. List prices; Scheduler's 14M invocations, SQS's and Lambda's free tiers not applied."""

    def fn(logical_prefix: str, invocations: float, ms: float) -> float:
        gbs = invocations * ms / 1000 * _memory(app, logical_prefix) / 1024
        return gbs * P["lambda_gbs_arm"].value + invocations / 1e6 * P["lambda_request"].value

    n = DELIVERIES
    per_million = {k: P[k].value / 1e6 for k in ("scheduler", "http_api", "events_custom", "sqs_request")}
    sqs_requests = n * (1 + 3 / SQS_BATCH)  # send each; receive + delete + an empty receive per batch
    monthly = SCHEDULE_FIRES_PER_MONTH
    return [
        Line(
            f"schedules: {n:,} fires (Scheduler invocation + run-starter Lambda, {DELIVERY_MS} ms)",
            n,
            P["scheduler"],
            n * per_million["scheduler"] + fn("RuntimeRunStarter", n, DELIVERY_MS),
            "ASSUMPTION on the Lambda time; Scheduler bills each invocation after 14M free a month",
        ),
        Line(
            f"schedules: one hourly trigger for a month ({monthly} fires)",
            monthly,
            P["scheduler"],
            monthly * per_million["scheduler"] + fn("RuntimeRunStarter", monthly, DELIVERY_MS),
            "each fire also starts a run (the per-run figure); on the starter each wakes Aurora if paused",
        ),
        Line(
            f"webhooks: {n:,} deliveries (HTTP API request + API Lambda, {DELIVERY_MS} ms)",
            n,
            P["http_api"],
            n * per_million["http_api"] + fn("RuntimeHandler", n, DELIVERY_MS),
            "ASSUMPTION on the Lambda time; a duplicate delivery costs the same and starts nothing",
        ),
        Line(
            f"SQS: {n:,} messages ({sqs_requests / n:.1f} requests each; consumer Lambda per batch of {SQS_BATCH})",
            sqs_requests,
            P["sqs_request"],
            sqs_requests * per_million["sqs_request"]
            + fn("RuntimeIngressConsumer", n / SQS_BATCH, DELIVERY_MS * SQS_BATCH),
            "ASSUMPTION: full batches; a message under 64 KB is one request",
        ),
        Line(
            f"EventBridge: {n:,} custom events put to the bus (+ run-starter Lambda per matched event)",
            n,
            P["events_custom"],
            n * per_million["events_custom"] + fn("RuntimeRunStarter", n, DELIVERY_MS),
            "rule matching and the Lambda target delivery are free; the customer's PutEvents is billed to them "
            "if they put from their own account",
        ),
    ]


def _agent_task(app: dict[str, Any]) -> tuple[float, float, float, bool]:
    """(vCPU, memory GB, ephemeral GB, arm64) of the agent runner's task definition."""
    (task,) = _resources(app, "AWS::ECS::TaskDefinition")
    props = task["Properties"]
    arm = props.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64") == "ARM64"
    storage = float(props.get("EphemeralStorage", {}).get("SizeInGiB", 20))
    return int(props["Cpu"]) / 1024, int(props["Memory"]) / 1024, storage, arm


def agent_lines(app: dict[str, Any]) -> list[Line]:
    """What 1,000 agent-minutes cost (agent and crew nodes on Fargate), excluding LLM tokens."""
    vcpu, gb, storage, arm = _agent_task(app)
    hours = AGENT_MINUTES / 60
    cpu_price, gb_price = (
        (P["fargate_vcpu_arm"], P["fargate_gb_arm"]) if arm else (P["fargate_vcpu_x86"], P["fargate_gb_x86"])
    )
    lines = [
        Line(f"Fargate vCPU ({vcpu:g} vCPU x {hours:.2f} h)", vcpu * hours, cpu_price, vcpu * hours * cpu_price.value),
        Line(f"Fargate memory ({gb:g} GB x {hours:.2f} h)", gb * hours, gb_price, gb * hours * gb_price.value),
    ]
    extra = max(0.0, storage - 20)
    if extra:
        lines.append(
            Line(
                f"Fargate ephemeral storage above 20 GB ({extra:g} GB x {hours:.2f} h)",
                extra * hours,
                P["fargate_storage"],
                extra * hours * P["fargate_storage"].value,
            )
        )
    calls = AGENT_MINUTES * AGENT_BROKER_CALLS_PER_MINUTE
    gbs = calls * AGENT_BROKER_MS / 1000 * 1.0  # the broker runs with 1 GB (node-runner memory)
    lines.append(
        Line(
            f"broker Lambda ({AGENT_BROKER_CALLS_PER_MINUTE} calls/agent-minute x {AGENT_BROKER_MS} ms at 1 GB)",
            gbs,
            P["lambda_gbs_arm"],
            gbs * P["lambda_gbs_arm"].value + calls / 1e6 * P["lambda_request"].value,
            "ASSUMPTION; + $0.20 per 1M requests (included); the launcher is one short invocation per agent node",
        )
    )
    return lines


def credential_lines(profile: str) -> list[Line]:
    """Workspace credentials: secrets held, and the API calls that store and read them."""
    n, reads, writes = CREDENTIALS[profile], CREDENTIAL_READS_PER_MONTH[profile], CREDENTIAL_WRITES_PER_MONTH[profile]
    calls = reads + 2 * writes  # a write is CreateSecret, or DescribeSecret + PutSecretValue
    kms = reads + 2 * writes  # Decrypt per read; GenerateDataKey (+ Decrypt when a key is established) per write
    return [
        Line(
            f"Secrets Manager: workspace credentials (assumed {n})",
            n,
            P["secret"],
            n * P["secret"].value,
            "ASSUMPTION; one secret per credential, billed per month pro rata; a deleted one stays billed "
            "for its 7-day recovery window",
        ),
        Line(
            f"Secrets Manager API calls (assumed {reads:,} reads + {writes} writes/month)",
            calls,
            P["secrets_api"],
            calls / 10_000 * P["secrets_api"].value,
            "ASSUMPTION: one GetSecretValue per node run that uses a credential",
        ),
        Line(
            "KMS requests made by Secrets Manager with the caller's rights",
            kms,
            P["kms_request"],
            kms / 10_000 * P["kms_request"].value,
            "Decrypt per read, GenerateDataKey per write; 20,000 requests/month are free",
        ),
    ]


def _payload_expiry_days(data: dict[str, Any]) -> int | None:
    """Days after which the payload bucket's lifecycle rule expires `ws/` objects (None: never)."""
    for bucket in _resources(data, "AWS::S3::Bucket"):
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", []):
            if rule.get("Id") == "expire-run-payloads" and "ExpirationInDays" in rule:
                return int(rule["ExpirationInDays"])
    return None


def _images_kept(data: dict[str, Any]) -> int | None:
    """How many images the agent image repository's lifecycle rule keeps (None: no rule, no bound)."""
    counts = []
    for repo in _resources(data, "AWS::ECR::Repository"):
        text = repo["Properties"].get("LifecyclePolicy", {}).get("LifecyclePolicyText")
        for rule in json.loads(text)["rules"] if text else []:
            if rule["selection"].get("countType") == "imageCountMoreThan":
                counts.append(int(rule["selection"]["countNumber"]))
    return max(counts) if counts else None


# What the figures leave out, printed with them so that a reader knows what the idle total promises.
LEFT_OUT = (
    "LLM tokens (the provider bills them; each node run records its cost in the console)",
    "log storage ($0.03/GB-month within the retention) and logs kept after a teardown until they expire",
    "CDK's bootstrap bucket keeps every uploaded layer zip (~0.1 GB per deploy that changes a layer, "
    "$0.0023/month each) until `cdk gc` removes unused ones",
    "KMS and Secrets Manager API requests for the database secrets (a read per Lambda cold start: cents)",
    "data transfer out (console downloads, LLM calls over NAT in production: $0.045/GB processed)",
    "free tiers: every line is at list price",
)


# -- per-run model ---------------------------------------------------------------------------------
def _walk(states: dict[str, Any], start: str) -> tuple[int, list[str]]:
    """Transitions and Task comments along one run: Choice takes its first rule, Parallel runs all branches."""
    transitions, tasks, name = 0, [], start
    while name:
        st = states[name]
        transitions += 1
        if st["Type"] == "Task":
            tasks.append(st.get("Comment", "task"))
        if st["Type"] == "Parallel":
            for br in st["Branches"]:
                t, k = _walk(br["States"], br["StartAt"])
                transitions += t
                tasks += k
        if st["Type"] == "Choice":
            name = st["Choices"][0]["Next"]
            continue
        if st["Type"] in ("Succeed", "Fail") or st.get("End"):
            break
        name = st.get("Next")
        if name in ("run-failed",):
            break
    return transitions, tasks


def reference_run(reference_json: str | None) -> dict[str, Any]:
    if reference_json:
        data = json.loads(Path(reference_json).read_text())
        data["source"] = f"local run ({reference_json})"
        return data
    done = subprocess.run(  # the local orchestrator executing the reference flow (when it exists)
        [sys.executable, "-m", "nexod.testing.reference_run"], capture_output=True, text=True, check=False, cwd=REPO
    )
    if done.returncode == 0 and done.stdout.strip().startswith("{"):
        data = json.loads(done.stdout[done.stdout.index("{") :])
        data["source"] = "local run: python -m nexod.testing.reference_run"
        return data
    golden = REPO / "statemachines" / "golden" / "example_reference_10_node.asl.json"
    if golden.exists():
        asl = json.loads(golden.read_text())
        origin = f"ASL walk of {golden.relative_to(REPO)}"
    else:
        sys.path.insert(0, str(REPO / "layers"))
        from nexod.domain.compiler import compile_flow
        from nexod.domain.validation import validate

        raw = (REPO / "statemachines" / "examples" / "reference_10_node.json").read_text()
        doc = json.loads(raw.replace("{{BASE_URL}}", "https://example.com"))
        asl = compile_flow(validate(doc.get("definition", doc))).asl
        origin = "ASL walk of the compiled reference flow"
    transitions, tasks = _walk(asl["States"], asl["StartAt"])
    durations = [DEFAULT_NODE_MS.get(t.split(" ")[0], FALLBACK_NODE_MS) for t in tasks]
    return {
        "transitions": transitions,
        "lambda_invocations": len(tasks),
        "node_durations_ms": durations,
        "source": f"{origin} (NOT a local run: `python -m nexod.testing.reference_run` is not available yet; "
        "Choice takes its first rule, every Parallel branch runs; durations assumed: llm 1.5 s, http 0.3 s, "
        "others 80 ms)",
    }


def _memory(app: dict[str, Any], logical_prefix: str) -> int:
    for k, r in app["Resources"].items():
        if r["Type"] == "AWS::Lambda::Function" and k.startswith(logical_prefix):
            return int(r["Properties"].get("MemorySize", 128))
    return 1024


def run_lines(app: dict[str, Any], ref: dict[str, Any], runs: int = 1000) -> list[Line]:
    lines: list[Line] = []
    transitions = ref["transitions"] * runs
    lines.append(
        Line(
            f"Step Functions transitions ({ref['transitions']}/run)",
            transitions,
            P["sfn_transition"],
            transitions / 1000 * P["sfn_transition"].value,
        )
    )
    # The core runner and the LLM runner (one function per runtime) run the reference flow's nodes between
    # them; the larger of their memory sizes bills every node (an upper bound when they differ).
    mem_gb = max(_memory(app, "RuntimeNodeRunner"), _memory(app, "RuntimeLlmRunner")) / 1024
    gbs = sum(max(d, 1) for d in ref["node_durations_ms"]) / 1000 * mem_gb * runs
    invocations = ref["lambda_invocations"] * runs
    lines.append(
        Line(
            f"node runners (core + LLM) GB-seconds ({mem_gb:g} GB, {sum(ref['node_durations_ms'])} ms/run)",
            gbs,
            P["lambda_gbs_arm"],
            gbs * P["lambda_gbs_arm"].value,
            "LLM wait time is billed as duration; an idle runner function costs nothing",
        )
    )
    api_mem = _memory(app, "RuntimeHandler") / 1024
    other_inv = runs * (API_REQUESTS_PER_RUN + 2)  # API calls + 2 execution-status events
    other_gbs = other_inv * 0.1 * api_mem
    lines.append(
        Line(
            f"API + status-event Lambda GB-seconds ({other_inv // runs}/run x 100 ms)",
            other_gbs,
            P["lambda_gbs_arm"],
            other_gbs * P["lambda_gbs_arm"].value,
        )
    )
    all_inv = invocations + other_inv
    lines.append(Line("Lambda requests", all_inv, P["lambda_request"], all_inv / 1e6 * P["lambda_request"].value))
    lines.append(
        Line(
            f"HTTP API requests ({API_REQUESTS_PER_RUN}/run)",
            runs * API_REQUESTS_PER_RUN,
            P["http_api"],
            runs * API_REQUESTS_PER_RUN / 1e6 * P["http_api"].value,
        )
    )
    lines.append(
        Line(
            f"EventBridge custom events ({EVENTS_PER_RUN}/run)",
            runs * EVENTS_PER_RUN,
            P["events_custom"],
            runs * EVENTS_PER_RUN / 1e6 * P["events_custom"].value,
            "Step Functions status events on the default bus are free",
        )
    )
    gb = runs * LOG_KB_PER_RUN / 1e6
    lines.append(
        Line(f"CloudWatch Logs ingestion ({LOG_KB_PER_RUN} KB/run)", gb, P["log_ingest"], gb * P["log_ingest"].value)
    )
    emf_bytes = ref["lambda_invocations"] * EMF_BYTES_PER_NODE + 2 * EMF_BYTES_PER_STATUS
    emf_gb = runs * emf_bytes / 1e9
    lines.append(
        Line(
            f"EMF metric documents in the logs ({emf_bytes / 1000:.1f} KB/run: 1 per node run + 2 status changes)",
            emf_gb,
            P["log_ingest"],
            emf_gb * P["log_ingest"].value,
        )
    )
    metric_months = CUSTOM_METRICS * RUNS_WINDOW_HOURS / HOURS
    lines.append(
        Line(
            f"custom metrics ({CUSTOM_METRICS} metrics x 1 dimension set, {RUNS_WINDOW_HOURS:g} h with data)",
            metric_months,
            P["custom_metric"],
            metric_months * P["custom_metric"].value,
            f"none while idle; at most ${CUSTOM_METRICS * P['custom_metric'].value:.2f}/month when runs never stop",
        )
    )
    # One trace per execution: Step Functions passes its trace header to the node-runner invocations,
    # which become segments of that trace. Each API or status-event invocation starts a trace of its own.
    traces = runs + other_inv
    lines.append(
        Line(
            f"X-Ray traces (1 per execution + {other_inv // runs} API/event invocations per run, all sampled)",
            traces,
            P["xray_trace"],
            traces / 1e6 * P["xray_trace"].value,
            "node-runner calls are segments of the execution's trace; 100,000 traces/month are free",
        )
    )
    acu_h = ACTIVE_ACU * (RUNS_WINDOW_HOURS + 10 / 60)
    lines.append(
        Line(
            f"Aurora compute woken by the runs ({ACTIVE_ACU} ACU x {RUNS_WINDOW_HOURS:g} h + 10 min pause tail)",
            acu_h,
            P["acu"],
            acu_h * P["acu"].value,
            "starter only: production's floor is in the idle cost",
        )
    )
    puts = runs * PAYLOAD_PUTS_PER_RUN
    lines.append(
        Line(
            f"S3 payload writes ({PAYLOAD_PUTS_PER_RUN}/run: no reference node output exceeds 256 KiB)",
            puts,
            P["s3_put"],
            puts / 1000 * P["s3_put"].value,
            "a flow with one 1 MiB output adds $0.005 per 1,000 runs, plus $0.023/GB-month while kept",
        )
    )
    ios = runs * ref["lambda_invocations"] * IO_PER_NODE
    lines.append(Line(f"Aurora I/O ({IO_PER_NODE}/node)", ios, P["aurora_io"], ios / 1e6 * P["aurora_io"].value))
    return lines


def _print(title: str, lines: list[Line], target: float, digits: int = 2) -> float:
    total = sum(line.monthly for line in lines)
    width = 8 + digits - 2
    print(f"\n  {title}")
    for line in lines:
        price = f"${line.price.value:g} {line.price.unit}"
        note = f"  [{line.note}]" if line.note else ""
        print(
            f"    {line.what:<78} {line.quantity:>12,.2f}  x {price:<40} = ${line.monthly:>{width}.{digits}f}"
            f"   source: {line.price.source}, {REGION}, {PRICE_DATE}{note}"
        )
    verdict = ""
    if target != float("inf"):
        verdict = f"   ({'under' if total < target else 'ABOVE'} the ${target:.2f} target)"
    print(f"    {'TOTAL':<78} {'':>12}    {'':<40} = ${total:>{width}.{digits}f}{verdict}")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", default=str(REPO / "cdk.out"))
    parser.add_argument("--reference-json", help="output of `python -m nexod.testing.reference_run` saved to a file")
    args = parser.parse_args()
    outdir = Path(args.outdir)
    ref = reference_run(args.reference_json)
    print(f"Nexod cost model: us-east-1 list prices as of {PRICE_DATE}; LLM tokens excluded.")
    print(
        f"Reference run: {ref['transitions']} transitions, {ref['lambda_invocations']} node-runner invocations "
        f"-- source: {ref['source']}"
    )
    status = 0
    for profile in ("starter", "production"):
        data_file, app_file = (
            outdir / f"Nexod-{profile}-Data.template.json",
            outdir / f"Nexod-{profile}-App.template.json",
        )
        if not data_file.exists():
            print(f"\n[{profile}] no template in {outdir}: run `make synth` first")
            status = 1
            continue
        data, app = json.loads(data_file.read_text()), json.loads(app_file.read_text())
        print(f"\n=== profile: {profile} ===")
        idle = _print(
            "monthly idle cost",
            idle_lines(data, app) + reminder_lines(profile),
            5.0 if profile == "starter" else float("inf"),
        )
        lines = run_lines(app, ref)
        if profile == "production":
            lines = [line for line in lines if not line.what.startswith("Aurora compute woken")]
        per_runs = _print("1,000 runs of the reference 10-node flow (excluding LLM tokens)", lines, 0.50)
        _print(
            f"agents: {AGENT_MINUTES:,} agent-minutes on Fargate (per agent-minute x 1,000; LLM tokens excluded)",
            agent_lines(app),
            float("inf"),
        )
        _print(
            f"triggers: per {DELIVERIES:,} deliveries of each kind (the runs they start are the per-run figure)",
            trigger_lines(app),
            float("inf"),
            digits=5,
        )
        _print(
            f"workspace credentials, as used (assumed {CREDENTIALS[profile]}; not in the idle total)",
            credential_lines(profile),
            float("inf"),
        )
        if profile == "starter" and (idle >= 5.0 or per_runs >= 0.50):
            print("    -> above a target: see docs/cost.md for which line and what it would take")
    print("\nNot in these figures:")
    for item in LEFT_OUT:
        print(f"  - {item}")
    return status


if __name__ == "__main__":
    sys.exit(main())
