"""Per-construct assertions on the synthesized templates: what a security reviewer checks first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from .conftest import PROFILES, Synth, arn_text, as_list, resources, role_policies, statements

pytestmark = pytest.mark.infra

# Actions that may use Resource "*" because AWS offers no resource-level permission for them.
STAR_RESOURCE_OK = (
    "xray:",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "ecr:GetAuthorizationToken",
    "logs:PutRetentionPolicy",  # CDK LogRetention helper (Aurora exported logs)
    "logs:DeleteRetentionPolicy",
    "logs:DeleteResourcePolicy",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:RevokeSecurityGroup",
    "ec2:AuthorizeSecurityGroup",
    "cloudfront:GetInvalidation",
    "cloudfront:CreateInvalidation",
)
DATA_SERVICES = ("secretsmanager:", "rds", "s3:", "sqs:", "states:", "dynamodb:", "kms:", "events:", "scheduler:")


def _t(synth: Synth, profile: str, stack: str) -> Template:
    return Template.from_json(synth.template(profile, stack))


# -- IAM across every template --------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["starter", "production"])
@pytest.mark.parametrize("stack", ["Data", "App"])
def test_no_wildcard_actions_and_no_star_resource_on_data(synth: Synth, profile: str, stack: str) -> None:
    # Given every identity policy statement of the stack
    for logical_id, st in statements(synth.template(profile, stack)):
        if st.get("Effect") != "Allow":
            continue
        actions = as_list(st.get("Action", []))
        # Then no action is "*" or "service:*"
        assert not [a for a in actions if a == "*" or a.endswith(":*")], (logical_id, actions)
        # And a "*" resource is only ever paired with actions that cannot be scoped
        if "*" in as_list(st.get("Resource", [])):
            bad = [a for a in actions if not a.startswith(STAR_RESOURCE_OK)]
            assert not bad, f"{logical_id}: {bad} on Resource '*'"
            assert not [a for a in actions if a.startswith(DATA_SERVICES)], (logical_id, actions)


# -- network ---------------------------------------------------------------------------------------
def test_starter_network_has_no_nat_and_egresses_over_ipv6(synth: Synth) -> None:
    # Given the starter Data stack
    t = _t(synth, "starter", "Data")
    # Then there is no NAT gateway, no NAT instance, no internet gateway and no public IPv4
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.resource_count_is("AWS::EC2::Instance", 0)
    t.resource_count_is("AWS::EC2::InternetGateway", 0)
    t.resource_count_is("AWS::EC2::EIP", 0)
    # And an egress-only internet gateway routes ::/0 from the app subnets
    t.resource_count_is("AWS::EC2::EgressOnlyInternetGateway", 1)
    t.has_resource_properties("AWS::EC2::Route", {"DestinationIpv6CidrBlock": "::/0"})
    t.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})


def test_production_network_has_a_nat_gateway_per_az(synth: Synth) -> None:
    t = _t(synth, "production", "Data")
    t.resource_count_is("AWS::EC2::NatGateway", 2)


# -- data ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["starter", "production"])
def test_aurora_is_encrypted_private_tls_only_and_backed_up(synth: Synth, profile: str) -> None:
    t = _t(synth, profile, "Data")
    # Then the cluster is Aurora PostgreSQL, encrypted with our key, IAM auth on, backups kept
    t.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "StorageEncrypted": True,
            "KmsKeyId": Match.any_value(),
            "BackupRetentionPeriod": Match.any_value(),
            "EnableIAMDatabaseAuthentication": True,
        },
    )
    t.has_resource("AWS::RDS::DBCluster", {"DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot"})
    # And no instance is publicly accessible
    for inst in resources(synth.template(profile, "Data"), "AWS::RDS::DBInstance").values():
        assert inst["Properties"]["PubliclyAccessible"] is False
    # And TLS is forced by the cluster parameter group
    t.has_resource_properties(
        "AWS::RDS::DBClusterParameterGroup", {"Parameters": Match.object_like({"rds.force_ssl": "1"})}
    )
    # And the key rotates and survives a teardown
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    t.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})


def test_starter_aurora_scales_to_zero_and_production_is_protected(synth: Synth) -> None:
    starter = _t(synth, "starter", "Data")
    starter.has_resource_properties(
        "AWS::RDS::DBCluster",
        {"ServerlessV2ScalingConfiguration": {"MinCapacity": 0, "MaxCapacity": 4, "SecondsUntilAutoPause": 600}},
    )
    prod = _t(synth, "production", "Data")
    prod.has_resource_properties("AWS::RDS::DBCluster", {"DeletionProtection": True})
    prod.resource_count_is("AWS::RDS::DBInstance", 2)  # writer + reader in another AZ
    prod.resource_count_is("AWS::SecretsManager::RotationSchedule", 2)


def test_database_accepts_postgres_only_from_the_functions_security_group(synth: Synth) -> None:
    t = synth.template("starter", "Data")
    ingress = resources(t, "AWS::EC2::SecurityGroupIngress")
    assert len(ingress) == 1
    (rule,) = ingress.values()
    assert rule["Properties"]["FromPort"] == 5432 and "SourceSecurityGroupId" in rule["Properties"]
    for sg in resources(t, "AWS::EC2::SecurityGroup").values():
        for r in sg["Properties"].get("SecurityGroupIngress", []):
            assert r.get("CidrIp") != "0.0.0.0/0" and r.get("CidrIpv6") != "::/0"


# -- secrets ---------------------------------------------------------------------------------------
def test_workspace_secrets_are_readable_only_through_the_tagged_reader_role(synth: Synth) -> None:
    t = synth.template("starter", "App")
    ws = synth.configs["starter"].workspace_secret_prefix
    # Given the reader role: it reads exactly the workspace named by the session tag
    reader = role_policies(t, "SecretsWorkspaceSecretsReader")
    reads = [s for s in reader if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    assert len(reads) == 1
    (resource,) = as_list(reads[0]["Resource"])
    assert arn_text(resource).endswith(f":secret:{ws}/${{aws:PrincipalTag/nexod:workspace}}/*")
    # And it can only be assumed with that tag, by named roles (not the whole account)
    role = resources(t, "AWS::IAM::Role")
    trust = next(v for k, v in role.items() if k.startswith("SecretsWorkspaceSecretsReader"))
    (stmt,) = trust["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Condition"]["Null"] == {"aws:RequestTag/nexod:workspace": "false"}
    assert all("GetAtt" in str(p) for p in as_list(stmt["Principal"]["AWS"]))
    # Then no other role in the app may GetSecretValue under the workspace prefix, but the API on webhook
    # keys (`trigger.<id>`: no credential name has a dot), which the webhook door verifies deliveries with
    for logical_id, st in statements(t):
        if logical_id.startswith("SecretsWorkspaceSecretsReader"):
            continue
        if "secretsmanager:GetSecretValue" in as_list(st.get("Action", [])):
            for resource in as_list(st["Resource"]):
                if ws in arn_text(resource):
                    assert logical_id.startswith("RuntimeHandlerServiceRole"), logical_id
                    assert arn_text(resource).endswith(f":secret:{ws}/*/trigger.*"), resource


def test_agent_task_role_has_no_secrets_manager_rights_on_workspace_credentials(synth: Synth) -> None:
    t = synth.template("starter", "App")
    ws = synth.configs["starter"].workspace_secret_prefix
    for st in role_policies(t, "OrchestrationAgentTaskTaskRole"):
        assert ws not in arn_text(st["Resource"])


@pytest.mark.parametrize("profile", PROFILES)
def test_the_api_manages_workspace_credentials_write_only(synth: Synth, profile: str) -> None:
    # Given the API role (its credentials routes store, rotate and delete; DESIGN §7: values are write-only)
    t = synth.template(profile, "App")
    ws = synth.configs[profile].workspace_secret_prefix
    stmts = role_policies(t, "RuntimeHandlerServiceRole")
    # When we collect the statements naming the workspace credentials
    webhook_keys = ("ReadWebhookTriggerSecretsOnly",)  # the webhook door's reads
    naming = [st for st in stmts if ws in arn_text(st["Resource"]) and st.get("Sid") not in webhook_keys]
    actions = {a for st in naming for a in as_list(st["Action"])}
    # Then they manage secrets under the prefix and never read a value
    assert actions == {
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:DescribeSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:RestoreSecret",
        "secretsmanager:DeleteSecret",
    }
    assert all(arn_text(r).endswith(f":secret:{ws}/*") for st in naming for r in as_list(st["Resource"]))
    # And a new secret must carry the workspace tag, and no tag but the vault's two
    for st in naming:
        if "secretsmanager:CreateSecret" in as_list(st["Action"]) or "secretsmanager:TagResource" in as_list(
            st["Action"]
        ):
            assert st["Condition"]["Null"] == {"aws:RequestTag/nexod:workspace": "false"}
            assert st["Condition"]["ForAllValues:StringEquals"] == {
                "aws:TagKeys": ["nexod:workspace", "nexod:credential"]
            }
    # And the data key serves it only through Secrets Manager, for secrets under the prefix
    (kms,) = [st for st in stmts if "kms:GenerateDataKey" in as_list(st["Action"])]
    assert sorted(as_list(kms["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"].startswith("secretsmanager.")
    assert arn_text(kms["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"]).endswith(f":secret:{ws}/*")
    # And no statement of the API role grants GetSecretValue on a credential: under the prefix, webhook keys only
    for st in stmts:
        if "secretsmanager:GetSecretValue" in as_list(st["Action"]):
            for resource in as_list(st["Resource"]):
                assert ws not in arn_text(resource) or arn_text(resource).endswith(f"{ws}/*/trigger.*"), resource


# -- orchestration ---------------------------------------------------------------------------------
def _invoke_targets(stmts: list[dict[str, Any]]) -> list[Any]:
    return [r for s in stmts if "lambda:InvokeFunction" in as_list(s["Action"]) for r in as_list(s["Resource"])]


def test_state_machine_role_may_invoke_only_the_node_runners_and_the_agent_launcher(synth: Synth) -> None:
    t = synth.template("starter", "App")
    stmts = role_policies(t, "OrchestrationStateMachineRole")
    targets = _invoke_targets(stmts)
    # Exactly the two runner functions (core and LLM) and the agent launcher, each by its unqualified ARN
    named = sorted(r["Fn::GetAtt"][0] for r in targets)
    assert len(named) == 3, named
    assert named[0].startswith("RuntimeAgentLauncher") and named[1].startswith("RuntimeLlmRunner")
    assert named[2].startswith("RuntimeNodeRunner")
    assert all(r["Fn::GetAtt"][1] == "Arn" for r in targets), targets
    trust = next(v for k, v in resources(t, "AWS::IAM::Role").items() if k.startswith("OrchestrationStateMachineRole"))
    (stmt,) = trust["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "states.amazonaws.com"}
    assert "aws:SourceAccount" in stmt["Condition"]["StringEquals"]


def test_api_publishes_only_prefixed_state_machines_and_passes_only_the_flow_role(synth: Synth) -> None:
    t = synth.template("starter", "App")
    prefix = synth.configs["starter"].state_machine_prefix
    stmts = role_policies(t, "RuntimeHandlerServiceRole")
    by_sid = {s.get("Sid"): s for s in stmts}
    publish = by_sid["PublishAndRunFlows"]
    for action in ("states:CreateStateMachine", "states:PublishStateMachineVersion", "states:UpdateStateMachineAlias"):
        assert action in publish["Action"]
    assert arn_text(publish["Resource"]).endswith(f":stateMachine:{prefix}-*")
    pass_role = by_sid["PassOnlyTheFlowRoles"]
    assert "OrchestrationStateMachineRole" in str(pass_role["Resource"])
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}


def test_only_the_llm_runner_and_the_agent_broker_get_the_llm_layer(synth: Synth) -> None:
    t = synth.template("starter", "App")
    fns = resources(t, "AWS::Lambda::Function")
    ours = {k: v for k, v in fns.items() if k.startswith("Runtime")}
    # API, two runners, execution events, migrations, broker, launcher, run starter, SQS consumer, reminders
    assert len(ours) == 10
    for logical_id, fn in ours.items():
        layers = fn["Properties"]["Layers"]
        assert fn["Properties"]["Architectures"] == ["arm64"]
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}
        assert fn["Properties"]["VpcConfig"]["Ipv6AllowedForDualStack"] is True
        has_llm = any("LlmLayer" in str(layer) for layer in layers)
        assert has_llm == logical_id.startswith(("RuntimeLlmRunner", "RuntimeBroker")), logical_id
        assert any("CoreLayer" in str(layer) for layer in layers), logical_id
    handlers = {k.removeprefix("Runtime")[:9]: v["Properties"]["Handler"] for k, v in ours.items()}
    assert handlers["NodeRunne"] == "steps.node_runner.handler"
    assert handlers["LlmRunner"] == "steps.llm_runner.handler"
    production = {
        k.removeprefix("Runtime")[:9]: v
        for k, v in resources(synth.template("production", "App"), "AWS::Lambda::Function").items()
        if k.startswith("Runtime")
    }
    assert production["Reminders"]["Properties"]["Handler"] == "ops.remind.handler"


def test_functions_get_the_settings_contract(synth: Synth) -> None:
    t = synth.template("starter", "App")
    api = next(v for k, v in resources(t, "AWS::Lambda::Function").items() if k.startswith("RuntimeHandler"))
    env = api["Properties"]["Environment"]["Variables"]
    for key in (
        "NEXOD_MODE",
        "NEXOD_DATABASE_SECRET_ARN",
        "NEXOD_AUTH_ISSUER",
        "NEXOD_AUTH_AUDIENCE",
        "NEXOD_NODE_RUNNER_ARN",
        "NEXOD_LLM_RUNNER_ARN",
        "NEXOD_STATE_MACHINE_ROLE_ARN",
        "NEXOD_STATE_MACHINE_PREFIX",
        "NEXOD_STATE_MACHINE_LOG_GROUP_ARN",
        "NEXOD_EVENT_BUS_NAME",
        "NEXOD_DEFAULT_MODEL",
    ):
        assert key in env, key
    assert env["NEXOD_MODE"] == "aws"
    assert env["AWS_USE_DUALSTACK_ENDPOINT"] == "true"  # starter reaches AWS APIs over IPv6
    migrate = next(v for k, v in resources(t, "AWS::Lambda::Function").items() if k.startswith("RuntimeMigrate"))
    assert "NEXOD_ADMIN_DATABASE_SECRET_ARN" in migrate["Properties"]["Environment"]["Variables"]
    assert "NEXOD_ADMIN_DATABASE_SECRET_ARN" not in env


def test_agent_task_runs_as_non_root_with_a_read_only_root_filesystem(synth: Synth) -> None:
    t = _t(synth, "starter", "App")
    t.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": [
                Match.object_like({"User": "10001", "ReadonlyRootFilesystem": True, "Image": Match.any_value()})
            ],
        },
    )
    assets = (synth.outdir / "Nexod-starter-App.assets.json").read_text()
    assert "ecs_tasks/agent_runner/Dockerfile" in assets


def test_execution_events_rule_matches_only_our_state_machines(synth: Synth) -> None:
    t = _t(synth, "starter", "App")
    prefix = synth.configs["starter"].state_machine_prefix
    t.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {"stateMachineArn": [{"prefix": Match.any_value()}]},
                }
            ),
            "Targets": [Match.object_like({"DeadLetterConfig": Match.any_value(), "RetryPolicy": Match.any_value()})],
        },
    )
    rules = resources(synth.template("starter", "App"), "AWS::Events::Rule").values()
    prefixes = {arn_text(r["Properties"]["EventPattern"]["detail"]["stateMachineArn"][0]["prefix"]) for r in rules}
    assert prefixes == {f"arn:aws:states:us-east-1:123456789012:stateMachine:{prefix}-"}


def test_every_log_group_has_a_retention(synth: Synth) -> None:
    for profile in ("starter", "production"):
        for stack in ("Data", "App"):
            for logical_id, lg in resources(synth.template(profile, stack), "AWS::Logs::LogGroup").items():
                assert lg["Properties"].get("RetentionInDays"), (profile, logical_id)


# -- triggers --------------------------------------------------------------------------------------
def _function(t: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in resources(t, "AWS::Lambda::Function").items() if k.startswith(prefix)]
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_the_scheduler_role_may_only_invoke_the_run_starter_and_dead_letter(synth: Synth, profile: str) -> None:
    # Given the Scheduler role of schedule triggers
    t = synth.template(profile, "App")
    starter_id, _ = _function(t, "RuntimeRunStarter")
    stmts = role_policies(t, "TriggersSchedulerRole")
    # Then it may invoke the run starter and nothing else, and send to the schedule DLQ only
    grants = sorted((a, json.dumps(s["Resource"])) for s in stmts for a in as_list(s["Action"]))
    assert [a for a, _ in grants] == ["lambda:InvokeFunction", "sqs:SendMessage"]
    assert starter_id in grants[0][1] and "TriggersScheduleDlq" in grants[1][1]
    # And only Scheduler, for schedules of the deployment's group, in this account, may assume it
    trust = next(v for k, v in resources(t, "AWS::IAM::Role").items() if k.startswith("TriggersSchedulerRole"))
    (stmt,) = trust["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "scheduler.amazonaws.com"}
    group = synth.configs[profile].state_machine_prefix
    assert arn_text(stmt["Condition"]["ArnEquals"]["aws:SourceArn"]).endswith(f":schedule-group/{group}")


@pytest.mark.parametrize("profile", PROFILES)
def test_eventbridge_may_invoke_the_run_starter_only_for_rules_with_the_trigger_prefix(
    synth: Synth, profile: str
) -> None:
    t = synth.template(profile, "App")
    starter_id, starter = _function(t, "RuntimeRunStarter")
    prefix = synth.configs[profile].state_machine_prefix
    permissions = [
        p["Properties"]
        for p in resources(t, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] in ({"Fn::GetAtt": [starter_id, "Arn"]}, {"Ref": starter_id})
    ]
    # Then the run starter's only resource policy statement is EventBridge's, for trigger rules only
    (permission,) = permissions
    assert permission["Principal"] == "events.amazonaws.com"
    assert arn_text(permission["SourceArn"]).endswith(f":rule/*/{prefix}-trg-*")
    assert permission["SourceAccount"] == synth.configs[profile].account
    # And the run starter carries the core layer only, with the database and the trigger settings
    assert len(starter["Properties"]["Layers"]) == 1
    env = starter["Properties"]["Environment"]["Variables"]
    for key in ("NEXOD_DATABASE_SECRET_ARN", "NEXOD_STATE_MACHINE_ROLE_ARN", "NEXOD_EVENT_BUS_NAME"):
        assert key in env, key
    stmts = role_policies(t, "RuntimeRunStarterServiceRole")
    states = [s for s in stmts if any(str(a).startswith("states:") for a in as_list(s["Action"]))]
    assert [as_list(s["Action"]) for s in states] == [["states:StartExecution"]]
    assert arn_text(states[0]["Resource"]).endswith(f":stateMachine:{prefix}-*")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_api_manages_schedules_in_its_group_and_rules_with_the_trigger_prefix_only(
    synth: Synth, profile: str
) -> None:
    t = synth.template(profile, "App")
    prefix = synth.configs[profile].state_machine_prefix
    stmts = role_policies(t, "RuntimeHandlerServiceRole")
    by_sid = {s.get("Sid"): s for s in stmts}
    # Then schedules: create, update, delete in the deployment's group only
    schedules = by_sid["ManageTriggerSchedules"]
    assert sorted(as_list(schedules["Action"])) == [
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:UpdateSchedule",
    ]
    assert arn_text(schedules["Resource"]).endswith(f":schedule/{prefix}/*")
    # And it may pass only the Scheduler role, only to Scheduler
    passing = by_sid["PassOnlyTheSchedulerRole"]
    assert "TriggersSchedulerRole" in json.dumps(passing["Resource"])
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    # And rules: only `<prefix>-trg-*` on the Nexod bus
    rules = by_sid["ManageTriggerRules"]
    assert {arn_text(r) for r in as_list(rules["Resource"])} == {
        f"arn:aws:events:us-east-1:123456789012:rule/{prefix}-runs/{prefix}-trg-*"
    }
    assert "events:PutRule" in rules["Action"] and "events:PutTargets" in rules["Action"]
    # And no scheduler or events action anywhere else on the API's role reaches further
    for st in stmts:
        for action in as_list(st["Action"]):
            if str(action).startswith(("scheduler:", "events:Put", "events:Delete", "events:Enable")):
                assert st["Resource"] != "*", st
    # And the API knows the run starter, the group, the Scheduler role, the DLQ and the rule prefix
    _, api = _function(t, "RuntimeHandler")
    env = api["Properties"]["Environment"]["Variables"]
    for key in (
        "NEXOD_RUN_STARTER_ARN",
        "NEXOD_SCHEDULER_GROUP",
        "NEXOD_SCHEDULER_ROLE_ARN",
        "NEXOD_SCHEDULER_DLQ_ARN",
        "NEXOD_TRIGGER_BUSES",
    ):
        assert key in env, key
    # the rules the API's code names (`services/trigger_rules.rule_name`) are the ones it may manage
    from nexod.services.trigger_rules import RULE_INFIX

    assert f"{env['NEXOD_STATE_MACHINE_PREFIX']}{RULE_INFIX}" == f"{prefix}-trg-"


def test_named_buses_from_context_widen_the_rule_rights_to_those_buses_only() -> None:
    from nexod_cdk.app_builder import build_app

    # Given a deployment that lets EventBridge triggers listen on a partner bus too
    _app, stacks = build_app(
        context={"nexod:triggerBuses": "partner-events", "aws:cdk:bundling-stacks": []}, profiles=["starter"]
    )
    t = Template.from_stack(stacks["starter"][1]).to_json()
    # Then the API's rule rights name the Nexod bus and that bus, with the trigger prefix, nothing else
    rules = next(s for s in role_policies(t, "RuntimeHandlerServiceRole") if s.get("Sid") == "ManageTriggerRules")
    assert sorted(arn_text(r).rsplit(":rule/", 1)[1] for r in as_list(rules["Resource"])) == [
        "nexod-starter-runs/nexod-starter-trg-*",
        "partner-events/nexod-starter-trg-*",
    ]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_ingress_consumer_reads_batches_of_ten_and_reports_partial_failures(synth: Synth, profile: str) -> None:
    t = synth.template(profile, "App")
    consumer_id, consumer = _function(t, "RuntimeIngressConsumer")
    assert consumer["Properties"]["Handler"] == "triggers.sqs_ingress.handler"
    (mapping,) = resources(t, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": consumer_id}
    assert props["BatchSize"] == 10 and props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "TriggersIngress" in json.dumps(props["EventSourceArn"])
    # And the queue sends a message that failed 5 times to the DLQ, which is alarmed to the topic
    queues = resources(t, "AWS::SQS::Queue").items()
    (ingress,) = [v for k, v in queues if k.startswith("TriggersIngress") and "Dlq" not in k]
    assert ingress["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    alarms = [a["Properties"] for a in resources(t, "AWS::CloudWatch::Alarm").values()]
    for dlq in ("TriggersIngressDlq", "TriggersScheduleDlq"):
        (alarm,) = [a for a in alarms if dlq in json.dumps(a.get("Dimensions", ""))]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        # any message at all (>= 1, i.e. > 0)
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_ingress_queue_has_a_dlq_and_every_queue_enforces_tls(synth: Synth) -> None:
    t = _t(synth, "starter", "App")
    t.has_resource_properties(
        "AWS::SQS::Queue", {"RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": 5}}
    )
    queues = resources(synth.template("starter", "App"), "AWS::SQS::Queue")
    policies = resources(synth.template("starter", "App"), "AWS::SQS::QueuePolicy")
    assert len(policies) >= len(queues)
    assert all("aws:SecureTransport" in str(p) for p in policies.values())
    t.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": synth.configs["starter"].state_machine_prefix})
    t.resource_count_is("AWS::Events::EventBus", 1)


# -- api -------------------------------------------------------------------------------------------
def test_http_api_uses_a_jwt_authorizer_throttling_and_access_logs(synth: Synth) -> None:
    t = _t(synth, "starter", "App")
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"AuthorizerType": "JWT", "JwtConfiguration": {"Issuer": Match.any_value(), "Audience": Match.any_value()}},
    )
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "DefaultRouteSettings": {
                "ThrottlingBurstLimit": Match.any_value(),
                "ThrottlingRateLimit": Match.any_value(),
            },
            "AccessLogSettings": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
        },
    )
    t.resource_count_is("AWS::Cognito::UserPool", 1)
    t.has_resource_properties("AWS::Cognito::UserPoolClient", {"GenerateSecret": False})


@pytest.mark.parametrize("profile", PROFILES)
def test_the_webhook_route_alone_has_no_authorizer_and_a_lower_throttle_of_its_own(synth: Synth, profile: str) -> None:
    from nexod_cdk import constants as c

    t = synth.template(profile, "App")
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in resources(t, "AWS::ApiGatewayV2::Route").values()}
    # Then the webhook route has no authorizer, and neither has the health route
    assert routes[c.HOOK_ROUTE].get("AuthorizationType", "NONE") == "NONE"
    assert "AuthorizerId" not in routes[c.HOOK_ROUTE]
    # And every other route needs the JWT
    others = {k: v for k, v in routes.items() if k not in (c.HOOK_ROUTE, c.HEALTH_ROUTE)}
    assert others
    for key, route in others.items():
        assert route["AuthorizationType"] == "JWT" and "AuthorizerId" in route, key
    # And it is throttled on its own, below the API's budget
    (stage,) = resources(t, "AWS::ApiGatewayV2::Stage").values()
    hook = stage["Properties"]["RouteSettings"][c.HOOK_ROUTE]
    assert 0 < hook["ThrottlingRateLimit"] < c.API_THROTTLE_RATE
    assert 0 < hook["ThrottlingBurstLimit"] < c.API_THROTTLE_BURST
    # And the API function may read webhook keys (`trigger.<id>`) only, never a credential
    reads = [
        s
        for s in role_policies(t, "RuntimeHandlerServiceRole")
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    patterns = [arn_text(r) for s in reads for r in as_list(s["Resource"])]
    secret_reads = [p for p in patterns if "/ws/" in p]
    assert secret_reads and all(p.endswith("/ws/*/trigger.*") for p in secret_reads), patterns


def test_clerk_profile_uses_the_issuer_from_context_and_creates_no_user_pool() -> None:
    from nexod_cdk.app_builder import build_app

    # Given Clerk chosen in context
    _app, stacks = build_app(
        context={
            "nexod:auth": "clerk",
            "nexod:jwtIssuer": "https://clerk.example.com",
            "nexod:jwtAudience": "nexod",
            "aws:cdk:bundling-stacks": [],
        },
        profiles=["starter"],
    )
    # When we read the App stack (without running the nag plugins: the session fixture does that)
    template = Template.from_stack(stacks["starter"][1])
    # Then the authorizer trusts Clerk and no Cognito pool exists
    template.resource_count_is("AWS::Cognito::UserPool", 0)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"JwtConfiguration": {"Issuer": "https://clerk.example.com", "Audience": ["nexod"]}},
    )


# -- console ---------------------------------------------------------------------------------------
def test_console_is_private_s3_behind_cloudfront_with_oac_and_security_headers(synth: Synth) -> None:
    t = _t(synth, "starter", "App")
    t.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.any_value(),
        },
    )
    t.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": Match.object_like(
                        {
                            "StrictTransportSecurity": Match.any_value(),
                            "ContentSecurityPolicy": Match.any_value(),
                            "FrameOptions": Match.any_value(),
                            "ContentTypeOptions": Match.any_value(),
                        }
                    )
                }
            )
        },
    )
    t.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultCacheBehavior": Match.object_like({"ViewerProtocolPolicy": "redirect-to-https"}),
                    "Logging": Match.any_value(),
                }
            )
        },
    )


# -- observability ---------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["starter", "production"])
def test_alarms_cover_failed_runs_dlqs_errors_throttles_and_route_to_the_topic(synth: Synth, profile: str) -> None:
    t = synth.template(profile, "App")
    alarms = resources(t, "AWS::CloudWatch::Alarm")
    text = str(alarms)
    for needle in ("MatchedEvents", "ApproximateNumberOfMessagesVisible", "Errors", "Throttles", "5xx"):
        assert needle in text, needle
    for logical_id, alarm in alarms.items():
        actions = alarm["Properties"]["AlarmActions"]
        assert actions and all("ObservabilityAlarms" in str(a) for a in actions), logical_id
    dashboards = resources(t, "AWS::CloudWatch::Dashboard")
    assert len(dashboards) == (1 if profile == "production" else 0)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_payload_bucket_is_private_tls_only_encrypted_with_the_data_key_and_expires(
    synth: Synth, profile: str
) -> None:
    # Given the Data stack's payload bucket (large node outputs, DESIGN §2)
    data = synth.template(profile, "Data")
    (logical, bucket), *rest = [
        (k, v) for k, v in resources(data, "AWS::S3::Bucket").items() if k.startswith("PayloadsBucket")
    ]
    assert not rest
    props = bucket["Properties"]
    # Then it is SSE-KMS with the deployment's data key and an S3 Bucket Key, and kept on teardown
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (key,) = resources(data, "AWS::KMS::Key")
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key, "Arn"]}
    assert rule["BucketKeyEnabled"] is True
    assert bucket["DeletionPolicy"] == "Retain"
    # And no public access, owner-enforced objects, access logs
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "payloads/"
    # And payloads under ws/ expire after the profile's retention
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    expire = rules["expire-run-payloads"]
    days = synth.configs[profile].profile.payload_retention_days
    assert (expire["Prefix"], expire["ExpirationInDays"], expire["Status"]) == ("ws/", days, "Enabled")
    # And its policy denies every request that is not TLS
    policies = [
        p for p in resources(data, "AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": logical}
    ]
    (policy,) = policies
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*" for s in denies)


def test_only_the_node_runners_write_payloads_and_the_api_only_reads_them(synth: Synth) -> None:
    # Given every identity policy statement naming the payload bucket's objects
    app = synth.template("starter", "App")
    granted: dict[str, set[str]] = {}
    for logical, st in statements(app):
        if "PayloadsBucket" in json.dumps(st.get("Resource")) and st.get("Effect") == "Allow":
            granted.setdefault(logical.split("ServiceRole")[0], set()).update(as_list(st["Action"]))
    # Then the node runners (the agent launcher is one) may put, get and list under ws/, the API get and list,
    # and nobody else anything (not the broker, not the agent task)
    assert granted == {
        "RuntimeNodeRunner": {"s3:PutObject", "s3:GetObject", "s3:ListBucket"},
        "RuntimeLlmRunner": {"s3:PutObject", "s3:GetObject", "s3:ListBucket"},
        "RuntimeAgentLauncher": {"s3:PutObject", "s3:GetObject", "s3:ListBucket"},
        "RuntimeHandler": {"s3:GetObject", "s3:ListBucket"},
    }
    for _, st in statements(app):
        if "PayloadsBucket" in json.dumps(st.get("Resource")):
            if "s3:ListBucket" in as_list(st["Action"]):
                assert st["Condition"] == {"StringLike": {"s3:prefix": ["ws/*"]}}
            else:
                assert arn_text(st["Resource"]).endswith("/ws/*")


@pytest.mark.parametrize("profile", PROFILES)
def test_every_function_is_traced_without_responses_and_names_its_profile_for_metrics(
    synth: Synth, profile: str
) -> None:
    # Given the synthesized functions of a profile
    fns = resources(synth.template(profile, "App"), "AWS::Lambda::Function")
    ours = {k: v for k, v in fns.items() if k.startswith("Runtime")}
    for logical_id, fn in ours.items():
        env = fn["Properties"]["Environment"]["Variables"]
        # Then each sends X-Ray segments, never records a handler's response in them, and carries the
        # `profile` dimension and namespace of its metrics
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", logical_id
        assert (env["NEXOD_PROFILE"], env["POWERTOOLS_METRICS_NAMESPACE"]) == (profile, "Nexod"), logical_id


def test_the_production_dashboard_graphs_runs_node_duration_and_llm_spend(synth: Synth) -> None:
    # Given the production dashboard
    (dashboard,) = resources(synth.template("production", "App"), "AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])
    # Then it reads every custom metric, by the same service and profile dimensions the functions emit
    for name in (
        "RunsStarted",
        "RunsSucceeded",
        "RunsFailed",
        "RunsCancelled",
        "NodeDuration",
        "LLMTokensIn",
        "LLMTokensOut",
        "LLMCostUSD",
    ):
        assert f'"{name}"' in body, name
    assert '"Nexod","LLMCostUSD","profile","production","service","nexod-node-runner"' in body
    assert '"Nexod","RunsFailed","profile","production","service","nexod-execution-events"' in body


def test_only_the_functions_that_publish_run_events_may_put_events_and_only_on_the_runs_bus(synth: Synth) -> None:
    # Given every identity policy statement of the App stack that allows events:PutEvents
    app = synth.template("starter", "App")
    buses = [k for k in resources(app, "AWS::Events::EventBus") if k.startswith("TriggersRunEvents")]
    assert len(buses) == 1, buses
    granted: dict[str, list[Any]] = {}
    for logical, st in statements(app):
        if st.get("Effect") == "Allow" and "events:PutEvents" in as_list(st["Action"]):
            granted.setdefault(logical.split("ServiceRole")[0], []).append(st["Resource"])
    # Then exactly the API, the node runners (the agent launcher is one), the execution-events function and
    # the trigger functions hold it (not migrations, not the broker, not the reminders)
    assert set(granted) == {
        "RuntimeHandler",
        "RuntimeNodeRunner",
        "RuntimeLlmRunner",
        "RuntimeAgentLauncher",
        "RuntimeExecutionEvents",
        "RuntimeRunStarter",  # a trigger's run starts (queued event)
        "RuntimeIngressConsumer",
    }
    # And each on the deployment's runs bus alone
    for resources_ in granted.values():
        assert resources_ == [{"Fn::GetAtt": [buses[0], "Arn"]}], resources_


def test_the_approval_sweeper_is_scheduled_and_its_role_may_only_invoke_it(synth: Synth) -> None:
    # Given the production App template (its Aurora never pauses)
    t = synth.template("production", "App")
    # Then one schedule invokes the Reminders function every 5 minutes, through its own role
    (schedule,) = resources(t, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(5 minutes)"
    assert "RuntimeReminders" in json.dumps(props["Target"]["Arn"])
    stmts = role_policies(t, "NotificationsScheduleRole")
    assert [a for s in stmts for a in as_list(s["Action"])] == ["lambda:InvokeFunction"]
    assert "RuntimeReminders" in json.dumps(stmts[0]["Resource"])
    trust = next(v for k, v in resources(t, "AWS::IAM::Role").items() if k.startswith("NotificationsScheduleRole"))
    (stmt,) = trust["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceArn" in stmt["Condition"]["ArnEquals"]
    # And the link key is a secret of its own there (the database secret rotates)
    assert any(k.startswith("NotificationsApprovalLinkKey") for k in resources(t, "AWS::SecretsManager::Secret"))
    # And the starter, whose Aurora pauses, has no sweeper and no extra secret: its links' key is derived
    # from the app's database secret, which the signing and verifying functions read already
    starter = synth.template("starter", "App")
    assert not resources(starter, "AWS::Scheduler::Schedule")
    assert not any(k.startswith("Notifications") for k in resources(starter, "AWS::SecretsManager::Secret"))
    for name, fn in resources(starter, "AWS::Lambda::Function").items():
        if name.startswith(("RuntimeHandler", "RuntimeNodeRunner")):
            env = fn["Properties"]["Environment"]["Variables"]
            assert env["NEXOD_APPROVAL_LINK_KEY_SECRET_ARN"] == env["NEXOD_DATABASE_SECRET_ARN"], name
    # And without an SES identity configured, no function may send email
    for template in (t, starter):
        policies = resources(template, "AWS::IAM::Policy").values()
        actions = [
            a for r in policies for s in r["Properties"]["PolicyDocument"]["Statement"] for a in as_list(s["Action"])
        ]
        assert not [a for a in actions if str(a).startswith("ses:")]


def test_ses_send_is_granted_on_the_configured_identity_only(tmp_path_factory: pytest.TempPathFactory) -> None:
    from nexod_cdk.app_builder import build_app

    # Given a deployment configured with an SES identity
    identity = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    context = {"nexod:sesFromAddress": "approvals@example.com", "nexod:sesIdentityArn": identity}
    outdir = tmp_path_factory.mktemp("cdk-ses")
    app, _ = build_app(outdir=str(outdir), context=context, profiles=["production"])
    app.synth()
    t = json.loads((outdir / "Nexod-production-App.template.json").read_text())
    # Then ses:SendEmail is granted to the node runner and the sweeper, on that identity and nothing else
    granted = {}
    for name, policy in resources(t, "AWS::IAM::Policy").items():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(str(a).startswith("ses:") for a in as_list(s["Action"])):
                assert as_list(s["Action"]) == ["ses:SendEmail"] and s["Resource"] == identity, s
                granted[name] = True
    assert len(granted) == 2 and any("NodeRunner" in n for n in granted) and any("Reminders" in n for n in granted)
    # And both know where to send from and which key signs the links
    functions = resources(t, "AWS::Lambda::Function")
    for name, fn in functions.items():
        if "NodeRunner" in name or "Reminders" in name:
            env = fn["Properties"]["Environment"]["Variables"]
            assert (
                env["NEXOD_SES_FROM_ADDRESS"] == "approvals@example.com" and env["NEXOD_SES_IDENTITY_ARN"] == identity
            )
            assert "NEXOD_APPROVAL_LINK_KEY_SECRET_ARN" in env and "NEXOD_CONSOLE_URL" in env
