"""The launchers: local mode's subprocess gets a scrubbed environment; AWS's is ecs:RunTask (under moto)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nexod.adapters.launcher_ecs import EcsLauncher
from nexod.adapters.launcher_local import SubprocessLauncher, runner_env
from nexod.adapters.moto_glue import MOTO_CONFIG
from nexod.ports.agents import Launch, TaskScope

SCOPE = TaskScope("ws-1", "run-1", "crew", 2, 1)
LAUNCH = Launch(SCOPE, "http://127.0.0.1:8000", "nxc1.claims.mac")
SECRETS = {
    "NEXOD_DATABASE_URL": "postgresql://nexod:pw@localhost/nexod",
    "NEXOD_ADMIN_DATABASE_URL": "postgresql://postgres:pw@localhost/nexod",
    "DATABASE_URL": "postgresql://x:y@db/z",
    "OPENAI_API_KEY": "sk-parent-openai",
    "ANTHROPIC_API_KEY": "sk-ant-parent",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "AWS_ACCESS_KEY_ID": "AKIAPARENT",
    "NEXOD_VAULT_KEY_FILE": "/state/keys/vault.key",
}


def test_the_runner_environment_holds_only_the_broker_and_harmless_variables() -> None:
    # Given a parent process holding database URLs, provider keys and AWS credentials
    parent = {"PATH": "/usr/bin", "LANG": "C.UTF-8", **SECRETS}
    # When the runner's environment is built
    env = runner_env(LAUNCH, parent, "/tmp/home", Path("/code"))
    # Then it has the broker URL and token, a private HOME, telemetry off, and none of the parent's secrets
    assert env["NEXOD_BROKER_URL"] == LAUNCH.broker_url and env["NEXOD_BROKER_TOKEN"] == LAUNCH.token
    assert env["HOME"] == "/tmp/home" and env["CREWAI_DISABLE_TELEMETRY"] == "true"
    assert env["OTEL_SDK_DISABLED"] == "true" and env["CREWAI_TRACING_ENABLED"] == "false"
    assert not set(SECRETS) & set(env)
    assert not any(value in json.dumps(env) for value in SECRETS.values())


def test_a_launched_runner_process_sees_no_database_url_and_no_provider_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a parent with secrets in its environment, and a stand-in runner module that records its environment
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    code = tmp_path / "code" / "agent_runner"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "__main__.py").write_text(
        "import json, os, pathlib\npathlib.Path(os.environ['HOME'], 'env.json').write_text(json.dumps(dict(os.environ)))\n"
    )
    launcher = SubprocessLauncher(python=sys.executable, code_dir=tmp_path / "code", log_dir=tmp_path)
    # When the local launcher starts it exactly as it starts the agent runner
    pid = launcher.launch(LAUNCH)
    assert launcher.processes[pid].wait(30) == 0, (tmp_path / "runner-crew.log").read_text()
    # Then the child's environment has the broker and nothing of the parent's secrets
    child = json.loads((Path(launcher.homes[pid]) / "env.json").read_text())
    assert child["NEXOD_BROKER_URL"] == LAUNCH.broker_url
    assert not set(SECRETS) & set(child)
    assert not any(v in json.dumps(child) for v in SECRETS.values())


@mock_aws(config=MOTO_CONFIG)
def test_the_ecs_launcher_runs_the_agent_task_with_the_broker_overrides_in_the_agent_subnets() -> None:
    # Given the agent runner's Fargate task definition, its subnets and security group
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="agents", Description="agent runners", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="nexod")
    definition = ecs.register_task_definition(
        family="nexod-agent-runner",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {
                "name": "agent-runner",
                "image": "nexod/agent-runner:latest",
                "essential": True,
                "cpu": 1024,
                "memory": 2048,
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    sent: list[dict[str, Any]] = []
    ecs.meta.events.register("before-call.ecs.RunTask", lambda params, **_: sent.append(json.loads(params["body"])))
    launcher = EcsLauncher(ecs, "nexod", definition, [subnet], [sg], capacity_provider=None)
    # When it launches one agent task
    # moto 5.2.5 validates and records the call but cannot start an awsvpc task (NOTES.md: it fails building the
    # ENI's attributes); botocore has validated the request against the ECS model before it reaches moto.
    with pytest.raises(AttributeError, match="private_dns_name"):
        launcher.launch(LAUNCH)
    # Then RunTask named the task definition, in the agent subnets with their security group and no public IP,
    # with only the broker URL and the token as overrides
    (request,) = sent
    assert request["taskDefinition"] == definition and request["cluster"] == "nexod"
    assert request["launchType"] == "FARGATE" and request["count"] == 1
    assert request["networkConfiguration"] == {
        "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "DISABLED"}
    }
    (override,) = request["overrides"]["containerOverrides"]
    assert override["name"] == "agent-runner"
    assert override["environment"] == [
        {"name": "NEXOD_BROKER_URL", "value": LAUNCH.broker_url},
        {"name": "NEXOD_BROKER_TOKEN", "value": LAUNCH.token},
    ]
    assert {"key": "nexod:workspace", "value": "ws-1"} in request["tags"]


@mock_aws(config=MOTO_CONFIG)
def test_the_broker_key_comes_from_a_secrets_manager_secret() -> None:
    import base64
    import os

    from nexod.adapters.broker_keys import secrets_manager_broker_key

    # Given the deployment's broker key as a secret (base64, as the stack generates it), and a JSON form
    client = boto3.client("secretsmanager", region_name="us-east-1")
    key = os.urandom(32)
    plain = client.create_secret(Name="nexod/broker-key", SecretString=base64.b64encode(key).decode())["ARN"]
    wrapped = client.create_secret(
        Name="nexod/broker-key-json", SecretString=json.dumps({"key": base64.b64encode(key).decode()})
    )["ARN"]
    short = client.create_secret(Name="nexod/short", SecretString=base64.b64encode(b"short").decode())["ARN"]
    # When the broker reads it, Then both forms give the key, and a short key is refused
    assert secrets_manager_broker_key(client, plain) == key
    assert secrets_manager_broker_key(client, wrapped) == key
    with pytest.raises(ValueError, match="at least 32 bytes"):
        secrets_manager_broker_key(client, short)


def test_the_local_broker_key_file_is_created_private_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    from nexod.adapters.broker_keys import local_broker_key

    path = tmp_path / "keys" / "broker.key"
    key = local_broker_key(path)
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert local_broker_key(path) == key  # stable across restarts
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        local_broker_key(path)


# The AgentLauncher function's environment as the CDK app sets it (cdk/nexod_cdk/constructs/orchestration.py),
# per profile: starter runs agents in its IPv6-only agent subnets, production in the app subnets behind NAT;
# neither gives the task a public IPv4 address (private subnets in both).
PROFILE_NETWORK = {"starter": ("10.0.8.0/24", "10.0.9.0/24"), "production": ("10.0.1.0/24", "10.0.2.0/24")}


@pytest.mark.parametrize("profile", sorted(PROFILE_NETWORK))
@mock_aws(config=MOTO_CONFIG)
def test_the_launcher_built_from_its_function_s_environment_sends_only_the_broker_to_the_task(profile: str) -> None:
    from nexod.adapters.launcher_ecs import ecs_launcher_from_environment

    # Given the profile's agent subnets and security group, the cluster and the agent task definition
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"] for cidr in PROFILE_NETWORK[profile]]
    sg = ec2.create_security_group(GroupName="agents", Description="agent runners", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", region_name="us-east-1")
    cluster = ecs.create_cluster(clusterName=f"nexod-{profile}-agents")["cluster"]["clusterArn"]
    definition = ecs.register_task_definition(
        family="nexod-agent-runner",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="3072",
        containerDefinitions=[
            {"name": "agent-runner", "image": "runner:1", "essential": True, "cpu": 1024, "memory": 3072}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    # And the launcher function's environment, which also holds what the task must never see
    environ = {
        "NEXOD_AGENT_CLUSTER_ARN": cluster,
        "NEXOD_AGENT_TASK_DEFINITION_ARN": definition,
        "NEXOD_AGENT_CONTAINER": "agent-runner",
        "NEXOD_AGENT_SUBNETS": ",".join(subnets),
        "NEXOD_AGENT_SECURITY_GROUPS": sg,
        "NEXOD_AGENT_ASSIGN_PUBLIC_IP": "false",
        "NEXOD_BROKER_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:broker-key",
        "NEXOD_DATABASE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-app",
        **SECRETS,
    }
    sent: list[dict[str, Any]] = []
    ecs.meta.events.register("before-call.ecs.RunTask", lambda params, **_: sent.append(json.loads(params["body"])))
    launcher = ecs_launcher_from_environment(ecs, environ)
    # When it launches one agent task (moto records and validates the call, then fails building the ENI)
    with pytest.raises(AttributeError, match="private_dns_name"):
        launcher.launch(LAUNCH)
    # Then RunTask names the deployment's task definition in its cluster, on Fargate
    (request,) = sent
    assert request["taskDefinition"] == definition and request["cluster"] == cluster
    assert request["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    # And the profile's subnets with the agent security group, without a public IP
    assert request["networkConfiguration"] == {
        "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg], "assignPublicIp": "DISABLED"}
    }
    # And the container's overrides are the broker URL and the token, nothing else
    (override,) = request["overrides"]["containerOverrides"]
    assert set(override) == {"name", "environment"} and override["name"] == "agent-runner"
    assert override["environment"] == [
        {"name": "NEXOD_BROKER_URL", "value": LAUNCH.broker_url},
        {"name": "NEXOD_BROKER_TOKEN", "value": LAUNCH.token},
    ]
    # And nothing of the launcher's own environment (database, broker key, provider keys) is in the request
    body = json.dumps(request)
    for name in ("NEXOD_DATABASE_SECRET_ARN", "NEXOD_BROKER_KEY_SECRET_ARN", *SECRETS):
        assert name not in body and environ[name] not in body, name
    assert "taskRoleArn" not in body and "executionRoleArn" not in body  # the definition's roles, not overrides


def test_the_launcher_environment_must_name_everything_a_launch_needs() -> None:
    from nexod.adapters.launcher_ecs import ecs_launcher_from_environment

    # Given a launcher environment without subnets
    environ = {
        "NEXOD_AGENT_CLUSTER_ARN": "c",
        "NEXOD_AGENT_TASK_DEFINITION_ARN": "t",
        "NEXOD_AGENT_SECURITY_GROUPS": "sg",
    }
    # When the launcher is built, Then it names the missing setting
    with pytest.raises(ValueError, match="NEXOD_AGENT_SUBNETS"):
        ecs_launcher_from_environment(None, environ)
    # And a profile that asks for a public address gets it (assignPublicIp ENABLED)
    launcher = ecs_launcher_from_environment(
        None, {**environ, "NEXOD_AGENT_SUBNETS": "a, b", "NEXOD_AGENT_ASSIGN_PUBLIC_IP": "true"}
    )
    assert launcher.subnets == ["a", "b"] and launcher.assign_public_ip is True


@mock_aws(config=MOTO_CONFIG)
def test_a_key_generated_like_the_stack_s_broker_key_decodes_to_at_least_32_bytes() -> None:
    import secrets
    import string

    from nexod.adapters.broker_keys import secrets_manager_broker_key

    # Given a secret generated as the CDK stack asks Secrets Manager to (48 characters of [A-Za-z0-9])
    alphabet = string.ascii_letters + string.digits
    generated = "".join(secrets.choice(alphabet) for _ in range(48))
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(Name="nexod/starter/broker-key", SecretString=generated)["ARN"]
    # When the launcher or the broker reads it, Then it is a key of 36 bytes (48 base64 digits)
    assert len(secrets_manager_broker_key(client, arn)) == 36
