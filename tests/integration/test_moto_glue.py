"""The moto-specific glue. If a moto upgrade moves what we patch, these fail first and say where."""

from __future__ import annotations

import inspect
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nexod.adapters import moto_glue

ARN = "arn:aws:lambda:us-east-1:123456789012:function:glue-probe"


def test_the_patched_function_still_exists_with_its_signature():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    assert hasattr(lambda_eval_utils, "_invoke_lambda_function"), "moto moved _invoke_lambda_function"
    assert hasattr(lambda_eval_utils, "LambdaFunctionErrorException")
    from moto.stepfunctions.models import StateMachine

    assert "description" in inspect.signature(StateMachine.publish).parameters
    from moto.stepfunctions.parser import utils

    assert isinstance(utils.TMP_THREADS, list), "moto's execution thread list moved"


def test_tasks_dispatch_in_process_and_retry_on_function_errors():
    # Given a handler that fails twice with a retryable error, then succeeds
    calls: list[dict] = []

    class Flaky(Exception):
        pass

    def handler(event: dict) -> dict:
        calls.append(event)
        if len(calls) < 3:
            raise Flaky("not yet")
        return {"take": {"ok": True}}

    asl = {
        "StartAt": "probe",
        "States": {
            "probe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN, "Payload": {"x.$": "$.x"}},
                "ResultSelector": {"take.$": "$.Payload.take"},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "End": True,
            }
        },
    }
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        moto_glue.register(ARN, handler)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sm = sfn.create_state_machine(
            name="glue-probe",
            definition=json.dumps(asl),
            roleArn="arn:aws:iam::123456789012:role/r",
            publish=True,
        )
        # When an execution of the published *version* runs
        arn = sfn.start_execution(stateMachineArn=sm["stateMachineVersionArn"], name="e1", input=json.dumps({"x": 7}))[
            "executionArn"
        ]
        import time

        for _ in range(200):
            desc = sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                break
            time.sleep(0.05)
    # Then the handler ran in-process three times and the retry policy drove it
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"]) == {"take": {"ok": True}}
    assert [c["x"] for c in calls] == [7, 7, 7]


def test_unknown_functions_fail_the_task_clearly():
    with pytest.raises(KeyError, match="no in-process handler"):
        moto_glue.invoke({"FunctionName": "arn:aws:lambda:us-east-1:1:function:nobody", "Payload": b"{}"})


# --- The speed patches (decisions.md, 2026-11-26). Each guard fails first if a moto upgrade moves what it
# relies on; each behaviour test shows the patched interpreter still does what moto did.

SFN_ROLE = "arn:aws:iam::123456789012:role/r"


def _run_to_end(sfn, target_arn: str, name: str, payload: dict, timeout: float = 20.0) -> dict:
    import time

    arn = sfn.start_execution(stateMachineArn=target_arn, name=name, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.01)
    raise AssertionError(f"{name} still running after {timeout}s")


def _snapshot(component: object) -> object:
    """Everything reachable from a component tree, as plain values (to see whether evaluating changed it)."""
    from moto.stepfunctions.parser.asl.component.component import Component

    if isinstance(component, Component):
        return (type(component).__name__, {k: _snapshot(v) for k, v in sorted(vars(component).items())})
    if isinstance(component, list | tuple):
        return [_snapshot(v) for v in component]
    if isinstance(component, dict):
        return {repr(k): _snapshot(v) for k, v in component.items()}
    return repr(component)


def _component_classes() -> list[type]:
    import importlib
    import pkgutil

    import moto.stepfunctions.parser.asl.component as package
    from moto.stepfunctions.parser.asl.component.component import Component

    classes = []
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        module = importlib.import_module(info.name)
        classes += [
            c
            for c in vars(module).values()
            if inspect.isclass(c) and issubclass(c, Component) and c.__module__ == module.__name__
        ]
    return classes


MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add", "discard"}


