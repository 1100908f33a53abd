"""Each function's own AWS calls, made by the project's adapters against moto, under the IAM policy CDK
synthesized for that function's role (tests/infra/iam.py evaluates it as AWS would).

A call the role does not allow fails here with the AccessDenied error AWS would answer, so "works in
moto, denied in the account" (publishing a second version called ListStateMachines) cannot pass again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from nexod.adapters.vault_secretsmanager import SecretsManagerVault, TaggedReaders
from nexod.domain.errors import VaultUnavailable

from .conftest import PROFILES, Synth
from .iam import (
    Account,
    Enforcer,
    Need,
    Principal,
    Resolver,
    decide,
    enforced,
    function_logical_id,
    role_statements,
    template_roles,
)

pytestmark = pytest.mark.infra

ACCOUNT, REGION = "123456789012", "us-east-1"  # the offline synth's environment, and moto's default
WORKSPACE = "3f0c2a9e-5b7d-4c1e-9a2f-0d6b8e4c7a11"
PAYLOAD_RUN = "5e6f7a8b-0000-4000-8000-00000000a11e"  # a run whose large output the API reads back
PAYLOAD = b'{"body":"' + b"x" * 300_000 + b'"}'
OTHER_WORKSPACE = "9d8c7b6a-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
STORED = "provider-key"  # a credential the API stored in both workspaces before the runners read it
STORED_VALUES = {WORKSPACE: {"api_key": "sk-own"}, OTHER_WORKSPACE: {"api_key": "sk-other-tenant"}}

# Function (logical id prefix of the function and of its role) -> what its code does with AWS.
FUNCTIONS = {
    "Api": ("RuntimeHandler", "RuntimeHandlerServiceRole"),
    "NodeRunner": ("RuntimeNodeRunner", "RuntimeNodeRunnerServiceRole"),
    "LlmRunner": ("RuntimeLlmRunner", "RuntimeLlmRunnerServiceRole"),
    "ExecutionEvents": ("RuntimeExecutionEvents", "RuntimeExecutionEventsServiceRole"),
    "Migrate": ("RuntimeMigrate", "RuntimeMigrateServiceRole"),
    "Broker": ("RuntimeBroker", "RuntimeBrokerServiceRole"),
    "AgentLauncher": ("RuntimeAgentLauncher", "RuntimeAgentLauncherServiceRole"),
    "RunStarter": ("RuntimeRunStarter", "RuntimeRunStarterServiceRole"),
    "Reminders": ("RuntimeReminders", "RuntimeRemindersServiceRole"),
    # Not yet the IngressConsumer: its code (functions/triggers/sqs_ingress.py) lands with the ingress branch.
}


@dataclass
class Function:
    name: str
    env: dict[str, str]
    statements: list[dict[str, Any]]
    role_arn: str

    def principal(self, drop: int | None = None) -> Principal:
        kept = [st for i, st in enumerate(self.statements) if i != drop]
        return Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.name}/test", kept, role_arn=self.role_arn)


@dataclass
class World:
    enforcer: Enforcer
    functions: dict[str, Function]
    app: dict[str, Any]
    resolver: Resolver


@pytest.fixture(params=PROFILES)
def world(synth: Synth, request: pytest.FixtureRequest) -> Iterator[World]:
    profile = str(request.param)
    app, data = synth.template(profile, "App"), synth.template(profile, "Data")
    from nexod.adapters import moto_glue

    # moto executes the ASL (version ARNs can be started, as on AWS); Tasks reach a no-op node runner.
    with mock_aws(config=moto_glue.MOTO_CONFIG):  # type: ignore[call-overload]
        moto_glue.install()
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # Given the database secrets the Data stack creates, created in moto under the same names
        sm = boto3.client("secretsmanager", region_name=REGION)
        overrides: dict[str, str] = {}
        base = Resolver(data, account=ACCOUNT, region=REGION)
        for logical, res in data["Resources"].items():
            if res["Type"] == "AWS::SecretsManager::Secret":
                name = base.value(res["Properties"]["Name"])
                secret = {"username": "nexod_app", "password": "pw", "host": "db.example", "port": 5432}
                overrides[logical] = sm.create_secret(Name=name, SecretString=json.dumps(secret))["ARN"]
        # And the payload bucket, created in moto under a valid name (its logical id is not one)
        s3 = boto3.client("s3", region_name=REGION)
        bucket_keys: dict[str, str] = {}
        for logical, res in data["Resources"].items():
            if res["Type"] == "AWS::S3::Bucket" and logical.startswith("PayloadsBucket"):
                name = f"nexod-payloads-{profile}"
                s3.create_bucket(Bucket=name)
                overrides[logical], overrides[f"{logical}.Arn"] = name, f"arn:aws:s3:::{name}"
                rule = res["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                bucket_keys[name] = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        assert bucket_keys, "the Data stack has no payload bucket"
        data_resolver = Resolver(data, account=ACCOUNT, region=REGION, overrides=overrides)
        bucket_keys = {name: data_resolver.value(key) for name, key in bucket_keys.items()}
        secret_keys = {
            data_resolver.value({"Ref": logical}): data_resolver.value(res["Properties"]["KmsKeyId"])
            for logical, res in data["Resources"].items()
            if res["Type"] == "AWS::SecretsManager::Secret" and "KmsKeyId" in res["Properties"]
        }
        # And the App stack's broker key (generated like the stack's: 48 base64 digits), created in moto
        app_secrets = {}
        for logical, res in app["Resources"].items():
            if res["Type"] == "AWS::SecretsManager::Secret":
                value = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(48))
                overrides[logical] = sm.create_secret(Name=f"{profile}-{logical}", SecretString=value)["ARN"]
                app_secrets[overrides[logical]] = res["Properties"]["KmsKeyId"]
        # And the agent cluster and task definition, created in moto under the template's names
        ecs = boto3.client("ecs", region_name=REGION)
        for logical, res in app["Resources"].items():
            if res["Type"] == "AWS::ECS::Cluster":
                name = res["Properties"]["ClusterName"]
                overrides[logical] = name
                overrides[f"{logical}.Arn"] = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
            if res["Type"] == "AWS::ECS::TaskDefinition":
                overrides[logical] = ecs.register_task_definition(
                    family=f"{profile}-agent-runner",
                    networkMode="awsvpc",
                    requiresCompatibilities=["FARGATE"],
                    cpu="1024",
                    memory="3072",
                    containerDefinitions=[
                        {"name": "agent-runner", "image": "runner:1", "essential": True, "cpu": 1024, "memory": 3072}
                    ],
                )["taskDefinition"]["taskDefinitionArn"]
        resolver = Resolver(app, account=ACCOUNT, region=REGION, others=[data], overrides=overrides)
        secret_keys.update({arn: resolver.value(key) for arn, key in app_secrets.items()})
        task_roles = {
            str(resolver.value({"Ref": logical})): [
                str(resolver.value(res["Properties"][k])) for k in ("ExecutionRoleArn", "TaskRoleArn")
            ]
            for logical, res in app["Resources"].items()
            if res["Type"] == "AWS::ECS::TaskDefinition"
        }
        account = Account(
            ACCOUNT,
            REGION,
            secret_keys=secret_keys,
            bucket_keys=bucket_keys,
            roles=template_roles(app, resolver),
            task_roles=task_roles,
        )
        functions = {}
        for name, (fn_prefix, role_prefix) in FUNCTIONS.items():
            fn = app["Resources"][function_logical_id(app, fn_prefix)]
            role, raw = role_statements(app, role_prefix)
            functions[name] = Function(
                name=name,
                env={k: str(v) for k, v in resolver.value(fn["Properties"]["Environment"]["Variables"]).items()},
                statements=resolver.value(raw),
                role_arn=str(resolver.value({"Fn::GetAtt": [role, "Arn"]})),
            )
        moto_glue.register(CALLBACK_PROBE, _callback_probe)
        moto_glue.register(functions["Api"].env["NEXOD_NODE_RUNNER_ARN"], _node_runner)
        moto_glue.register(functions["Api"].env["NEXOD_LLM_RUNNER_ARN"], _node_runner)
        # And the schedule groups (triggers; the starter's approval reminders), as the stack creates them
        scheduler = boto3.client("scheduler", region_name=REGION)
        groups = {
            f.env[key]
            for f in functions.values()
            for key in ("NEXOD_SCHEDULER_GROUP", "NEXOD_REMINDER_SCHEDULE_GROUP")
            if key in f.env
        }
        for group in sorted(groups):
            scheduler.create_schedule_group(Name=group)
        # And the deployment's run-events bus (the Triggers construct creates it)
        buses = {f.env["NEXOD_EVENT_BUS_NAME"] for f in functions.values() if "NEXOD_EVENT_BUS_NAME" in f.env}
        for bus in buses:
            boto3.client("events", region_name=REGION).create_event_bus(Name=bus)
        (bucket,) = bucket_keys
        for runner in ("NodeRunner", "LlmRunner", "Api"):
            assert functions[runner].env["NEXOD_BLOB_BUCKET"] == bucket
        s3.put_object(Bucket=bucket, Key=_payload_key(PAYLOAD_RUN), Body=PAYLOAD)  # written by a node runner
        with enforced(account) as enforcer:
            # And a credential in each of two workspaces, stored by the API (under its own policy)
            api = functions["Api"]
            with enforcer.acting_as(api.principal()):
                for workspace, value in STORED_VALUES.items():
                    _api_vault(api.env).put(workspace, STORED, value)
            enforcer.decisions.clear()
            _SETUP["enforcer"], _SETUP["api_env"] = enforcer, functions["Api"].env
            yield World(enforcer, functions, app, resolver)


# A node runner that holds a run's Tasks until that run was cancelled (moto cannot stop an execution
# whose worker has not started yet; AWS can): the cancel path then stops a RUNNING execution.
_GATES: dict[str, tuple[threading.Event, threading.Event]] = {}
_GATES_LOCK = threading.Lock()


def _gate(run_id: str) -> tuple[threading.Event, threading.Event]:
    """(entered, release) of one run."""
    with _GATES_LOCK:
        return _GATES.setdefault(run_id, (threading.Event(), threading.Event()))


def _node_runner(event: dict[str, Any]) -> dict[str, Any]:
    entered, release = _gate(str(event["run"]["id"]))
    entered.set()
    release.wait(10)
    return {"take": {}}


# A callback Task's Lambda (not IAM-checked: moto invokes it in-process) that records the token it was given.
CALLBACK_PROBE = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:callback-probe"
_TOKENS: dict[str, str] = {}
_SETUP: dict[str, Any] = {}


def _callback_probe(event: dict[str, Any]) -> dict[str, Any]:
    _TOKENS[str(event["run"])] = str(event["token"])
    return {}


def _waiting_token(env: dict[str, str], run_id: str) -> str:
    """A token a callback Task of this deployment's state machines waits for: set up with no role (as the
    flows' own executions would be), so only the completion is judged under the function's policy."""
    import time

    enforcer, api = _SETUP["enforcer"], _SETUP["api_env"]  # the API publishes the flows' machines
    with enforcer.acting_as(None):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        name = f"{api['NEXOD_STATE_MACHINE_PREFIX']}-callback-{uuid.uuid4().hex[:8]}"
        asl = {
            "StartAt": "ask",
            "States": {
                "ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {
                        "FunctionName": CALLBACK_PROBE,
                        "Payload": {"run": run_id, "token.$": "$$.Task.Token"},
                    },
                    "TimeoutSeconds": 60,
                    "End": True,
                }
            },
        }
        machine = sfn.create_state_machine(
            name=name, definition=json.dumps(asl), roleArn=api["NEXOD_STATE_MACHINE_ROLE_ARN"]
        )["stateMachineArn"]
        sfn.start_execution(stateMachineArn=machine, name=f"probe-{uuid.uuid4().hex[:8]}", input="{}")
        deadline = time.monotonic() + 10
        while run_id not in _TOKENS:
            assert time.monotonic() < deadline, "the callback Task never started"
            time.sleep(0.02)
    return _TOKENS.pop(run_id)


def callback_path(env: dict[str, str], run_id: str) -> None:
    """A callback node's token completed: by the API for a decision, by a runner for a node already finished
    (its memo), both through the project's orchestrator adapter."""
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator

    token = _waiting_token(env, run_id)
    # (as the runner's wiring builds it: only SendTaskSuccess is used, so no role is passed)
    orchestrator = StepFunctionsOrchestrator(boto3.client("stepfunctions", region_name=REGION), "")
    orchestrator.send_task_success(token, {"take": {}})


