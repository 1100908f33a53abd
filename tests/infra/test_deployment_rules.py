"""What the adversarial review of the templates asked for, each as a property of the synthesized app:
routes, alarms, retention, prefixes, callbacks, TLS to the database, image lifecycle, flow role, and
acknowledgements that name constructs that exist."""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

from .conftest import PROFILES, REPO, Synth, as_list, resources, role_policies
from .iam import Need, Resolver, _wildcard, decide, role_statements

pytestmark = pytest.mark.infra
ACCOUNT, REGION = "123456789012", "us-east-1"


# -- routes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_only_v1_routes_exist_and_only_health_and_webhooks_are_public_with_their_own_throttle(
    synth: Synth, profile: str
) -> None:
    from nexod_cdk import constants as c

    t = synth.template(profile, "App")
    # Given every route of the HTTP API
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in resources(t, "AWS::ApiGatewayV2::Route").values()}
    # Then only what the handler serves is routed: /v1 behind the JWT, GET /v1/health and the webhook door
    # (signed per trigger) without it
    assert set(routes) == {f"ANY {c.API_ROUTE_PATH}", c.HEALTH_ROUTE, c.HOOK_ROUTE}
    assert routes[f"ANY {c.API_ROUTE_PATH}"]["AuthorizationType"] == "JWT"
    assert routes[c.HEALTH_ROUTE]["AuthorizationType"] == "NONE"
    assert routes[c.HOOK_ROUTE]["AuthorizationType"] == "NONE"
    # And the public route has a throttle of its own, well below the stage's
    (stage,) = resources(t, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["RouteSettings"]
    default = stage["Properties"]["DefaultRouteSettings"]
    health = settings[c.HEALTH_ROUTE]
    assert health["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
    assert health["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    assert f"ANY {c.API_ROUTE_PATH}" in settings
    hook = settings[c.HOOK_ROUTE]
    assert hook["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
    assert hook["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]


# -- alarms ------------------------------------------------------------------------------------------
def _config(profile: str, **context: str) -> Any:
    from aws_cdk import App

    from nexod_cdk.config import from_context

    app = App(context={f"nexod:{k}": v for k, v in context.items()})
    return from_context(app.node, profile)


def test_production_refuses_to_deploy_without_an_alarm_email() -> None:
    from nexod_cdk.config import ConfigError

    # Given a real account (not the offline synth's) and no alarm email
    # When production is configured / Then it refuses, naming the key to pass
    with pytest.raises(ConfigError, match="nexod:alarmEmail"):
        _config("production", account="111122223333")
    # And a malformed address is refused too
    with pytest.raises(ConfigError, match="email"):
        _config("production", account="111122223333", alarmEmail="ops")
    # While starter accepts none (alarms reach the topic; documented) and production accepts one
    assert _config("starter", account="111122223333").alarm_email is None
    assert _config("production", account="111122223333", alarmEmail="ops@example.com").alarm_email


@pytest.mark.parametrize("profile", PROFILES)
def test_alarms_cover_the_database_and_go_to_an_encrypted_topic(synth: Synth, profile: str) -> None:
    t = synth.template(profile, "App")
    # Given the alarm topic
    (topic_id, topic) = next(iter(resources(t, "AWS::SNS::Topic").items()))
    # Then it is encrypted with a customer key that CloudWatch may use
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0] in resources(t, "AWS::KMS::Key")
    alarms = resources(t, "AWS::CloudWatch::Alarm").values()
    metrics = {a["Properties"].get("MetricName") for a in alarms}
    # And the database's capacity and connections are watched
    assert {"ServerlessDatabaseCapacity", "DatabaseConnections"} <= metrics
    # And every alarm notifies the topic
    for alarm in alarms:
        assert {"Ref": topic_id} in alarm["Properties"]["AlarmActions"]
    never_paused = [a for a in alarms if "has not paused" in a["Properties"].get("AlarmDescription", "")]
    assert len(never_paused) == (1 if profile == "starter" else 0)


def test_production_subscribes_the_alarm_email(synth: Synth) -> None:
    t = synth.template("production", "App")
    subs = [s["Properties"] for s in resources(t, "AWS::SNS::Subscription").values()]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", synth.configs["production"].alarm_email)]


# -- prefixes ----------------------------------------------------------------------------------------
def test_a_prefix_with_a_dash_is_refused() -> None:
    from nexod_cdk.config import ConfigError

    # Given `nexod` deployed, `nexod-prod` would be covered by `nexod-*` rights: refused with the reason
    with pytest.raises(ConfigError, match="no '-'"):
        _config("starter", prefix="nexod-prod")


def _names(prefix: str, profile: str) -> dict[str, tuple[str, str]]:
    """(IAM pattern a deployment is granted, a resource name of that deployment) per kind of resource."""
    cfg = _config(profile, prefix=prefix)
    sm = cfg.state_machine_prefix
    return {
        "state machine": (f"stateMachine:{sm}-*", f"stateMachine:{sm}-0a1b2c3d-flow"),
        "execution": (f"execution:{sm}-*", f"execution:{sm}-0a1b2c3d-flow:run"),
        "schedule": (f"schedule/{sm}/*", f"schedule/{sm}/s1"),
        "secret": (f"secret:{cfg.workspace_secret_prefix}/*", f"secret:{cfg.workspace_secret_prefix}/w/c-AbCdEf"),
    }


def test_no_deployment_s_rights_cover_another_deployment_s_names() -> None:
    # Given deployments whose prefixes are prefixes of each other (all valid now)
    prefixes = ["nexod", "nexodprod", "nexodstarter", "nexo", "n1", "nexodproduction"]
    deployments = [(p, prof) for p in prefixes for prof in PROFILES]
    # When one deployment's grant patterns are matched against another's resource names
    for a, b in itertools.permutations(deployments, 2):
        mine, theirs = _names(*a), _names(*b)
        for kind, (pattern, _) in mine.items():
            # Then no pattern matches a name of the other deployment
            assert not _wildcard(pattern, theirs[kind][1]), f"{a} {kind} rights cover {b}"
            assert _wildcard(pattern, mine[kind][1])


# -- retention ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_log_groups_and_secrets_are_kept_on_teardown(synth: Synth, profile: str) -> None:
    for stack in ("Data", "App"):
        t = synth.template(profile, stack)
        for kind in ("AWS::Logs::LogGroup", "AWS::SecretsManager::Secret", "AWS::KMS::Key"):
            for logical, res in resources(t, kind).items():
                if logical.startswith("ObservabilityTopicKey"):
                    continue  # the alarm topic's key encrypts no data: it goes with the topic
                # Then each is retained
                assert res.get("DeletionPolicy") == "Retain", f"{profile}-{stack} {logical}"
                # And a retained named log group carries the stack's id, so a redeploy can recreate it
                name = res["Properties"].get("LogGroupName")
                assert name is None or not isinstance(name, str), f"{logical}: fixed name {name}"


# -- Cognito callbacks -------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_production_accepts_no_localhost_callback(synth: Synth, profile: str) -> None:
    t = synth.template(profile, "App")
    (client,) = resources(t, "AWS::Cognito::UserPoolClient").values()
    urls = json.dumps([client["Properties"]["CallbackURLs"], client["Properties"]["LogoutURLs"]])
    assert ("localhost" in urls) == (profile == "starter"), urls
    assert "example.invalid" not in urls


# -- TLS to the database -----------------------------------------------------------------------------
def test_the_functions_verify_the_database_certificate_and_name() -> None:
    from nexod.wiring import conninfo_from_secret, rds_ca_bundle

    # Given an RDS-format secret
    url = conninfo_from_secret({"username": "u", "password": "p@ss", "host": "db.cluster-x.rds.amazonaws.com"})
    # Then libpq verifies the chain against the shipped RDS CAs and the host name
    assert "sslmode=verify-full" in url
    assert f"sslrootcert={rds_ca_bundle()}" in url and rds_ca_bundle().is_file()


def test_the_shipped_rds_ca_bundle_holds_every_region_s_g1_roots() -> None:
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    from nexod.wiring import rds_ca_bundle

    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", rds_ca_bundle().read_text(), re.S)
    with warnings.catch_warnings():  # the expired 2019 CAs have negative serials (still loadable)
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        names = {x509.load_pem_x509_certificate(p.encode()).subject.rfc4514_string() for p in pems}
    for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1"):
        for kind in ("RSA2048", "RSA4096", "ECC384"):
            assert any(f"Amazon RDS {region} Root CA {kind} G1" in n for n in names), (region, kind)


def test_the_committed_rds_ca_bundle_is_what_the_pinned_package_ships() -> None:
    import sys

    sys.path.insert(0, str(REPO / "cdk"))
    import rds_ca

    if not rds_ca.PACKAGE.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("cdk/node_modules is missing under CI: run `npm ci` in cdk/")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO / "cdk", check=True)
    assert rds_ca.BUNDLE.read_text() == rds_ca.bundle_text(), "regenerate with `python cdk/rds_ca.py`"


def test_the_core_layer_ships_the_rds_ca_bundle(synth: Synth) -> None:
    found = list(synth.outdir.glob("asset.*/python/nexod/adapters/postgres/rds-ca-bundle.pem"))
    assert found, "the core layer has no RDS CA bundle"


def test_the_core_layer_ships_the_connection_pool(synth: Synth) -> None:
    # Given the synthesized core layer / Then psycopg_pool (a main dependency, pure Python) is in it
    assert list(synth.outdir.glob("asset.*/python/psycopg_pool/pool.py")), "the core layer has no psycopg_pool"


def test_the_core_layer_ships_no_test_doubles(synth: Synth) -> None:
    # Given the synthesized core layer / Then it has the package but not `nexod.testing` (stub LLM, benchmarks)
    assert list(synth.outdir.glob("asset.*/python/nexod/domain/compiler.py")), "no core layer in the assembly"
    assert not list(synth.outdir.glob("asset.*/python/nexod/testing"))


# -- images ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_agent_images_go_to_a_repository_with_a_lifecycle_rule(synth: Synth, profile: str) -> None:
    data = synth.template(profile, "Data")
    (repo,) = resources(data, "AWS::ECR::Repository").values()
    rules = json.loads(repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert any(r["selection"]["countType"] == "imageCountMoreThan" for r in rules)
    assets = json.loads((synth.outdir / f"Nexod-{profile}-App.assets.json").read_text())
    targets = {d["repositoryName"] for img in assets["dockerImages"].values() for d in img["destinations"].values()}
    assert targets == {repo["Properties"]["RepositoryName"]}


# -- the agent task (untrusted tools) -----------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_the_agent_task_has_no_database_secret_and_no_route_to_the_database(synth: Synth, profile: str) -> None:
    app, data = synth.template(profile, "App"), synth.template(profile, "Data")
    (task,) = resources(app, "AWS::ECS::TaskDefinition").values()
    env = {e["Name"] for c in task["Properties"]["ContainerDefinitions"] for e in c.get("Environment", [])}
    assert not any("DATABASE" in name for name in env)
    for st in role_policies(app, "OrchestrationAgentTaskTaskRole"):
        assert not any(a.startswith(("secretsmanager:", "rds")) for a in as_list(st["Action"]))
    agent_sgs = [k for k in resources(data, "AWS::EC2::SecurityGroup") if k.startswith("NetworkAgentSg")]
    assert len(agent_sgs) == 1
    ingress = [r["Properties"] for r in resources(data, "AWS::EC2::SecurityGroupIngress").values()]
    assert all(agent_sgs[0] not in json.dumps(r.get("SourceSecurityGroupId")) for r in ingress)


# -- the flow role --------------------------------------------------------------------------------------
def _tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for st in states.values():
        if st["Type"] == "Task":
            found.append(st)
        for branch in st.get("Branches", []):
            found += _tasks(branch["States"])
        if "ItemProcessor" in st:
            found += _tasks(st["ItemProcessor"]["States"])
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_the_flow_role_may_invoke_what_the_compiled_asl_calls_and_nothing_else(synth: Synth, profile: str) -> None:
    from nexod.domain.compiler import substitute

    app, data = synth.template(profile, "App"), synth.template(profile, "Data")
    resolver = Resolver(app, account=ACCOUNT, region=REGION, others=[data])
    _, raw = role_statements(app, "OrchestrationStateMachineRole")
    statements = resolver.value(raw)
    from nexod.domain.nodes import Runtime

    runners = {
        Runtime.CORE: resolver.value({"Fn::GetAtt": [_logical(app, "RuntimeNodeRunner"), "Arn"]}),
        Runtime.LLM: resolver.value({"Fn::GetAtt": [_logical(app, "RuntimeLlmRunner"), "Arn"]}),
    }
    # Given every golden ASL, as published (each runtime's runner ARN substituted)
    invoked = set()
    for path in sorted((REPO / "statemachines" / "golden").glob("*.asl.json")):
        asl = substitute(json.loads(path.read_text()), runners)
        for task in _tasks(asl["States"]):
            # Then each Task's function invocation is allowed to the flow role
            need = Need("lambda:InvokeFunction", task["Parameters"]["FunctionName"])
            invoked.add(need.resource)
            assert decide(statements, need, {}).allowed, (path.name, need)
    # And the goldens reach both runners, so both grants were checked
    assert invoked == set(runners.values())
    # And another function of the account, or a runner's alias, is not
    other = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:someone-else"
    assert not decide(statements, Need("lambda:InvokeFunction", other), {}).allowed
    for runner in runners.values():
        assert not decide(statements, Need("lambda:InvokeFunction", f"{runner}:live"), {}).allowed


def _logical(template: dict[str, Any], prefix: str) -> str:
    (found,) = [k for k, v in resources(template, "AWS::Lambda::Function").items() if k.startswith(prefix)]
    return found


# -- acknowledgements -----------------------------------------------------------------------------------
def test_every_nag_acknowledgement_names_a_construct_that_exists(synth: Synth) -> None:
    from nexod_cdk.nag import ACKS

    # Given the construct paths of every stack of both profiles
    tree = json.loads((synth.outdir / "tree.json").read_text())
    paths: dict[str, set[str]] = {}

    def walk(node: dict[str, Any]) -> None:
        path = node.get("path", "")
        if path.startswith("Nexod-"):
            stack, _, below = path.partition("/")
            paths.setdefault(stack, set()).add(below)
        for child in (node.get("children") or {}).values():
            walk(child)

    walk(tree["tree"])
    # Then each acknowledgement's path matches a construct in every profile it is declared for
    for ack in ACKS:
        for profile in ack.profiles:
            below = paths[f"Nexod-{profile}-App"] | paths[f"Nexod-{profile}-Data"]
            assert any(fnmatch.fnmatchcase(p, ack.path) for p in below), f"stale acknowledgement {ack.path} ({profile})"


def test_security_doc_lists_the_current_acknowledgements() -> None:
    from nexod_cdk.nag import markdown

    assert markdown() in (REPO / "docs" / "security.md").read_text(), "regenerate the table in docs/security.md"


# -- the cost model's promise --------------------------------------------------------------------------
def test_the_starter_idle_figure_states_its_assumptions_and_stays_under_5_dollars(synth: Synth) -> None:
    import sys

    sys.path.insert(0, str(REPO / "cdk"))
    import cost

    # Given the starter templates as synthesized
    lines = cost.idle_lines(synth.template("starter", "Data"), synth.template("starter", "App"))
    by_what = {line.what: line for line in lines}
    # Then the ECR line is the lifecycle rule's upper bound, not one image
    (ecr,) = [line for what, line in by_what.items() if what.startswith("agent images in ECR")]
    assert "lifecycle keeps" in ecr.what and ecr.quantity == pytest.approx(5 * cost.AGENT_IMAGE_GB)
    # And the Aurora awake-hours assumption is a line of its own, with what breaking it costs
    (awake,) = [line for what, line in by_what.items() if what.startswith("Aurora awake outside runs")]
    assert "ASSUMPTION" in awake.note and "never pausing" in awake.note
    # And the total keeps the starter promise
    assert sum(line.monthly for line in lines) < 5.0


# -- the other auth provider ------------------------------------------------------------------------------
def test_clerk_synthesizes_clean_for_both_profiles(tmp_path_factory: pytest.TempPathFactory) -> None:
    import sys

    from nexod_cdk.app_builder import build_app

    # Given Clerk chosen in context, both profiles, cdk-nag on (a finding fails synth)
    outdir = tmp_path_factory.mktemp("cdk.out.clerk")
    context = {"nexod:auth": "clerk", "nexod:jwtIssuer": "https://clerk.example.com", "nexod:jwtAudience": "nexod"}
    app, _ = build_app(outdir=str(outdir), context=context, profiles=["all"])
    # When it synthesizes
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    # Then no plugin reports a violation, and cfn-lint finds no error in any template
    assert all(p["conclusion"] == "success" and not p["violations"] for p in report["pluginReports"])
    templates = sorted(str(p) for p in outdir.glob("*.template.json"))
    assert len(templates) == 4
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run(
        [str(lint), "--format", "parseable", "--non-zero-exit-code", "error", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
