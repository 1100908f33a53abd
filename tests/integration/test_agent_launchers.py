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