# -- what each function does with AWS (the project's own code, not hand-written boto3 calls) --------


def _definition(version: int) -> dict[str, Any]:
    """A small linear flow; each version differs (a changed definition publishes a new version)."""
    from nexod.domain.compiler import compile_flow
    from nexod.domain.validation import validate

    doc = {
        "nodes": [
            {"id": "start", "type": "input", "config": {}},
            {
                "id": "call",
                "type": "http",
                "name": f"call (version {version})",
                "config": {"url": "https://example.com"},
            },
            {"id": "done", "type": "output", "config": {}},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "done"}],
    }
    return compile_flow(validate(doc)).asl


def api_paths(env: dict[str, str], flow_id: str) -> None:
    """Publish twice (create, then new version of an existing machine), move `live`, start a run, cancel
    it, read its status, redrive it (a new execution of the run), and read the database secret."""
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
    from nexod.domain.compiler import substitute
    from nexod.services.flows import machine_name
    from nexod.services.runs import execution_input
    from nexod.settings import Settings
    from nexod.wiring import database_conninfo, runner_arns

    orchestrator = StepFunctionsOrchestrator(
        boto3.client("stepfunctions", region_name=REGION),
        env["NEXOD_STATE_MACHINE_ROLE_ARN"],
        env["NEXOD_STATE_MACHINE_LOG_GROUP_ARN"],
    )

    class Prefix:
        state_machine_prefix = env["NEXOD_STATE_MACHINE_PREFIX"]

    name = machine_name(Prefix(), WORKSPACE, flow_id)  # type: ignore[arg-type]
    runners = runner_arns(
        Settings(node_runner_arn=env["NEXOD_NODE_RUNNER_ARN"], llm_runner_arn=env["NEXOD_LLM_RUNNER_ARN"])
    )
    first = orchestrator.publish(name, substitute(_definition(1), runners), "version 1")
    orchestrator.set_live(first.state_machine_arn, first.version_arn)
    second = orchestrator.publish(name, substitute(_definition(2), runners), "version 2")
    assert second.state_machine_arn == first.state_machine_arn and second.version_arn != first.version_arn
    orchestrator.set_live(second.state_machine_arn, second.version_arn)

    run_id = str(uuid.uuid4())
    entered, release = _gate(run_id)
    execution = orchestrator.start(second.version_arn, run_id, execution_input(WORKSPACE, run_id))
    try:
        assert entered.wait(10), "the execution never reached the node runner"
        orchestrator.stop(execution, "cancelled by a test")
        # moto aborts asynchronously (and may report the stopped Task as FAILED): the status is readable
        assert orchestrator.status(execution) in ("ABORTED", "RUNNING", "FAILED")
    finally:
        release.set()
    again = orchestrator.start(second.version_arn, f"{run_id}-r1", execution_input(WORKSPACE, run_id))
    assert again != execution
    database_conninfo(Settings(database_secret_arn=env["NEXOD_DATABASE_SECRET_ARN"], region=REGION))


