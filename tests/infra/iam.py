"""IAM as AWS would apply it, offline: the policies CDK synthesized for a function's role, resolved to
concrete ARNs, evaluated for every AWS call the function's own code makes while moto serves the call.

Why not moto's own IAM enforcement (`set_initial_no_auth_action_count`): moto authorizes Step Functions,
Secrets Manager, EventBridge, Scheduler and STS calls against `Resource: "*"` only, so every statement
scoped to an ARN (all of ours) would deny, and it evaluates no `iam:PassRole`, `kms:ViaService` or log
delivery side-permissions. This module evaluates Allow/Deny, Action/NotAction, Resource/NotResource,
policy variables and the condition operators our policies use, and refuses to guess about anything else
(an unknown operator or an AWS call it has no rule for fails the test instead of passing it).

A denied call gets the same answer AWS gives (`AccessDeniedException` / `AccessDenied`), raised by the
real boto3 client, so the code under test sees exactly what it would see in the account.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

# -- resolving CloudFormation expressions ---------------------------------------------------------


class Resolver:
    """Turns Ref / Fn::GetAtt / Fn::Join / Fn::ImportValue into the names the test created in moto."""

    def __init__(
        self,
        template: dict[str, Any],
        *,
        account: str,
        region: str,
        others: list[dict[str, Any]] | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.template = template
        self.account = account
        self.region = region
        self.others = others or []
        # "LogicalId" (Ref) or "LogicalId.Arn" (GetAtt) -> what moto really created
        self.overrides = overrides or {}

    def value(self, expr: Any) -> Any:
        if isinstance(expr, str | int | float | bool) or expr is None:
            return expr
        if isinstance(expr, list):
            return [self.value(e) for e in expr]
        if not isinstance(expr, dict) or len(expr) != 1:
            return {k: self.value(v) for k, v in expr.items()} if isinstance(expr, dict) else expr
        ((fn, arg),) = expr.items()
        if fn == "Ref":
            return self._ref(arg)
        if fn == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self._get_att(logical, attr)
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(self.value(p)) for p in parts)
        if fn == "Fn::Select":
            index, items = arg
            return self.value(items)[int(self.value(index))]
        if fn == "Fn::Split":
            sep, text = arg
            return str(self.value(text)).split(sep)
        if fn == "Fn::ImportValue":
            return self._import(str(self.value(arg)))
        if fn.startswith("Fn::") or fn == "Ref":
            raise NotImplementedError(f"cannot resolve {fn} in {expr}")
        return {k: self.value(v) for k, v in expr.items()}

    def _import(self, name: str) -> Any:
        for other in self.others:
            for output in other.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == name:
                    return Resolver(other, account=self.account, region=self.region, overrides=self.overrides).value(
                        output["Value"]
                    )
        raise KeyError(f"no stack exports {name}")

    def _resource(self, logical: str) -> dict[str, Any]:
        return self.template["Resources"][logical]  # type: ignore[no-any-return]

    def _ref(self, logical: str) -> Any:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/Test/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "AWS::StackName": "Test",
        }
        if logical in pseudo:
            return pseudo[logical]
        if logical in self.overrides:
            return self.overrides[logical]
        res = self._resource(logical)
        props = res.get("Properties", {})
        kind = res["Type"]
        if kind == "AWS::IAM::Role":
            return self.value(props.get("RoleName", logical))
        if kind == "AWS::Lambda::Function":
            return self.value(props.get("FunctionName", logical))
        if kind == "AWS::SecretsManager::Secret":
            name = self.value(props.get("Name", logical))
            return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{name}-AbCdEf"
        if kind == "AWS::SecretsManager::SecretTargetAttachment":
            return self.value(props["SecretId"])
        if kind == "AWS::Logs::LogGroup":
            return self.value(props.get("LogGroupName", logical))
        if kind == "AWS::Events::EventBus":
            return self.value(props.get("Name", logical))
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{logical}"
        return logical

    def _get_att(self, logical: str, attr: str) -> Any:
        key = f"{logical}.{attr}"
        if key in self.overrides:
            return self.overrides[key]
        if attr != "Arn":
            return f"<{key}>"
        kind = self._resource(logical)["Type"]
        name = self._ref(logical)
        acct, region = self.account, self.region
        arns = {
            "AWS::IAM::Role": f"arn:aws:iam::{acct}:role/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{acct}:function:{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{region}:{acct}:key/{logical}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{acct}:log-group:{name}:*",
            "AWS::Events::EventBus": f"arn:aws:events:{region}:{acct}:event-bus/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{acct}:{logical}",
            "AWS::SecretsManager::Secret": str(name),
        }
        if kind in arns:
            return arns[kind]
        service = kind.split("::")[1].lower()
        return f"arn:aws:{service}:{region}:{acct}:{logical}"


def role_statements(template: dict[str, Any], role_logical_prefix: str) -> tuple[str, list[dict[str, Any]]]:
    """(role logical id, raw statements of every identity policy attached to it) as synthesized."""
    roles = [
        k
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Role" and k.startswith(role_logical_prefix)
    ]
    assert len(roles) == 1, f"expected one role starting with {role_logical_prefix}, found {roles}"
    return roles[0], identity_statements(template, roles[0])


def identity_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Raw statements of every identity policy attached to the role with exactly this logical id."""
    found: list[dict[str, Any]] = []
    for policy in template["Resources"][role].get("Properties", {}).get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    for res in template["Resources"].values():
        attached = {"Ref": role} in res.get("Properties", {}).get("Roles", [])
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and attached:
            found += res["Properties"]["PolicyDocument"]["Statement"]
    return found


