"""Agent and crew nodes in the deployment (issue 10): the launcher function, the broker function and its key,
the Fargate task that holds nothing, its network (HTTPS out only, never the database), and how a starter
deployment without NAT still pulls the image and reaches the broker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import PROFILES, Synth, arn_text, as_list, resources, role_policies

pytestmark = pytest.mark.infra


def _function(app: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in resources(app, "AWS::Lambda::Function").items()
        if k.startswith(prefix) and not k.startswith(prefix + "Logs")
    ]
    return found


def _statements_with(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [st for st in statements if action in as_list(st["Action"])]


def _ref(logical: str) -> dict[str, str]:
    return {"Ref": logical}


def _one(template: dict[str, Any], type_: str, prefix: str = "") -> str:
    (logical,) = [k for k in resources(template, type_) if k.startswith(prefix)]
    return logical


@pytest.mark.parametrize("profile", PROFILES)
def test_the_launcher_may_run_only_the_agent_task_in_its_cluster_and_pass_only_that_task_s_two_roles(
    synth: Synth, profile: str
) -> None:
    # Given the app template's agent task definition, cluster and the launcher's policy
    app = synth.template(profile, "App")
    task = _one(app, "AWS::ECS::TaskDefinition")
    cluster = _one(app, "AWS::ECS::Cluster")
    props = resources(app, "AWS::ECS::TaskDefinition")[task]["Properties"]
    statements = role_policies(app, "RuntimeAgentLauncherServiceRole")
    # Then RunTask names that task definition alone, in that cluster alone
    (run,) = _statements_with(statements, "ecs:RunTask")
    assert as_list(run["Action"]) == ["ecs:RunTask"]
    assert as_list(run["Resource"]) == [_ref(task)]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": [cluster, "Arn"]}}}
    # And PassRole names the task's execution role and task role alone, only towards ECS tasks
    (passing,) = _statements_with(statements, "iam:PassRole")
    assert sorted(json.dumps(r) for r in as_list(passing["Resource"])) == sorted(
        json.dumps(props[k]) for k in ("ExecutionRoleArn", "TaskRoleArn")
    )
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    # And tagging is allowed only as part of RunTask
    (tagging,) = _statements_with(statements, "ecs:TagResource")
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    # And no other ECS or IAM action is granted
    actions = {a for st in statements for a in as_list(st["Action"])}
    assert {a for a in actions if a.startswith(("ecs:", "iam:"))} == {"ecs:RunTask", "ecs:TagResource", "iam:PassRole"}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_launcher_has_the_core_layer_only_the_vpc_the_database_and_the_settings_of_a_launch(
    synth: Synth, profile: str
) -> None:
    from nexod_cdk import constants as c

    app = synth.template(profile, "App")
    # Given the launcher function as synthesized
    _, launcher = _function(app, "RuntimeAgentLauncher")
    _, core = _function(app, "RuntimeNodeRunner")
    props = launcher["Properties"]
    env = props["Environment"]["Variables"]
    # Then it runs the launcher handler with the core layer alone (no LiteLLM, no crewai), in the VPC like
    # the core runner, with its database secret
    assert props["Handler"] == c.AGENT_LAUNCHER_HANDLER
    assert props["Layers"] == core["Properties"]["Layers"] and len(props["Layers"]) == 1
    assert props["VpcConfig"] == core["Properties"]["VpcConfig"]
    assert (
        env["NEXOD_DATABASE_SECRET_ARN"] == core["Properties"]["Environment"]["Variables"]["NEXOD_DATABASE_SECRET_ARN"]
    )
    # And it is told everything a RunTask needs: cluster, task definition, subnets, security group, broker
    assert env["NEXOD_AGENT_CLUSTER_ARN"] == {"Fn::GetAtt": [_one(app, "AWS::ECS::Cluster"), "Arn"]}
    assert env["NEXOD_AGENT_TASK_DEFINITION_ARN"] == _ref(_one(app, "AWS::ECS::TaskDefinition"))
    assert "NetworkAgentSg" in json.dumps(env["NEXOD_AGENT_SECURITY_GROUPS"])
    assert env["NEXOD_AGENT_ASSIGN_PUBLIC_IP"] == "false"
    url = _one(app, "AWS::Lambda::Url", "RuntimeBroker")
    assert env["NEXOD_BROKER_URL"] == {"Fn::GetAtt": [url, "FunctionUrl"]}  # the runner adds v1/broker/<call>
    # (production: a secret of its own; the starter derives the key from the database secret, HKDF)
    key = (
        _ref(_one(app, "AWS::SecretsManager::Secret", "OrchestrationBrokerKey"))
        if profile == "production"
        else env["NEXOD_DATABASE_SECRET_ARN"]
    )
    assert env["NEXOD_BROKER_KEY_SECRET_ARN"] == key
    # And the flows may invoke it, the API compiles its ARN into published ASL, and the stack outputs it
    arn = {"Fn::GetAtt": [_function(app, "RuntimeAgentLauncher")[0], "Arn"]}
    invoke = [
        st
        for st in role_policies(app, "OrchestrationStateMachineRole")
        if "lambda:InvokeFunction" in as_list(st["Action"])
    ]
    assert any(arn in as_list(st["Resource"]) for st in invoke)
    _, api = _function(app, "RuntimeHandler")
    assert api["Properties"]["Environment"]["Variables"]["NEXOD_AGENT_LAUNCHER_ARN"] == arn
    assert app["Outputs"]["AgentLauncherArn"]["Value"] == arn


def test_the_starter_keeps_no_broker_key_secret_of_its_own(synth: Synth) -> None:
    # Given the starter (no secret rotation; each secret is $0.40 of its $5 idle budget)
    app = synth.template("starter", "App")
    # Then it has no broker key secret: launcher and broker derive the key from the database secret they read
    assert not [k for k in resources(app, "AWS::SecretsManager::Secret") if k.startswith("OrchestrationBrokerKey")]


@pytest.mark.parametrize("profile", ["production"])
def test_the_broker_key_is_a_generated_secret_under_the_data_key_read_only_by_the_launcher_and_the_broker(
    synth: Synth, profile: str
) -> None:
    app = synth.template(profile, "App")
    # Given the broker key secret
    logical = _one(app, "AWS::SecretsManager::Secret", "OrchestrationBrokerKey")
    props = resources(app, "AWS::SecretsManager::Secret")[logical]["Properties"]
    # Then it is generated (at least 32 random bytes once base64-decoded: 43+ base64 digits) under the data key
    generated = props["GenerateSecretString"]
    assert generated["PasswordLength"] >= 43 and generated["ExcludePunctuation"] is True
    assert "KmsKeyId" in props and "DataKey" in json.dumps(props["KmsKeyId"])
    # And exactly two functions may read it: the launcher (mints tokens) and the broker (verifies them)
    readers = set()
    for role in resources(app, "AWS::IAM::Role"):
        for st in role_policies(app, role) if role.startswith("Runtime") else []:
            if "secretsmanager:GetSecretValue" in as_list(st["Action"]) and _ref(logical) in as_list(st["Resource"]):
                readers.add(role)
    assert {r.split("ServiceRole")[0] for r in readers} == {"RuntimeAgentLauncher", "RuntimeBroker"}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_agent_task_role_holds_nothing_and_the_broker_completes_the_task_tokens(synth: Synth, profile: str) -> None:
    from nexod_cdk import constants as c

    app = synth.template(profile, "App")
    # Given the agent task's role, the broker's and the API's
    task_role = role_policies(app, "OrchestrationAgentTaskTaskRole")
    broker = role_policies(app, "RuntimeBrokerServiceRole")
    api = role_policies(app, "RuntimeHandlerServiceRole")
    # Then the container's role has no statement at all (it talks only to the broker)
    assert task_role == []
    (task_role_logical,) = [
        k for k in resources(app, "AWS::IAM::Role") if k.startswith("OrchestrationAgentTaskTaskRole")
    ]
    assert not resources(app, "AWS::IAM::Role")[task_role_logical]["Properties"].get("ManagedPolicyArns")
    # And the broker completes task tokens (heartbeat, success, failure) on this deployment's machines only
    (send,) = [st for st in broker if "states:SendTaskHeartbeat" in as_list(st["Action"])]
    assert sorted(as_list(send["Action"])) == [
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
        "states:SendTaskSuccess",
    ]
    assert "stateMachine:nexod-" in json.dumps(send["Resource"])
    # And the broker reads workspace credentials only through the tagged reader; the API still never does (it
    # reads webhook keys, `trigger.<id>`, only)
    api_reads = [
        arn_text(r)
        for st in api
        if "secretsmanager:GetSecretValue" in as_list(st["Action"])
        for r in as_list(st["Resource"])
        if "ws/" in arn_text(r)
    ]
    assert all(r.endswith("/ws/*/trigger.*") for r in api_reads), api_reads
    assert any("sts:AssumeRole" in as_list(st["Action"]) for st in broker)
    # And the broker is its own function, with the LLM layer, behind a function URL that checks its own token
    _, fn = _function(app, "RuntimeBroker")
    assert fn["Properties"]["Handler"] == c.BROKER_HANDLER and len(fn["Properties"]["Layers"]) == 2
    assert fn["Properties"]["Timeout"] == c.BROKER_TIMEOUT_SECONDS
    (url,) = resources(app, "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "NONE"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_agent_sg_allows_https_out_only_and_no_rule_joins_it_to_the_database(synth: Synth, profile: str) -> None:
    data, app = synth.template(profile, "Data"), synth.template(profile, "App")
    # Given the agent and database security groups
    sgs = resources(data, "AWS::EC2::SecurityGroup")
    agent = _one(data, "AWS::EC2::SecurityGroup", "NetworkAgentSg")
    database = _one(data, "AWS::EC2::SecurityGroup", "NetworkDatabaseSg")
    # Then the agent SG's egress is TCP 443 to anywhere (IPv4 and IPv6), nothing else
    egress = sgs[agent]["Properties"]["SecurityGroupEgress"]
    assert sorted(
        (e["IpProtocol"], e["FromPort"], e["ToPort"], e.get("CidrIp") or e.get("CidrIpv6")) for e in egress
    ) == [
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
    ]
    # And no standalone egress rule leaves it, toward 5432 or anywhere
    everything = {**data["Resources"], **app["Resources"]}
    for res in everything.values():
        if res["Type"] == "AWS::EC2::SecurityGroupEgress":
            assert agent not in json.dumps(res["Properties"]["GroupId"])
    # And no ingress rule of the database's SG names it (inline or standalone)
    inline = sgs[database]["Properties"].get("SecurityGroupIngress", [])
    standalone = [r["Properties"] for r in everything.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    for rule in inline + [r for r in standalone if database in json.dumps(r.get("GroupId"))]:
        assert agent not in json.dumps(rule.get("SourceSecurityGroupId")), rule
    assert all(
        not (agent in json.dumps(r.get("SourceSecurityGroupId")) and r.get("FromPort") == 5432) for r in standalone
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_the_agent_container_gets_no_database_secret_no_secret_and_no_setting_that_names_one(
    synth: Synth, profile: str
) -> None:
    from nexod_cdk import constants as c

    app = synth.template(profile, "App")
    # Given the task definition's one container
    (container,) = resources(app, "AWS::ECS::TaskDefinition")[_one(app, "AWS::ECS::TaskDefinition")]["Properties"][
        "ContainerDefinitions"
    ]
    env = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
    # Then it is the container the launcher's overrides address
    assert container["Name"] == c.AGENT_CONTAINER
    # And it gets no secret, and no variable names a database, a secret, a key, an ARN or a bus
    assert "Secrets" not in container
    assert not [n for n in env if any(w in n for w in ("DATABASE", "SECRET", "KEY", "ARN", "BUS", "TOKEN", "BROKER"))]
    assert not [v for v in env.values() if not isinstance(v, str) or "arn:" in v], env


def test_starter_agents_run_in_ipv6_only_subnets_out_through_the_egress_only_gateway_and_pull_from_ecr_dual_stack(
    synth: Synth,
) -> None:
    data, app = synth.template("starter", "Data"), synth.template("starter", "App")
    # Given the starter's network: no NAT, no IPv4 route out
    assert not resources(data, "AWS::EC2::NatGateway") and not resources(data, "AWS::EC2::Instance")
    # When the launcher's agent subnets are followed into the Data template
    _, launcher = _function(app, "RuntimeAgentLauncher")
    subnets_expr = json.dumps(launcher["Properties"]["Environment"]["Variables"]["NEXOD_AGENT_SUBNETS"])
    agent_subnets = {k: v for k, v in resources(data, "AWS::EC2::Subnet").items() if k.startswith("NetworkAgentSubnet")}
    assert len(agent_subnets) == 2 and all(k in subnets_expr for k in agent_subnets)
    eigw = _one(data, "AWS::EC2::EgressOnlyInternetGateway")
    routes = list(resources(data, "AWS::EC2::Route").values())
    associations = list(resources(data, "AWS::EC2::SubnetRouteTableAssociation").values())
    for logical, subnet in agent_subnets.items():
        props = subnet["Properties"]
        # Then each is IPv6-only (no IPv4 block) and gives the task an IPv6 address
        assert props["Ipv6Native"] is True and "CidrBlock" not in props
        assert props["AssignIpv6AddressOnCreation"] is True
        # And its route table sends ::/0 to the egress-only internet gateway (HTTPS out: the broker's URL)
        (table,) = [
            a["Properties"]["RouteTableId"]["Ref"]
            for a in associations
            if a["Properties"]["SubnetId"] == {"Fn::GetAtt": [logical, "SubnetId"]}
        ]
        assert any(
            r["Properties"]["RouteTableId"] == {"Ref": table}
            and r["Properties"].get("DestinationIpv6CidrBlock") == "::/0"
            and r["Properties"].get("EgressOnlyInternetGatewayId") == {"Ref": eigw}
            for r in routes
        )
    # And the image is named by ECR's dual-stack registry host, the only one an IPv6-only task can pull from
    (container,) = resources(app, "AWS::ECS::TaskDefinition")[_one(app, "AWS::ECS::TaskDefinition")]["Properties"][
        "ContainerDefinitions"
    ]
    image = json.dumps(container["Image"])
    assert ".dkr-ecr.us-east-1.on.aws/nexod-starter-agent:" in image
    # And the execution role may pull from that repository
    pulls = [a for st in role_policies(app, "OrchestrationAgentTaskExecutionRole") for a in as_list(st["Action"])]
    assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"} <= set(pulls)
    # And the broker's URL (where every model and tool call goes) is a Lambda function URL: dual-stack
    assert "FunctionUrl" in json.dumps(launcher["Properties"]["Environment"]["Variables"]["NEXOD_BROKER_URL"])


def test_production_agents_run_in_the_app_subnets_out_through_nat(synth: Synth) -> None:
    data, app = synth.template("production", "Data"), synth.template("production", "App")
    # Given production's network with NAT gateways
    assert resources(data, "AWS::EC2::NatGateway")
    # Then there are no separate agent subnets and the launcher names the app subnets
    assert not [k for k in resources(data, "AWS::EC2::Subnet") if k.startswith("NetworkAgentSubnet")]
    _, launcher = _function(app, "RuntimeAgentLauncher")
    subnets_expr = json.dumps(launcher["Properties"]["Environment"]["Variables"]["NEXOD_AGENT_SUBNETS"])
    assert subnets_expr.count("NetworkVpcappSubnet") == 2