def _payload_key(run_id: str) -> str:
    import hashlib

    from nexod.runtime.blobs import blob_key

    return blob_key(WORKSPACE, run_id, "fetch", 0, hashlib.sha256(PAYLOAD).hexdigest())


def _blob_store(env: dict[str, str]) -> Any:
    from nexod.settings import Settings
    from nexod.wiring import blob_store_from_settings

    settings = Settings(
        blob_bucket=env["NEXOD_BLOB_BUCKET"], blob_kms_key_arn=env["NEXOD_BLOB_KMS_KEY_ARN"], region=REGION
    )
    return blob_store_from_settings(settings)


def api_and_payload_paths(env: dict[str, str], flow_id: str) -> None:
    """The API's state machine paths, then reading a large node output back for GET .../nodes."""
    from nexod.ports import BlobRef
    from nexod.runtime.blobs import hydrate

    api_paths(env, flow_id)
    key = _payload_key(PAYLOAD_RUN)
    ref = BlobRef(key, len(PAYLOAD), key.rsplit("/", 1)[1].removesuffix(".json"))
    assert hydrate(_blob_store(env), WORKSPACE, PAYLOAD_RUN, ref) == {"body": "x" * 300_000}


def _api_vault(env: dict[str, str]) -> SecretsManagerVault:
    """The API's vault: manages credentials with its own client, has no reader (DESIGN §7)."""
    return SecretsManagerVault(
        env["NEXOD_WORKSPACE_SECRET_PREFIX"],
        boto3.client("secretsmanager", region_name=REGION),
        None,
        kms_key_id=env["NEXOD_SECRETS_KMS_KEY_ARN"],
    )