def template_roles(template: dict[str, Any], resolver: Resolver) -> dict[str, Role]:
    """Every role of the template by its resolved ARN, with its trust policy, identity policies and tags."""
    roles = {}
    for logical, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        props = res.get("Properties", {})
        arn = str(resolver.value({"Fn::GetAtt": [logical, "Arn"]}))
        roles[arn] = Role(
            arn=arn,
            trust=resolver.value(props.get("AssumeRolePolicyDocument", {}).get("Statement", [])),
            statements=resolver.value(identity_statements(template, logical)),
            tags={t["Key"]: str(resolver.value(t["Value"])) for t in props.get("Tags", [])},
        )
    return roles


def function_logical_id(template: dict[str, Any], prefix: str) -> str:
    found = [
        k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function" and k.startswith(prefix)
    ]
    assert len(found) == 1, f"expected one function starting with {prefix}, found {found}"
    return found[0]


# -- evaluating a policy ---------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "^" + "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern) + "$"
    return re.match(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(pattern: str, context: dict[str, Any]) -> str | None:
    """Policy variables (`${aws:PrincipalTag/x}`); None when one has no value (the statement cannot match)."""
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        key = m.group(1)
        if key in ("*", "?", "$"):
            return key
        value = context.get(key)
        if value is None or isinstance(value, list):
            missing = True
            return ""
        return str(value)

    out = _VARIABLE.sub(repl, pattern)
    return None if missing else out


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(expected)]
    present = key in context and context[key] is not None
    if operator == "Null":
        return (not present) == (wanted[0] == "true")
    if not present:
        return if_exists or qualifier == "ForAllValues"
    actual = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(context[key])]

    def one(value: str) -> bool:
        if operator in ("StringEquals", "ArnEquals", "Bool"):
            return value in wanted
        if operator == "StringEqualsIgnoreCase":
            return value.lower() in [w.lower() for w in wanted]
        if operator in ("StringLike", "ArnLike"):
            return any(_wildcard(w, value) for w in wanted)
        if operator in ("StringNotEquals", "ArnNotEquals"):
            return value not in wanted
        if operator in ("StringNotLike", "ArnNotLike"):
            return not any(_wildcard(w, value) for w in wanted)
        raise NotImplementedError(f"condition operator {operator} is not evaluated here: add it")

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    if qualifier in ("ForAnyValue", ""):
        return any(one(v) for v in actual)
    raise NotImplementedError(f"condition qualifier {qualifier}")