def _self_writes_and_pushes(cls: type) -> tuple[set[tuple[str, str]], set[str]]:
    """What a component class's methods (after construction) write on `self`, and which of its own
    attributes they push onto the evaluation stack."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    writes: set[tuple[str, str]] = set()
    pushes: set[str] = set()

    def on_self(node: ast.AST) -> str | None:
        while isinstance(node, ast.Subscript):
            node = node.value
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return node.attr
        return None

    for method in (n for n in tree.body[0].body if isinstance(n, ast.FunctionDef)):  # type: ignore[attr-defined]
        built = method.name in ("__init__", "from_state_props")  # construction, done by the preprocessor
        for node in ast.walk(method):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign | ast.Delete):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in MUTATING_METHODS and (attr := on_self(node.func.value)):
                    targets = [node.func.value]
                if node.func.attr == "append" and node.args and (attr := on_self(node.args[0])):
                    pushes.add(attr)
            for target in targets:
                if (attr := on_self(target)) and not built:
                    writes.add((method.name, attr))
    return writes, pushes


def test_moto_components_keep_no_evaluation_state_so_executions_can_share_them():
    # Given every evaluation component class of moto's interpreter
    classes = _component_classes()
    assert len(classes) > 200, "moto moved its ASL components"
    # When we read what their methods write on the component itself
    audit = {cls.__name__: _self_writes_and_pushes(cls) for cls in classes}
    writes = {(name, *w) for name, (ws, _) in audit.items() for w in ws}
    pushes = {(name, p) for name, (_, ps) in audit.items() for p in ps}
    # Then the only state is the lazily drawn heap key (drawn before sharing, see _cache_programs) ...
    assert writes == {("EvalComponent", "heap_key", "__heap_key")}, (
        "a moto component now keeps evaluation state on itself: sharing programs between executions "
        f"(moto_glue._cache_programs) is no longer safe: {writes}"
    )
    # ... and the values components hand out are immutable literals, except Pass's Result, which every
    # ResultPath deep-copies (test_shared_programs_run_concurrently_and_stay_unchanged checks that).
    assert pushes == {
        ("AssignTemplateValueTerminalLit", "value"),
        ("ConditionJSONataLit", "literal"),
        ("IntervalSecondsDecl", "seconds"),
        ("JSONataTemplateValueTerminalLit", "value"),
        ("PayloadValueLit", "val"),
        ("Result", "result_obj"),
        ("StringLiteral", "literal_value"),
    }, f"a moto component now hands out its own values: audit them before sharing programs: {pushes}"
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath
    from moto.stepfunctions.parser.asl.component.state.state_pass.state_pass import StatePass

    assert "copy.deepcopy(current_output)" in inspect.getsource(ResultPath._eval_body), (
        "ResultPath no longer copies what it places: Pass's Result would leak between executions"
    )
    assert "self.result_path.eval(env)" in inspect.getsource(StatePass._eval_state)


def test_executions_share_the_program_built_once_per_definition():
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    assert "AmazonStateLanguageParser.parse(" in inspect.getsource(ExecutionWorker._get_evaluation_entrypoint), (
        "moto no longer builds an execution's program through AmazonStateLanguageParser.parse"
    )
    assert "__heap_key" in inspect.getsource(EvalComponent), "moto moved the heap key"
    # Given the glue installed and a definition
    moto_glue.install()
    definition = json.dumps({"StartAt": "p", "States": {"p": {"Type": "Pass", "Result": {"a": 1}, "End": True}}})
    # When it is parsed twice (a first execution, then a second one)
    first, _ = AmazonStateLanguageParser.parse(definition)
    second, _ = AmazonStateLanguageParser.parse(definition)
    # Then the second reuses the first's components, whose heap keys were all drawn before sharing
    assert second is first
    assert moto_glue._draw_heap_keys(first) >= 3
    assert all(getattr(c, "_EvalComponent__heap_key", None) for c in _walk(first) if isinstance(c, EvalComponent))
    # And a definition moto rejects is still rejected, every time
    for _ in range(2):
        with pytest.raises(Exception, match="ASLParserException"):
            AmazonStateLanguageParser.parse('{"StartAt": "x", "States": {"x": {"Type": "Nope"}}')


def _walk(component: object) -> list[object]:
    from moto.stepfunctions.parser.asl.component.component import Component

    found, todo, seen = [], [component], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Component):
            found.append(item)
            todo.extend(vars(item).values())
        elif isinstance(item, list | tuple):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
    return found


def test_shared_programs_run_concurrently_and_stay_unchanged():
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    # Given a definition with a Pass Result that a later state writes into, a Parallel, and a Retry that
    # counts attempts in the heap (every handler call fails once, then succeeds)
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def handler(event: dict) -> dict:
        with lock:
            seen[event["key"]] = seen.get(event["key"], 0) + 1
            attempt = seen[event["key"]]
        if attempt == 1:
            raise RuntimeError("first attempt fails")
        return {"attempt": attempt}

    def task(branch: str) -> dict:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": ARN, "Payload": {"key.$": f"States.Format('{{}}-{branch}', $.n)"}},
            "ResultSelector": {"attempt.$": "$.Payload.attempt"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
            "End": True,
        }

    asl = {
        "StartAt": "seed",
        "States": {
            "seed": {"Type": "Pass", "Result": {"tags": ["t"]}, "ResultPath": "$.box", "Next": "write"},
            "write": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "ResultPath": "$.box.tags[0]", "Next": "fan"},
            "fan": {
                "Type": "Parallel",
                "Branches": [{"StartAt": b, "States": {b: task(b)}} for b in ("a", "b", "c")],
                "ResultPath": "$.fan",
                "End": True,
            },
        },
    }
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        moto_glue.register(ARN, handler)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sm = sfn.create_state_machine(name="shared", definition=json.dumps(asl), roleArn=SFN_ROLE, publish=True)
        program, _ = AmazonStateLanguageParser.parse(json.dumps(asl))
        before = _snapshot(program)
        # When six executions of it run at the same time
        with ThreadPoolExecutor(6) as pool:
            results = list(
                pool.map(lambda n: _run_to_end(sfn, sm["stateMachineVersionArn"], f"s{n}", {"n": n}), range(6))
            )
    # Then each got its own fresh Result, and its own retry count per branch (one failure, one retry)
    for n, desc in enumerate(results):
        assert desc["status"] == "SUCCEEDED", desc
        out = json.loads(desc["output"])
        assert out["box"] == {"tags": [{"n": n}]}
        assert out["fan"] == [{"attempt": 2}] * 3
    assert len(seen) == 18 and set(seen.values()) == {2}
    # And the shared program is exactly as built
    assert _snapshot(program) == before


def test_json_paths_are_compiled_once_and_still_resolve():
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    assert "parse" in json_path.extract_json.__code__.co_names, "moto's extract_json no longer calls parse"
    assert "parse" in result_path.ResultPath._eval_body.__code__.co_names, "moto's ResultPath no longer calls parse"
    # Given the glue installed
    moto_glue.install()
    # When the same path is compiled twice
    # Then it is compiled once, resolves as before, and a bad path still fails every time
    assert json_path.parse("$.run") is json_path.parse("$.run")
    assert result_path.parse("$.x") is result_path.parse("$.x")
    assert json_path.extract_json("$.run.id", {"run": {"id": "r1"}}) == "r1"
    assert json_path.extract_json("$.xs[1]", {"xs": [1, 2]}) == 2
    with pytest.raises(json_path.NoSuchJsonPathError):
        json_path.extract_json("$.missing", {"run": {}})
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 - whatever jsonpath_ng raises, it raises each time
            json_path.parse("$.[")


def test_event_paths_are_compiled_once_and_events_render_as_moto_renders_them():
    from moto.events import utils

    moto_glue.install()
    patched = utils.EventTemplateParser.parse
    original = getattr(patched, "_nexod_original", None)
    assert original is not None, "the glue did not replace moto's EventTemplateParser.parse"
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": "Run Status Change",
        "source": "nexod.run",
        "account": "123456789012",
        "time": 1764212400.0,
        "region": "us-east-1",
        "resources": ["arn:aws:states:us-east-1:123456789012:execution:x:y"],
        "detail": {"run_id": "r1", "n": 3, "tags": ["a", {"b": 1}]},
        "ingestion-time": 1764212400.5,
    }
    custom = (
        '{"run": "<run>", "n": <n>, "gone": "<missing>", "whole": <aws.events.event.json>,'
        ' "at": <aws.events.event.ingestion-time>}',
        {"run": "$.detail.run_id", "n": "$.detail.n", "missing": "$.detail.nothing"},
    )
    # Given the glue installed, when events are rendered with moto's default template and with an input
    # transformer, then the result is moto's own, and each path was compiled once
    for template, paths in (("", {}), custom):
        assert patched(template, paths, event) == original(template, paths, event)
    compiled = patched._nexod_compiled  # type: ignore[attr-defined]
    misses = compiled.cache_info().misses
    before = utils.EventTemplateParser.parse(custom[0], custom[1], event)
    assert utils.EventTemplateParser.parse(custom[0], custom[1], event) == before
    assert compiled.cache_info().misses == misses
    from jsonpath_ng.ext import parse

    assert "$.detail" in set(utils.EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP.values())
    assert parse("$.detail") is not parse("$.detail"), "jsonpath_ng itself stays uncached (the glue caches)"


def test_an_empty_queue_is_known_without_a_receive_and_a_held_message_is_not_missed():
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="glue-peek", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        # Given an empty queue, then it is known empty
        assert moto_glue.queue_is_empty(url, "us-east-1")
        # When a message is sent, then it is not; nor while the message is in flight after a receive
        sqs.send_message(QueueUrl=url, MessageBody="x")
        assert not moto_glue.queue_is_empty(url, "us-east-1")
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        assert not moto_glue.queue_is_empty(url, "us-east-1")
        # When it is deleted, then the queue is empty again
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        assert moto_glue.queue_is_empty(url, "us-east-1")
        # A queue moto does not know (or a URL of another shape) is never called empty: the caller receives
        assert not moto_glue.queue_is_empty(url.rsplit("/", 1)[0] + "/nobody", "us-east-1")
        assert not moto_glue.queue_is_empty(url, "eu-west-1")
        assert not moto_glue.queue_is_empty("nonsense", "us-east-1")


def test_every_thread_moto_starts_during_an_execution_comes_from_the_pool():
    import pathlib
    import re

    import moto.stepfunctions.parser as package

    # Given moto's interpreter source
    root = pathlib.Path(package.__file__).parent
    sites = {
        str(path.relative_to(root.parent.parent.parent))[:-3].replace("/", ".")
        for path in root.rglob("*.py")
        if re.search(r"\bThread\(", path.read_text())
    }
    # Then the places that start threads are the ones the glue pools (TestState is not used by Nexod)
    assert sites - {"moto.stepfunctions.parser.asl.component.test_state.program.test_state_program"} == {
        module for module, _ in moto_glue.THREAD_SITES
    }, "moto starts threads somewhere new: add it to moto_glue.THREAD_SITES"
    # When the glue is installed
    moto_glue.install()
    # Then each of them starts pooled threads
    import importlib

    for module_name, name in moto_glue.THREAD_SITES:
        calls_through = getattr(importlib.import_module(module_name), name)
        assert (calls_through if name == "Thread" else calls_through.Thread) is moto_glue._PooledThread


def test_parallel_branches_that_wait_still_run_at_the_same_time_on_reused_threads():
    # Given 8 branches whose tasks each wait until all 8 are running (a barrier fails if one is queued)
    width = 8
    barrier = threading.Barrier(width, timeout=10)

    def handler(event: dict) -> dict:
        barrier.wait()
        return {"i": event["i"]}

    asl = {
        "StartAt": "fan",
        "States": {
            "fan": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": f"b{i}",
                        "States": {
                            f"b{i}": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": ARN, "Payload": {"i": i}},
                                "ResultSelector": {"i.$": "$.Payload.i"},
                                "End": True,
                            }
                        },
                    }
                    for i in range(width)
                ],
                "End": True,
            }
        },
    }
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        moto_glue.register(ARN, handler)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sm = sfn.create_state_machine(name="barrier", definition=json.dumps(asl), roleArn=SFN_ROLE)
        # When it runs twice
        first = _run_to_end(sfn, sm["stateMachineArn"], "b1", {})
        started = moto_glue._pool.started
        second = _run_to_end(sfn, sm["stateMachineArn"], "b2", {})
    # Then both succeed with the branches' results in order, and the second starts no new threads
    for desc in (first, second):
        assert desc["status"] == "SUCCEEDED", desc
        assert json.loads(desc["output"]) == [{"i": i} for i in range(width)]
    assert moto_glue._pool.started == started


def test_a_pooled_thread_behaves_like_a_thread_for_what_moto_uses():
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    release = threading.Event()
    seen: list[str] = []

    def slow() -> None:
        var.set("set by slow")
        release.wait(5)

    # Given a pooled thread whose target is still running
    slow_thread = moto_glue._PooledThread(target=slow, name="slow", daemon=True)
    slow_thread.start()
    # When it is joined with a timeout (how moto's Program enforces TimeoutSeconds)
    slow_thread.join(timeout=0.05)
    # Then the join returns and the thread is still alive, then ends when released
    assert slow_thread.is_alive()
    release.set()
    slow_thread.join(timeout=5)
    assert not slow_thread.is_alive()
    assert slow_thread.native_id is not None
    with pytest.raises(RuntimeError):
        slow_thread.start()
    # And the next target on that worker does not see the context variables of the previous one
    reader = moto_glue._PooledThread(target=lambda: seen.append(var.get()), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert seen == ["unset"]


def test_a_program_text_is_rendered_once_and_unchanged():
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branch_worker import BranchWorker
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    assert "${self._program}" in inspect.getsource(BranchWorker.start), "moto no longer names branch threads"
    # Given the glue installed and a program
    moto_glue.install()
    program, _ = AmazonStateLanguageParser.parse(json.dumps({"StartAt": "w", "States": {"w": {"Type": "Succeed"}}}))
    assert isinstance(program, Program)
    # When its text is asked for twice
    # Then it is moto's own text, rendered once
    assert str(program) == Component.__str__(program)
    assert str(program) is str(program)


# --- Callback Tasks (lambda:invoke.waitForTaskToken): what the `callback` ASL shape relies on in moto.

CALLBACK_ASL = {
    "StartAt": "wait",
    "States": {
        "wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": ARN, "Payload": {"token.$": "$$.Task.Token"}},
            "ResultSelector": {"take.$": "$.take"},
            "TimeoutSeconds": 30,
            "Retry": [{"ErrorEquals": ["TryAgain"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1}],
            "End": True,
        }
    },
}


def _callback_machine(sfn, name: str) -> str:
    sm = sfn.create_state_machine(name=name, definition=json.dumps(CALLBACK_ASL), roleArn=SFN_ROLE, publish=True)
    return str(sm["stateMachineVersionArn"])


def _wait_for(predicate, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_callback_task_waits_for_send_task_success_even_one_sent_while_its_lambda_runs():
    # Given a waitForTaskToken Task whose handler records its token; on the second execution the handler
    # completes the token itself before returning (the node runner's memo hit)
    tokens: list[str] = []
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        sfn = boto3.client("stepfunctions", region_name="us-east-1")

        def handler(event: dict) -> dict:
            tokens.append(event["token"])
            if len(tokens) == 2:
                sfn.send_task_success(taskToken=event["token"], output=json.dumps({"take": {"now": True}}))
            return {"parked": True}

        moto_glue.register(ARN, handler)
        target = _callback_machine(sfn, "glue-callback")
        arn = sfn.start_execution(stateMachineArn=target, name="c1", input="{}")["executionArn"]
        # When the first execution's token is sent back from outside
        _wait_for(lambda: len(tokens) == 1)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        sfn.send_task_success(taskToken=tokens[0], output=json.dumps({"take": {"later": True}}))
        _wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING")
        first = sfn.describe_execution(executionArn=arn)
        # And the second execution's handler sends its own token back while it runs
        second = _run_to_end(sfn, target, "c2", {})
    # Then both end with the output sent, and a token already used is refused
    assert first["status"] == "SUCCEEDED" and json.loads(first["output"]) == {"take": {"later": True}}
    assert second["status"] == "SUCCEEDED" and json.loads(second["output"]) == {"take": {"now": True}}


def test_a_retried_callback_task_gets_a_new_token_and_waits_again():
    # Given a waitForTaskToken Task with one retry on TryAgain
    tokens: list[str] = []
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        moto_glue.register(ARN, lambda event: tokens.append(event["token"]) or {})
        target = _callback_machine(sfn, "glue-callback-retry")
        arn = sfn.start_execution(stateMachineArn=target, name="r1", input="{}")["executionArn"]
        _wait_for(lambda: len(tokens) == 1)
        # When the first attempt's token is failed with a retryable error
        sfn.send_task_failure(taskToken=tokens[0], error="TryAgain", cause="{}")
        # Then the retry has a token of its own and waits for it (moto alone reused the first token and ended
        # the retry at once with the first outcome: `moto_glue._fresh_token_per_attempt`)
        _wait_for(lambda: len(tokens) == 2)
        assert tokens[1] != tokens[0]
        import time

        time.sleep(0.3)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        sfn.send_task_success(taskToken=tokens[1], output=json.dumps({"take": {}}))
        _wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING")
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_the_fresh_token_patch_still_fits_moto():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
    from moto.stepfunctions.parser.asl.eval.states import ContextObject

    cls = state_task_service_callback.StateTaskServiceCallback
    moto_glue.install()
    assert getattr(cls._eval_execution, "_nexod_fresh_token", False)
    assert hasattr(ContextObject, "update_task_token"), "moto moved update_task_token"
    assert "update_task_token" in inspect.getsource(cls._eval_body), "moto no longer draws the token in _eval_body"


def test_every_execution_end_is_reported_with_its_final_status():
    # Given a listener on execution ends and three executions: one passes, one fails, one is stopped
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    assert hasattr(BaseExecutionWorkerCommunication, "terminated"), "moto moved the end-of-execution callback"
    ends: list[tuple[str, str]] = []
    ended = threading.Event()

    def listener(arn: str, status: str) -> None:
        ends.append((arn, status))
        if len(ends) == 3:
            ended.set()

    asl = {
        "StartAt": "gate",
        "States": {
            "gate": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.go", "StringEquals": "fail", "Next": "boom"},
                    {"Variable": "$.go", "StringEquals": "wait", "Next": "nap"},
                ],
                "Default": "done",
            },
            "boom": {"Type": "Fail", "Error": "Boom", "Cause": "asked to"},
            "nap": {"Type": "Wait", "Seconds": 30, "Next": "done"},
            "done": {"Type": "Succeed"},
        },
    }
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        remove = moto_glue.on_execution_end(listener)
        try:
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            sm = sfn.create_state_machine(name="ends", definition=json.dumps(asl), roleArn=SFN_ROLE)
            # When they run to their ends
            passed = _run_to_end(sfn, sm["stateMachineArn"], "passes", {"go": "pass"})
            failed = _run_to_end(sfn, sm["stateMachineArn"], "fails", {"go": "fail"})
            waiting = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name="waits", input='{"go": "wait"}')
            for _ in range(200):
                history = sfn.get_execution_history(executionArn=waiting["executionArn"])["events"]
                if any(e["type"] == "WaitStateEntered" for e in history):
                    break
                threading.Event().wait(0.01)
            sfn.stop_execution(executionArn=waiting["executionArn"])
            assert ended.wait(10), ends
        finally:
            remove()
    # Then each end reached the listener once, with the status DescribeExecution shows
    assert sorted(ends) == sorted(
        [
            (passed["executionArn"], "SUCCEEDED"),
            (failed["executionArn"], "FAILED"),
            (waiting["executionArn"], "ABORTED"),
        ]
    )


def test_a_stop_sent_before_the_execution_has_started_aborts_it_without_running_a_state(
    monkeypatch: pytest.MonkeyPatch,
):
    # Given an execution whose worker is held just before it builds its environment (a busy machine)
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    calls: list[dict] = []
    held, release = threading.Event(), threading.Event()
    entrypoint = ExecutionWorker._get_evaluation_entrypoint

    def slow_entrypoint(self: Any) -> Any:
        held.set()
        release.wait(10)
        return entrypoint(self)

    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", slow_entrypoint)
    asl = {
        "StartAt": "probe",
        "States": {
            "probe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN, "Payload": {}},
                "End": True,
            }
        },
    }
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        moto_glue.register(ARN, lambda event: calls.append(event) or {})
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sm = sfn.create_state_machine(name="early-stop", definition=json.dumps(asl), roleArn=SFN_ROLE)
        started = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name="early", input="{}")
        assert held.wait(10)
        # When it is stopped before its worker has an environment
        stopped = sfn.stop_execution(executionArn=started["executionArn"], cause="cancelled at once")
        release.set()
        for _ in range(500):  # until the program has written its end (DescribeExecution says ABORTED at once)
            history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
            if len(history) > 1:
                break
            threading.Event().wait(0.01)
        described = sfn.describe_execution(executionArn=started["executionArn"])
    # Then the stop answered, the execution ended ABORTED with its abort event, and no state ran
    assert stopped["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert described["status"] == "ABORTED", described
    assert [e["type"] for e in history] == ["ExecutionStarted", "ExecutionAborted"]
    assert calls == []
    assert getattr(ExecutionWorker.stop, "_nexod_early_stop", False)


def test_the_local_orchestrator_hears_each_end_once_and_at_once():
    # Given the local orchestrator with an end hook, and a state machine whose executions end at once
    from nexod.adapters.stepfunctions_moto import MotoStepFunctionsOrchestrator

    heard: list[tuple[str, str, float]] = []
    all_heard = threading.Event()
    import time

    def on_end(arn: str, status: str) -> None:
        heard.append((arn, status, time.monotonic()))
        if len(heard) == 20:
            all_heard.set()

    # A poll far longer than the test: every end must come from moto's report, not from polling
    orchestrator = MotoStepFunctionsOrchestrator({}, SFN_ROLE, on_end=on_end, poll_seconds=600)
    try:
        sm = orchestrator.client.create_state_machine(
            name="quick",
            definition=json.dumps({"StartAt": "p", "States": {"p": {"Type": "Pass", "End": True}}}),
            roleArn=SFN_ROLE,
        )
        # When 20 executions start from 4 threads (some end before `start` has returned)
        began = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            arns = list(pool.map(lambda i: orchestrator.start(sm["stateMachineArn"], f"q{i}", {}), range(20)))
        # Then each end is heard exactly once, well before any poll
        assert all_heard.wait(10), heard
        time.sleep(0.2)
        assert sorted(a for a, _, _ in heard) == sorted(arns)
        assert {s for _, s, _ in heard} == {"SUCCEEDED"}
        assert max(t for _, _, t in heard) - began < 5
    finally:
        orchestrator.close()


def test_wait_timestamps_are_waited_for_in_utc_and_rounded_up(monkeypatch: pytest.MonkeyPatch):
    # Given the glue installed (the local stack installs it)
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp, TimestampPath

    moto_glue.install()
    # Then moto's Wait compares a Timestamp(Path) with the UTC clock, rounding up, whatever the machine's zone
    assert Timestamp._get_wait_seconds.__qualname__ == "nexod_wait_until_the_instant"
    assert TimestampPath._get_wait_seconds is Timestamp._get_wait_seconds

    # When a Wait until 00:00:10Z is evaluated at 00:00:00.5 UTC (moto's own code used the local clock and
    # truncated: 9 s, or hours off outside UTC)
    class Instant:
        literal_value = "$.until.until"

        def eval(self, env: Any) -> None:
            env.stack.append("2030-01-01T00:00:10Z")

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:  # type: ignore[override]
            return cls(2030, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)

    monkeypatch.setattr(moto_glue, "datetime", Clock)
    state = object.__new__(TimestampPath)
    state.string = Instant()
    # Then it waits the whole 9.5 s, rounded up
    assert state._get_wait_seconds(SimpleNamespace(stack=[])) == 10