def _readers(env: dict[str, str]) -> TaggedReaders:
    """A runner's readers: the workspace-secrets reader role assumed with the workspace session tag."""
    return TaggedReaders(
        boto3.client("sts", region_name=REGION),
        env["NEXOD_WORKSPACE_SECRETS_ROLE_ARN"],
        lambda **creds: boto3.client("secretsmanager", region_name=REGION, **creds),
    )


def _runner_vault(env: dict[str, str]) -> SecretsManagerVault:
    return SecretsManagerVault(env["NEXOD_WORKSPACE_SECRET_PREFIX"], None, _readers(env))


def api_credentials_path(env: dict[str, str], flow_id: str) -> None:
    """Credentials routes: create, rotate, delete, and create again under the same name (a restore)."""
    vault, name = _api_vault(env), f"cred-{flow_id}"
    vault.put(WORKSPACE, name, {"token": "one"})
    vault.put(WORKSPACE, name, {"token": "two"})
    vault.delete(WORKSPACE, name)
    vault.put(WORKSPACE, name, {"token": "three"})


def api_knowledge_path(env: dict[str, str], flow_id: str) -> None:
    """Knowledge-base routes: the API asks the LLM runner. moto runs no code and echoes the request, which
    the worker refuses as an answer: reaching that refusal means IAM let the invocation through (a denied
    one is "could not be invoked (AccessDenied...)")."""
    from nexod.adapters.knowledge_lambda import LambdaKnowledgeWorker
    from nexod.domain.errors import KnowledgeUnavailable
    from nexod.domain.records import KnowledgeBase

    kb = KnowledgeBase(
        id=flow_id,
        name="kb",
        description="",
        embedding_model="wordllama",
        dimensions=256,
        store="pgvector",
        pinecone=None,
        created_by="t",
        created_at=None,  # type: ignore[arg-type]
    )
    worker = LambdaKnowledgeWorker(boto3.client("lambda", region_name=REGION), env["NEXOD_LLM_RUNNER_ARN"])
    try:
        worker.forget(WORKSPACE, kb, flow_id)
    except KnowledgeUnavailable as exc:
        if "answered neither ok nor error" not in exc.message:
            raise


def api_trigger_paths(env: dict[str, str], flow_id: str) -> None:
    """Triggers (issue 12): a schedule trigger created, changed and deleted (EventBridge Scheduler, passing
    the Scheduler role), and a webhook's key stored, then read by the webhook door's own vault."""
    from datetime import UTC, datetime

    from nexod.domain.triggers import ScheduleConfig
    from nexod.settings import Settings
    from nexod.wiring import event_rules_from_settings, hook_vault_from_settings, scheduler_from_settings

    settings = Settings(
        scheduler_group=env["NEXOD_SCHEDULER_GROUP"],
        run_starter_arn=env["NEXOD_RUN_STARTER_ARN"],
        scheduler_role_arn=env["NEXOD_SCHEDULER_ROLE_ARN"],
        scheduler_dlq_arn=env["NEXOD_SCHEDULER_DLQ_ARN"],
        workspace_secret_prefix=env["NEXOD_WORKSPACE_SECRET_PREFIX"],
        region=REGION,
    )
    scheduler = scheduler_from_settings(settings)
    assert scheduler is not None
    start = datetime(2026, 12, 1, tzinfo=UTC)
    scheduler.put(WORKSPACE, flow_id, ScheduleConfig(expression="rate(5 minutes)", start_date=start))
    scheduler.put(WORKSPACE, flow_id, ScheduleConfig(expression="cron(0 9 * * ? *)", timezone="Europe/Berlin"))
    scheduler.delete(WORKSPACE, flow_id)
    # An eventbridge trigger's rule on the Nexod bus: put, disabled, deleted (the EventRules adapter)
    rules = event_rules_from_settings(
        Settings(
            event_bus_name=env["NEXOD_EVENT_BUS_NAME"],
            run_starter_arn=env["NEXOD_RUN_STARTER_ARN"],
            state_machine_prefix=env["NEXOD_STATE_MACHINE_PREFIX"],
            region=REGION,
        )
    )
    assert rules is not None
    bus = env["NEXOD_EVENT_BUS_NAME"]
    rules.put(WORKSPACE, flow_id, bus, {"source": [{"prefix": "shop."}]}, True)
    rules.put(WORKSPACE, flow_id, bus, {"source": ["shop"]}, False)
    rules.delete(WORKSPACE, flow_id, bus)
    hook = f"trigger.{flow_id}"
    _api_vault(env).put(WORKSPACE, hook, {"secret": "whsec"})
    reader = hook_vault_from_settings(settings)
    assert reader is not None
    assert reader.get(WORKSPACE, hook) == {"secret": "whsec"}