def statement_applies(st: dict[str, Any], action: str, resource: str, context: dict[str, Any]) -> bool:
    if "Action" in st:
        if not any(_wildcard(a, action, ignore_case=True) for a in _as_list(st["Action"])):
            return False
    elif any(_wildcard(a, action, ignore_case=True) for a in _as_list(st["NotAction"])):
        return False
    patterns = [_substitute(str(r), context) for r in _as_list(st.get("Resource", st.get("NotResource", "*")))]
    hit = any(p is not None and _wildcard(p, resource) for p in patterns)
    if ("Resource" in st) != hit:  # Resource must match; NotResource must not
        return False
    for operator, keys in (st.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, expected, context):
                return False
    return True


@dataclass(frozen=True)
class Need:
    """One permission a call needs: an IAM action on a resource ARN, with its request context."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Decision:
    need: Need
    allowed: bool
    granted_by: list[int]  # indexes of the Allow statements that matched


def decide(statements: list[dict[str, Any]], need: Need, principal_context: dict[str, Any]) -> Decision:
    ctx = {**principal_context, **need.context}
    allows, denied = [], False
    for i, st in enumerate(statements):
        if statement_applies(st, need.action, need.resource, ctx):
            if st["Effect"] == "Deny":
                denied = True
            else:
                allows.append(i)
    return Decision(need, bool(allows) and not denied, allows)


# -- what each AWS call needs ----------------------------------------------------------------------

# Calls to CloudWatch Logs that Step Functions makes with the caller's rights when a state machine is
# created or updated with logging (AWS: "IAM policies for logging to CloudWatch Logs" and "Logs sent to
# CloudWatch Logs"): the delivery APIs have no resource type; the resource-policy and log-group reads
# (and the policy write, when the group has none yet) are evaluated on the account's `log-group:*`.
LOG_DELIVERY_SETUP = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:ListLogDeliveries",
)
LOG_GROUP_POLICY_SETUP = ("logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")


@dataclass
class Role:
    """A role of the template: who may assume it (trust policy) and what its sessions may do."""

    arn: str
    trust: list[dict[str, Any]]
    statements: list[dict[str, Any]]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Account:
    account: str
    region: str
    # KMS key of each secret ARN (decrypting goes through Secrets Manager with the caller's rights).
    secret_keys: dict[str, str] = field(default_factory=dict)
    # Default SSE-KMS key of each bucket (reading or writing its objects uses the key with the caller's rights).
    bucket_keys: dict[str, str] = field(default_factory=dict)
    # Roles a principal may assume (sts:AssumeRole is checked against the identity policy AND the trust policy).
    roles: dict[str, Role] = field(default_factory=dict)
    # Secrets created while the test runs: name -> ARN (a call by name is evaluated on the real ARN).
    secret_names: dict[str, str] = field(default_factory=dict)
    # The roles each ECS task definition names (RunTask passes them: iam:PassRole to ecs-tasks).
    task_roles: dict[str, list[str]] = field(default_factory=dict)

    def arn(self, service: str, rest: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{rest}"


def _log_delivery(account: Account, params: dict[str, Any]) -> list[Need]:
    logging = params.get("loggingConfiguration")
    if not logging or logging.get("level", "OFF") == "OFF":
        return []
    groups = account.arn("logs", "log-group:*")
    return [Need(a, "*") for a in LOG_DELIVERY_SETUP] + [Need(a, groups) for a in LOG_GROUP_POLICY_SETUP]


def _pass_role(role_arn: str | None, service: str) -> list[Need]:
    return [Need("iam:PassRole", role_arn, {"iam:PassedToService": service})] if role_arn else []


def _token_machine(account: Account, token: str) -> str | None:
    """The ARN of the state machine whose running execution waits for `token`, looked up in moto."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[account.account][account.region]
    for machine in backend.state_machines:
        for execution in machine.executions:
            env = getattr(getattr(execution, "exec_worker", None), "env", None)
            if env is not None and env.callback_pool_manager.get(token) is not None:
                return str(machine.arn)
    return None