def reminder_clock_path(env: dict[str, str], approval_id: str, *, set_: bool, clear: bool) -> None:
    """The starter's approval reminders (no sweeper): a one-time schedule set (core runner, Reminders) or
    deleted (the API, on a final decision). Nothing where the profile sweeps."""
    from datetime import UTC, datetime, timedelta

    from nexod.settings import Settings
    from nexod.wiring import reminder_clock_from_settings

    if "NEXOD_REMINDER_SCHEDULE_GROUP" not in env:
        return
    settings = Settings(
        reminder_schedule_group=env["NEXOD_REMINDER_SCHEDULE_GROUP"],
        reminder_role_arn=env["NEXOD_REMINDER_ROLE_ARN"],
        reminders_function_arn=env.get("NEXOD_REMINDERS_FUNCTION_ARN"),
        region=REGION,
    )
    own = None if "NEXOD_REMINDERS_FUNCTION_ARN" in env else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reminders"
    clock = reminder_clock_from_settings(settings, own)
    assert clock is not None
    due = datetime.now(UTC) + timedelta(minutes=5)
    if set_:
        clock.set(WORKSPACE, approval_id, due)
    if clear:
        clock.clear(WORKSPACE, approval_id, due)


def api_all_paths(env: dict[str, str], flow_id: str) -> None:
    sweep_test_runs_path(env, str(uuid.uuid4()), stop=False)
    api_and_payload_paths(env, flow_id)
    api_credentials_path(env, flow_id)
    api_knowledge_path(env, flow_id)
    callback_path(env, flow_id)  # an approval decided
    reminder_clock_path(env, flow_id, set_=False, clear=True)  # ... and its waiting reminder deleted
    event_bus_path(env, flow_id)
    api_trigger_paths(env, flow_id)


def _published(env: dict[str, str], name: str) -> Any:
    """A state machine version the API published beforehand (not under the function's policy)."""
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator

    asl = {"StartAt": "done", "States": {"done": {"Type": "Pass", "End": True}}}
    with _SETUP["enforcer"].acting_as(None):  # the API published the flow
        publisher = StepFunctionsOrchestrator(
            boto3.client("stepfunctions", region_name=REGION), env["NEXOD_STATE_MACHINE_ROLE_ARN"]
        )
        return publisher.publish(name, asl, "version 1")


def _orchestrator(env: dict[str, str]) -> Any:
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator

    return StepFunctionsOrchestrator(
        boto3.client("stepfunctions", region_name=REGION),
        env["NEXOD_STATE_MACHINE_ROLE_ARN"],
        env.get("NEXOD_STATE_MACHINE_LOG_GROUP_ARN"),
    )


def start_execution_path(env: dict[str, str], run_id: str) -> None:
    """A run started on a flow's published version (a trigger's delivery, a run a concurrency limit held)."""
    from nexod.services.runs import execution_input

    machine = _published(env, f"{env['NEXOD_STATE_MACHINE_PREFIX']}-trg{uuid.uuid4().hex[:8]}")
    _orchestrator(env).start(machine.version_arn, run_id, execution_input(WORKSPACE, run_id))


def sweep_test_runs_path(env: dict[str, str], run_id: str, *, stop: bool) -> None:
    """Test runs of drafts past their retention: an old one still running stopped (the sweeper), its test
    snapshot's version deleted (the API after each test run; the sweeper)."""
    from nexod.services.runs import execution_input

    machine = _published(env, f"{env['NEXOD_STATE_MACHINE_PREFIX']}-test-{WORKSPACE[:8]}-{uuid.uuid4()}")
    orchestrator = _orchestrator(env)
    if stop:
        with _SETUP["enforcer"].acting_as(None):  # started by the API when the builder test-ran the draft
            execution = orchestrator.start(machine.version_arn, run_id, execution_input(WORKSPACE, run_id))
        # moto 5 cannot stop an execution of a version ARN (it never ran one): only an AccessDenied fails here
        try:
            orchestrator.stop(execution, "the test run's retention period ended")
        except ClientError as exc:
            if "AccessDenied" in exc.response["Error"]["Code"]:
                raise
        except AttributeError:
            pass
    # moto 5 has no DeleteStateMachineVersion: once IAM allowed the call, only an AccessDenied is a failure here
    try:
        orchestrator.delete_version(machine.version_arn)
    except ClientError as exc:
        if "AccessDenied" in exc.response["Error"]["Code"]:
            raise
    except NotImplementedError as exc:  # moto's own, after the enforcer allowed it; never the rules' own
        if "tests/infra/iam.py" in str(exc):
            raise


def run_starter_path(env: dict[str, str], run_id: str) -> None:
    """A trigger's delivery starts a run: the app secret, the execution of the flow's published version
    (published by the API beforehand), the run's event to the bus."""
    app_secret_path(env, run_id)
    start_execution_path(env, run_id)
    event_bus_path(env, run_id)


def reminders_path(env: dict[str, str], approval_id: str) -> None:
    """The Reminders function: the app secret, the link key it signs with, a chat webhook's credential
    through the workspace's reader, and (starter) the next reminder's one-time schedule."""
    from nexod.settings import Settings
    from nexod.wiring import approval_links_from_settings

    app_secret_path(env, approval_id)
    settings = Settings(approval_link_key_secret_arn=env["NEXOD_APPROVAL_LINK_KEY_SECRET_ARN"], region=REGION)
    assert approval_links_from_settings(settings) is not None
    runner_credentials_path(env, approval_id)
    reminder_clock_path(env, approval_id, set_=True, clear=False)
    if "NEXOD_STATE_MACHINE_PREFIX" in env:  # where it sweeps (production): expired test runs of drafts
        sweep_test_runs_path(env, str(uuid.uuid4()), stop=True)