def _sfn(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    machine = account.arn("states", "stateMachine:")
    if op == "CreateStateMachine":
        arn = machine + p["name"]
        needs = [Need("states:CreateStateMachine", arn), *_pass_role(p.get("roleArn"), "states.amazonaws.com")]
        if p.get("publish"):
            needs.append(Need("states:PublishStateMachineVersion", arn))
        if p.get("tags"):
            needs.append(Need("states:TagResource", arn))
        return needs + _log_delivery(account, p)
    if op == "UpdateStateMachine":
        arn = p["stateMachineArn"]
        needs = [Need("states:UpdateStateMachine", arn), *_pass_role(p.get("roleArn"), "states.amazonaws.com")]
        if p.get("publish"):
            needs.append(Need("states:PublishStateMachineVersion", arn))
        return needs + _log_delivery(account, p)
    if op == "CreateStateMachineAlias":
        version = p["routingConfiguration"][0]["stateMachineVersionArn"]
        alias = version.rsplit(":", 1)[0] + ":" + p["name"]
        return [Need("states:CreateStateMachineAlias", alias)] + [
            Need("states:CreateStateMachineAlias", r["stateMachineVersionArn"]) for r in p["routingConfiguration"]
        ]
    if op == "UpdateStateMachineAlias":
        return [Need("states:UpdateStateMachineAlias", p["stateMachineAliasArn"])] + [
            Need("states:UpdateStateMachineAlias", r["stateMachineVersionArn"])
            for r in p.get("routingConfiguration", [])
        ]
    by_arn = {
        "DescribeStateMachine": "stateMachineArn",
        "DescribeStateMachineAlias": "stateMachineAliasArn",
        "PublishStateMachineVersion": "stateMachineArn",
        "ListStateMachineVersions": "stateMachineArn",
        "StartExecution": "stateMachineArn",
        "ListExecutions": "stateMachineArn",
        "StopExecution": "executionArn",
        "DescribeExecution": "executionArn",
        "GetExecutionHistory": "executionArn",
        "RedriveExecution": "executionArn",
        "DeleteStateMachineVersion": "stateMachineVersionArn",
    }
    if by_arn.get(op):
        return [Need(f"states:{op}", p[str(by_arn[op])])]
    if op in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # A callback token names no resource; AWS authorizes it against the state machine whose execution
        # issued it (a token no execution waits for is judged against "*", which no scoped grant covers).
        return [Need(f"states:{op}", _token_machine(account, str(p["taskToken"])) or "*")]
    if op in ("ListStateMachines", "ListActivities"):
        return [Need(f"states:{op}", "*")]
    raise NotImplementedError(f"no IAM rule for states:{op}: add it to tests/infra/iam.py")


def _secret_arn(account: Account, secret_id: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    return account.secret_names.get(secret_id) or account.arn("secretsmanager", f"secret:{secret_id}-??????")


def _tag_context(tags: list[dict[str, str]]) -> dict[str, Any]:
    """aws:RequestTag/<key> and aws:TagKeys of a request that attaches tags."""
    pairs = {t["Key"]: t["Value"] for t in tags}
    ctx: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in pairs.items()}
    if pairs:
        ctx["aws:TagKeys"] = sorted(pairs)
    return ctx


def _secret_key_use(account: Account, actions: tuple[str, ...], key: str | None, arn: str) -> list[Need]:
    """Secrets Manager uses a customer managed key with the caller's rights, through itself, with the
    secret's ARN in the encryption context (user guide, "Secret encryption and decryption")."""
    if not key:
        return []  # aws/secretsmanager: its key policy allows every principal of the account through the service
    ctx = {"kms:ViaService": f"secretsmanager.{account.region}.amazonaws.com", "kms:EncryptionContext:SecretARN": arn}
    return [Need(action, key, ctx) for action in actions]


def _secretsmanager(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    if op in ("GetSecretValue", "DescribeSecret", "PutSecretValue", "DeleteSecret", "RestoreSecret"):
        arn = _secret_arn(account, p["SecretId"])
        needs = [Need(f"secretsmanager:{op}", arn)]
        key = account.secret_keys.get(arn)
        if op == "GetSecretValue":  # Decrypt of the version's data key
            needs += _secret_key_use(account, ("kms:Decrypt",), key, arn)
        if op == "PutSecretValue":  # a data key for the new version (a new ClientRequestToken: no Decrypt)
            needs += _secret_key_use(account, ("kms:GenerateDataKey",), key, arn)
        return needs
    if op == "CreateSecret":
        arn = _secret_arn(account, p["Name"])
        tags = _tag_context(p.get("Tags", []))
        needs = [Need("secretsmanager:CreateSecret", arn, tags)]
        if p.get("Tags"):  # API reference, CreateSecret: tags also need secretsmanager:TagResource
            needs.append(Need("secretsmanager:TagResource", arn, tags))
        # Establishing the key: GenerateDataKey for the value, and both calls validate the caller's access.
        return needs + _secret_key_use(account, ("kms:GenerateDataKey", "kms:Decrypt"), p.get("KmsKeyId"), arn)
    raise NotImplementedError(f"no IAM rule for secretsmanager:{op}: add it to tests/infra/iam.py")


def _record_secret(account: Account, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    """After a CreateSecret the account holds the secret: later calls by name resolve to its ARN and key."""
    arn = parsed.get("ARN")
    if arn:
        account.secret_names[params["Name"]] = arn
        if params.get("KmsKeyId"):
            account.secret_keys[arn] = params["KmsKeyId"]


def _events(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    if op == "PutEvents":
        buses = {e.get("EventBusName", "default") for e in p["Entries"]}
        return [
            Need("events:PutEvents", b if b.startswith("arn:") else account.arn("events", f"event-bus/{b}"))
            for b in sorted(buses)
        ]
    if op in ("PutRule", "DeleteRule", "PutTargets", "RemoveTargets", "DescribeRule", "EnableRule", "DisableRule"):
        # A rule's ARN names its bus unless it is the default one ("Actions, resources, and condition keys
        # for Amazon EventBridge"); PutTargets passes a target's role, when it has one, to EventBridge.
        bus = str(p.get("EventBusName") or "default")
        name = str(p.get("Name") or p.get("Rule"))
        rule = account.arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")
        needs = [Need(f"events:{op}", rule)]
        if op == "PutTargets":
            for target in p.get("Targets", []):
                needs += _pass_role(target.get("RoleArn"), "events.amazonaws.com")
        return needs
    raise NotImplementedError(f"no IAM rule for events:{op}: add it to tests/infra/iam.py")


def _sts(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    if op == "AssumeRole":
        ctx = _tag_context(p.get("Tags", []))
        needs = [Need("sts:AssumeRole", p["RoleArn"], ctx)]
        if p.get("Tags"):
            needs.append(Need("sts:TagSession", p["RoleArn"], ctx))
        return needs
    if op == "GetCallerIdentity":
        return []
    raise NotImplementedError(f"no IAM rule for sts:{op}: add it to tests/infra/iam.py")


def _s3(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    """Object calls (AWS: "Actions, resources, and condition keys for Amazon S3"; SSE-KMS needs the caller's
    kms:GenerateDataKey to write and kms:Decrypt to read, requested through S3)."""
    bucket = p["Bucket"]
    via = {"kms:ViaService": f"s3.{account.region}.amazonaws.com"}
    key = p.get("SSEKMSKeyId") or account.bucket_keys.get(bucket)
    if op == "PutObject":
        needs = [Need("s3:PutObject", f"arn:aws:s3:::{bucket}/{p['Key']}")]
        return needs + ([Need("kms:GenerateDataKey", key, via)] if key else [])
    if op in ("GetObject", "HeadObject"):
        needs = [Need("s3:GetObject", f"arn:aws:s3:::{bucket}/{p['Key']}")]
        return needs + ([Need("kms:Decrypt", key, via)] if key else [])
    if op == "ListObjectsV2":
        return [Need("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": p.get("Prefix", "")})]
    if op == "DeleteObjects":
        return [Need("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o['Key']}") for o in p["Delete"]["Objects"]]
    raise NotImplementedError(f"no IAM rule for s3:{op}: add it to tests/infra/iam.py")


def _lambda(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    """Invoking a function by name or ARN (the API asks the LLM runner for knowledge-base work)."""
    if op == "Invoke":
        name = str(p["FunctionName"])
        arn = name if name.startswith("arn:") else account.arn("lambda", f"function:{name}")
        return [Need("lambda:InvokeFunction", arn)]
    raise NotImplementedError(f"no IAM rule for lambda:{op}: add it to tests/infra/iam.py")


def _ecs(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    """RunTask (the agent launcher): the task definition with the cluster as condition key, PassRole on the
    definition's roles to ecs-tasks, and TagResource on the new task when the request carries tags (ECS
    authorizes tag-on-create with ecs:CreateAction)."""
    if op == "RunTask":
        cluster = str(p.get("cluster") or "default")
        cluster_arn = cluster if cluster.startswith("arn:") else account.arn("ecs", f"cluster/{cluster}")
        definition = str(p["taskDefinition"])
        needs = [Need("ecs:RunTask", definition, {"ecs:cluster": cluster_arn})]
        for role in account.task_roles.get(definition, []):
            needs += _pass_role(role, "ecs-tasks.amazonaws.com")
        if p.get("tags"):
            task = account.arn("ecs", f"task/{cluster_arn.split('cluster/', 1)[1]}/0f1e2d3c4b5a49788695a4b3c2d1e0f9")
            needs.append(Need("ecs:TagResource", task, {"ecs:CreateAction": "RunTask"}))
        return needs
    raise NotImplementedError(f"no IAM rule for ecs:{op}: add it to tests/infra/iam.py")


def _scheduler(account: Account, op: str, p: dict[str, Any]) -> list[Need]:
    """Schedules (EventBridge Scheduler: "Actions, resources, and condition keys"): the schedule's ARN in its
    group; creating or updating one passes its target's role to Scheduler."""
    if op in ("CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule"):
        group = str(p.get("GroupName") or "default")
        needs = [Need(f"scheduler:{op}", account.arn("scheduler", f"schedule/{group}/{p['Name']}"))]
        if op in ("CreateSchedule", "UpdateSchedule"):
            needs += _pass_role(p["Target"].get("RoleArn"), "scheduler.amazonaws.com")
        return needs
    raise NotImplementedError(f"no IAM rule for scheduler:{op}: add it to tests/infra/iam.py")


RULES: dict[str, Callable[[Account, str, dict[str, Any]], list[Need]]] = {
    "scheduler": _scheduler,
    "ecs": _ecs,
    "lambda": _lambda,
    "s3": _s3,
    "sfn": _sfn,
    "secrets-manager": _secretsmanager,
    "eventbridge": _events,
    "sts": _sts,
}

# -- enforcing on real boto3 clients ---------------------------------------------------------------


@dataclass
class Principal:
    name: str
    statements: list[dict[str, Any]]
    context: dict[str, Any] = field(default_factory=dict)
    role_arn: str = ""  # the role whose session this is (trust policies name it)


def trusts(role: Role, caller: Principal, need: Need) -> bool:
    """The role's trust policy allows `caller` (by its role ARN, or the account root) the need's action.

    Same-account AWS would also accept a trust policy naming the caller's ARN with no identity grant; the
    enforcer requires both sides, which is how our roles are written (allow_assume grants both)."""
    account = role.arn.split(":")[4]
    allowed = False
    for st in role.trust:
        named = _as_list((st.get("Principal") or {}).get("AWS", []))
        if caller.role_arn not in named and f"arn:aws:iam::{account}:root" not in named:
            continue
        if statement_applies({**st, "Resource": "*"}, need.action, need.resource, {**caller.context, **need.context}):
            if st["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def _access_key(request_signer: Any) -> str | None:
    credentials = getattr(request_signer, "_credentials", None)
    return None if credentials is None else str(credentials.get_frozen_credentials().access_key)


@dataclass
class Enforcer:
    """A botocore hook: each call made while a principal is active is allowed or answered AccessDenied.

    Calls signed with credentials an evaluated sts:AssumeRole returned act as that role's session (its
    policies, and its session tags as `aws:PrincipalTag/<key>`); every other call acts as `principal`.
    `decisions` records the function principal's decisions only."""

    account: Account
    principal: Principal | None = None
    decisions: list[Decision] = field(default_factory=list)
    sessions: dict[str, Principal] = field(default_factory=dict)  # access key id -> assumed-role session
    session_decisions: list[Decision] = field(default_factory=list)

    def needs(self, service_id: str, op: str, params: dict[str, Any]) -> list[Need]:
        rule = RULES.get(service_id)
        if rule is None:
            raise NotImplementedError(f"no IAM rules for service {service_id} ({op}): add them to tests/infra/iam.py")
        return rule(self.account, op, params)

    def _before_parameter_build(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.principal is None and not self.sessions:
            return
        context["nexod_iam_params"] = dict(params)
        context["nexod_iam_needs"] = self.needs(model.service_model.service_id.hyphenize(), model.name, params)

    def _acting(self, request_signer: Any) -> Principal | None:
        key = _access_key(request_signer)
        return self.sessions.get(key, self.principal) if key else self.principal

    def _before_call(self, model: Any, context: dict[str, Any], request_signer: Any = None, **_: Any) -> Any:
        needs: list[Need] | None = context.get("nexod_iam_needs")
        principal = self._acting(request_signer)
        if needs is None or principal is None:
            return None
        context["nexod_iam_principal"] = principal
        record = self.decisions if principal is self.principal else self.session_decisions
        denied: list[tuple[Need, str]] = []
        for need in needs:
            decision = decide(principal.statements, need, principal.context)
            record.append(decision)
            if not decision.allowed:
                denied.append((need, "no identity-based policy allows"))
            elif need.action in ("sts:AssumeRole", "sts:TagSession"):
                role = self.account.roles.get(need.resource)
                if role is None or not trusts(role, principal, need):
                    denied.append((need, "the role's trust policy does not allow"))
        if not denied:
            return None
        first, why = denied[0]
        code = "AccessDenied" if model.service_model.protocol == "query" else "AccessDeniedException"
        message = (
            f"User: {principal.name} is not authorized to perform: {first.action} on resource: "
            f"{first.resource} because {why} the {first.action} action"
        )
        http = AWSResponse("https://iam.offline", 400, {}, None)  # type: ignore[arg-type]
        return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed:
            return
        params: dict[str, Any] = context.get("nexod_iam_params") or {}
        service_id = model.service_model.service_id.hyphenize()
        if service_id == "secrets-manager" and model.name == "CreateSecret" and params:
            _record_secret(self.account, params, parsed)
        caller: Principal | None = context.get("nexod_iam_principal")
        if service_id == "sts" and model.name == "AssumeRole" and caller is not None:
            role = self.account.roles[params["RoleArn"]]
            tags = {**role.tags, **{t["Key"]: t["Value"] for t in params.get("Tags", [])}}
            session = f"{role.arn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/{params['RoleSessionName']}"
            self.sessions[parsed["Credentials"]["AccessKeyId"]] = Principal(
                name=session,
                statements=role.statements,
                context={f"aws:PrincipalTag/{k}": v for k, v in tags.items()},
                role_arn=role.arn,
            )

    def attach(self, events: Any) -> None:
        events.register("before-parameter-build", self._before_parameter_build, unique_id="nexod-iam-params")
        events.register("before-call", self._before_call, unique_id="nexod-iam-call")
        events.register("after-call", self._after_call, unique_id="nexod-iam-after")

    def detach(self, events: Any) -> None:
        events.unregister("before-parameter-build", unique_id="nexod-iam-params")
        events.unregister("before-call", unique_id="nexod-iam-call")
        events.unregister("after-call", unique_id="nexod-iam-after")

    @contextmanager
    def acting_as(self, principal: Principal) -> Iterator[Principal]:
        previous, self.principal = self.principal, principal
        try:
            yield principal
        finally:
            self.principal = previous

    def granted(self) -> set[int]:
        """Statements (indexes) that granted at least one allowed call so far."""
        return {i for d in self.decisions if d.allowed for i in d.granted_by}


@contextmanager
def enforced(account: Account) -> Iterator[Enforcer]:
    """IAM enforcement on every boto3 client created from the default session from now on."""
    boto3.setup_default_session(region_name=account.region)
    session = boto3.DEFAULT_SESSION
    assert session is not None
    enforcer = Enforcer(account)
    enforcer.attach(session.events)
    try:
        yield enforcer
    finally:
        enforcer.detach(session.events)
        boto3.DEFAULT_SESSION = None