def runner_credentials_path(env: dict[str, str], _run_id: str) -> None:
    """A node that uses a credential reads it at the moment of use, through its workspace's reader."""
    assert _runner_vault(env).get(WORKSPACE, STORED) == STORED_VALUES[WORKSPACE]


def node_runner_path(env: dict[str, str], run_id: str) -> None:
    """The app secret, a large node output written (SSE-KMS with the deployment key) and read back, and a
    workspace credential read through the tagged reader."""
    app_secret_path(env, run_id)
    event_bus_path(env, run_id)
    store = _blob_store(env)
    key = _payload_key(run_id)
    store.put(key, PAYLOAD)
    assert store.get(key) == PAYLOAD
    runner_credentials_path(env, run_id)
    callback_path(env, run_id)  # a finished callback node's new Task, completed from its memo


def core_runner_path(env: dict[str, str], run_id: str) -> None:
    """The core runner's paths, and (starter) an approval's first reminder scheduled after its notice."""
    node_runner_path(env, run_id)
    reminder_clock_path(env, run_id, set_=True, clear=False)


def event_bus_path(env: dict[str, str], flow_id: str) -> None:
    """Run lifecycle events relayed to the deployment's bus (the EventBridge adapter, as the functions
    build it from their settings)."""
    from nexod.adapters.eventbridge import EventBridgePublisher
    from nexod.ports import BusEvent
    from nexod.settings import Settings
    from nexod.wiring import event_publisher_from_settings

    publisher = event_publisher_from_settings(Settings(event_bus_name=env["NEXOD_EVENT_BUS_NAME"], region=REGION))
    assert isinstance(publisher, EventBridgePublisher)
    event = BusEvent(key=flow_id, source="nexod.run", detail_type="Run Status Change", detail={"status": "QUEUED"})
    if publisher.publish([event]) != {flow_id}:
        raise publisher.last_error or AssertionError("the bus refused the event")


def app_secret_path(env: dict[str, str], _flow_id: str) -> None:
    """Node runners and execution-events handler: their only AWS call is reading the app DB secret."""
    from nexod.settings import Settings
    from nexod.wiring import database_conninfo

    conninfo = database_conninfo(Settings(database_secret_arn=env["NEXOD_DATABASE_SECRET_ARN"], region=REGION))
    assert conninfo.startswith("postgresql://")


def execution_events_path(env: dict[str, str], flow_id: str) -> None:
    """The app DB secret, the reconciled run's status event to the bus, and a run a concurrency limit held
    started once the ended execution freed its slot."""
    app_secret_path(env, flow_id)
    event_bus_path(env, flow_id)
    start_execution_path(env, str(uuid.uuid4()))


def migrate_path(env: dict[str, str], _flow_id: str) -> None:
    """Migrations: the owner secret, then the app secret (its password becomes the app role's)."""
    from nexod.settings import Settings
    from nexod.wiring import _secret, database_conninfo

    settings = Settings(
        admin_database_secret_arn=env["NEXOD_ADMIN_DATABASE_SECRET_ARN"],
        database_secret_arn=env["NEXOD_DATABASE_SECRET_ARN"],
        region=REGION,
    )
    database_conninfo(settings, admin=True)
    assert _secret(env["NEXOD_DATABASE_SECRET_ARN"], REGION)["password"]


def broker_path(env: dict[str, str], run_id: str) -> None:
    """The agent broker: the app secret, its HMAC key, a tool's credential through the workspace's reader,
    and the agent task's token: heartbeats while the runner works, then its failure or its success."""
    from nexod.adapters.broker_keys import secrets_manager_broker_key
    from nexod.adapters.stepfunctions import StepFunctionsOrchestrator
    from nexod.ports import TaskGone

    app_secret_path(env, run_id)
    key = secrets_manager_broker_key(
        boto3.client("secretsmanager", region_name=REGION), env["NEXOD_BROKER_KEY_SECRET_ARN"]
    )
    assert len(key) >= 32
    runner_credentials_path(env, run_id)
    orchestrator = StepFunctionsOrchestrator(boto3.client("stepfunctions", region_name=REGION), "")
    failing = _waiting_token(env, run_id)
    # moto 5.2.5 answers InvalidToken to a heartbeat on a callback token: IAM judged the call before that.
    with contextlib.suppress(TaskGone):
        orchestrator.send_task_heartbeat(failing)
    orchestrator.send_task_failure(failing, "AgentError", "the runner reported a failure")
    orchestrator.send_task_success(_waiting_token(env, run_id + "-2"), {"output": {}})


def agent_launcher_path(env: dict[str, str], run_id: str) -> None:
    """The agent launcher: the app secret, the broker key it mints tokens with, a node runner's payload and
    run event, a memo hit's token completed, and ecs:RunTask of the agent task through EcsLauncher built from
    its environment (moto validates and records the call, then cannot build an awsvpc task's ENI)."""
    from nexod.adapters.broker_keys import secrets_manager_broker_key
    from nexod.adapters.launcher_ecs import ecs_launcher_from_environment
    from nexod.ports.agents import Launch, TaskScope

    app_secret_path(env, run_id)
    assert secrets_manager_broker_key(
        boto3.client("secretsmanager", region_name=REGION), env["NEXOD_BROKER_KEY_SECRET_ARN"]
    )
    event_bus_path(env, run_id)
    store = _blob_store(env)
    store.put(_payload_key(run_id), PAYLOAD)
    assert store.get(_payload_key(run_id)) == PAYLOAD
    callback_path(env, run_id)
    launcher = ecs_launcher_from_environment(boto3.client("ecs", region_name=REGION), env)
    launch = Launch(TaskScope(WORKSPACE, run_id, "crew", 0, 1), env["NEXOD_BROKER_URL"], "nxc1.claims.mac")
    # After IAM allowed it, moto refuses the template's subnets (not created here) or, given real ones, fails
    # building the ENI (moto 5.2.5, NOTES.md): only an AccessDenied is this path's failure.
    with contextlib.suppress(AttributeError):
        try:
            launcher.launch(launch)
        except ClientError as exc:
            if "AccessDenied" in exc.response["Error"]["Code"]:
                raise


PATHS: dict[str, Callable[[dict[str, str], str], None]] = {
    "AgentLauncher": agent_launcher_path,
    "Broker": broker_path,
    "Api": api_all_paths,
    "NodeRunner": core_runner_path,
    "RunStarter": run_starter_path,
    "Reminders": reminders_path,
    "LlmRunner": node_runner_path,
    "ExecutionEvents": execution_events_path,
    "Migrate": migrate_path,
}


@pytest.mark.parametrize("function", sorted(PATHS))
def test_each_function_s_aws_calls_pass_under_its_synthesized_policy(world: World, function: str) -> None:
    # Given the function's role policy as synthesized, enforced on every boto3 call
    fn = world.functions[function]
    # When its code paths run against moto
    with world.enforcer.acting_as(fn.principal()):
        PATHS[function](fn.env, "0b7e4c1a-6d2f-4e8a-9c3b-5f1d2e3a4b5c")
    # Then every call was allowed, and calls were really checked
    decisions = world.enforcer.decisions
    assert decisions, "no AWS call was evaluated: the hook is not attached"
    denied = [(d.need.action, d.need.resource) for d in decisions if not d.allowed]
    assert not denied, denied


@pytest.mark.parametrize("function", sorted(PATHS))
def test_removing_any_statement_the_function_uses_makes_its_path_fail(world: World, function: str) -> None:
    # Given the statements that granted the function's calls on a full run
    fn = world.functions[function]
    with world.enforcer.acting_as(fn.principal()):
        PATHS[function](fn.env, "1a2b3c4d-0000-4000-8000-000000000001")
    used = sorted(world.enforcer.granted())
    assert used
    for n, index in enumerate(used):
        # When one of them is removed from the synthesized policy
        world.enforcer.decisions.clear()
        with world.enforcer.acting_as(fn.principal(drop=index)), pytest.raises(Exception) as failed:
            PATHS[function](fn.env, f"1a2b3c4d-0000-4000-8000-{n + 2:012d}")
        # Then the same path fails with the error AWS answers (the vault reports it as VaultUnavailable)
        assert _access_denied(failed.value), (fn.statements[index], failed.value)


def _access_denied(exc: BaseException | None) -> bool:
    """A ClientError AccessDenied*, raised directly or behind the adapter's own error (its __context__)."""
    from nexod.domain.errors import KnowledgeUnavailable

    while exc is not None:
        if isinstance(exc, ClientError):
            return "AccessDenied" in exc.response["Error"]["Code"]
        if not isinstance(exc, VaultUnavailable | KnowledgeUnavailable):
            return False
        exc = exc.__cause__ or exc.__context__
    return False


def test_the_api_role_may_not_list_every_state_machine_of_the_account(world: World) -> None:
    # Given the API role (ListStateMachines has no resource-level scoping: it would list other tenants')
    api = world.functions["Api"]
    # When the old lookup-by-listing is evaluated against it
    decision = decide(api.statements, Need("states:ListStateMachines", "*"), {})
    # Then it is denied, which is why the adapter builds the ARN from the name
    assert not decision.allowed


# Actions a role holds for a reason no code path of the function shows, each with that reason.
NOT_FROM_CODE: dict[str, dict[str, str]] = {
    "*": {
        "xray:PutTraceSegments": "active tracing: the Lambda runtime sends the segments with the role",
        "xray:PutTelemetryRecords": "active tracing, as above",
    },
    "Api": {
        "logs:DeleteLogDelivery": "AWS lists it among the rights state machine logging needs (a changed destination)",
        "s3:ListBucket": "under ws/ only: S3 then answers 404 (a missing payload) instead of 403 for an absent key",
    },
    "NodeRunner": {
        "s3:ListBucket": "under ws/ only: S3 then answers 404 (a missing payload) instead of 403 for an absent key",
    },
    "LlmRunner": {
        "s3:ListBucket": "under ws/ only: S3 then answers 404 (a missing payload) instead of 403 for an absent key",
    },
    "AgentLauncher": {
        "s3:ListBucket": "under ws/ only: S3 then answers 404 (a missing payload) instead of 403 for an absent key",
    },
}


@pytest.mark.parametrize("function", sorted(PATHS))
def test_each_function_is_granted_no_action_its_code_does_not_need(world: World, function: str) -> None:
    # Given what the function's paths were allowed, statement by statement
    fn = world.functions[function]
    with world.enforcer.acting_as(fn.principal()):
        PATHS[function](fn.env, "2b3c4d5e-0000-4000-8000-000000000001")
    used = {(i, d.need.action.lower()) for d in world.enforcer.decisions if d.allowed for i in d.granted_by}
    reasons = {**NOT_FROM_CODE["*"], **NOT_FROM_CODE.get(function, {})}
    # When every action of every Allow statement of its role is looked up
    unused = [
        (st.get("Sid"), action)
        for i, st in enumerate(fn.statements)
        if st["Effect"] == "Allow"
        for action in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
        if (i, action.lower()) not in used and action not in reasons
    ]
    # Then none is granted without a path that needs it (or a stated reason)
    assert not unused, unused


# -- workspace credentials (DESIGN §7: write-only for the API, read per workspace by the runners) ----


def test_the_api_role_cannot_read_a_workspace_credential(world: World) -> None:
    # Given the API role, which stored the credential
    api = world.functions["Api"]
    name = SecretsManagerVault(api.env["NEXOD_WORKSPACE_SECRET_PREFIX"], None, None).secret_name(WORKSPACE, STORED)
    with world.enforcer.acting_as(api.principal()):
        # When it asks Secrets Manager for the value
        with pytest.raises(ClientError) as denied:
            boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=name)
        # Then AWS answers AccessDenied
        assert "AccessDenied" in denied.value.response["Error"]["Code"]
        # And it cannot take the reader's way round either: it may not assume the reader role
        with pytest.raises(VaultUnavailable, match="cannot assume the workspace secrets reader: AccessDenied"):
            _readers(api.env)(WORKSPACE)


@pytest.mark.parametrize("function", ["NodeRunner", "LlmRunner", "Broker"])
def test_a_runner_s_workspace_session_reads_only_its_own_workspace(world: World, function: str) -> None:
    # Given a runner's session of the reader role, tagged with WORKSPACE
    fn = world.functions[function]
    other = SecretsManagerVault(fn.env["NEXOD_WORKSPACE_SECRET_PREFIX"], None, None).secret_name(
        OTHER_WORKSPACE, STORED
    )
    with world.enforcer.acting_as(fn.principal()):
        session = _readers(fn.env)(WORKSPACE)
        # When it asks for the other workspace's credential of the same name
        with pytest.raises(ClientError) as denied:
            session.get_secret_value(SecretId=other)
        # Then AWS answers AccessDenied (the resource is `${aws:PrincipalTag/nexod:workspace}/*`)
        assert "AccessDenied" in denied.value.response["Error"]["Code"]
        assert OTHER_WORKSPACE in denied.value.response["Error"]["Message"]
        # And a session tagged with the other workspace does read it: the tag alone decided
        assert _runner_vault(fn.env).get(OTHER_WORKSPACE, STORED) == STORED_VALUES[OTHER_WORKSPACE]


@pytest.mark.parametrize("function", ["NodeRunner", "LlmRunner", "Broker"])
def test_a_runner_cannot_assume_the_reader_without_a_workspace_tag(world: World, function: str) -> None:
    # Given a runner role
    fn = world.functions[function]
    with world.enforcer.acting_as(fn.principal()), pytest.raises(ClientError) as denied:
        # When it assumes the reader role with no session tag (a session that would read no workspace)
        boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=fn.env["NEXOD_WORKSPACE_SECRETS_ROLE_ARN"], RoleSessionName="untagged"
        )
    # Then AWS answers AccessDenied
    assert "AccessDenied" in denied.value.response["Error"]["Code"]


@pytest.mark.parametrize("function", ["ExecutionEvents", "Migrate"])
def test_functions_that_use_no_credential_may_not_assume_the_reader(world: World, function: str) -> None:
    fn = world.functions[function]
    assert "NEXOD_WORKSPACE_SECRETS_ROLE_ARN" not in fn.env
    role_arn = world.functions["NodeRunner"].env["NEXOD_WORKSPACE_SECRETS_ROLE_ARN"]
    with world.enforcer.acting_as(fn.principal()), pytest.raises(VaultUnavailable, match="AccessDenied"):
        TaggedReaders(
            boto3.client("sts", region_name=REGION),
            role_arn,
            lambda **creds: boto3.client("secretsmanager", region_name=REGION, **creds),
        )(WORKSPACE)


@pytest.mark.parametrize("function", ["NodeRunner", "LlmRunner"])
def test_the_reader_role_holds_only_what_its_sessions_use_and_needs_all_of_it(world: World, function: str) -> None:
    # Given the reader role as synthesized, and a runner reading a credential through it
    fn = world.functions[function]
    reader = world.enforcer.account.roles[fn.env["NEXOD_WORKSPACE_SECRETS_ROLE_ARN"]]
    full = list(reader.statements)
    with world.enforcer.acting_as(fn.principal()):
        runner_credentials_path(fn.env, "")
    used = {(i, d.need.action.lower()) for d in world.enforcer.session_decisions if d.allowed for i in d.granted_by}
    # When every action of every statement of the role is looked up
    unused = [
        (st.get("Sid"), action)
        for i, st in enumerate(full)
        for action in as_actions(st)
        if (i, action.lower()) not in used
    ]
    # Then each one was used by the session
    assert not unused, unused
    # And removing any statement makes the read fail with AccessDenied
    try:
        for index in sorted({i for i, _ in used}):
            reader.statements = [st for i, st in enumerate(full) if i != index]
            with world.enforcer.acting_as(fn.principal()), pytest.raises(VaultUnavailable) as failed:
                runner_credentials_path(fn.env, "")
            assert _access_denied(failed.value), full[index]
    finally:
        reader.statements = full


def as_actions(st: dict[str, Any]) -> list[str]:
    return st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
